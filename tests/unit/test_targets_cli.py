"""The target commands as the lead wires them: ``add_arguments`` sets each command's function,
and bad input is one line with exit code 2 (nothing is started)."""
from __future__ import annotations

import argparse

import pytest

from kfchaos.targets import cli


@pytest.fixture
def parser():
    ap = argparse.ArgumentParser(prog="chaos")
    cli.add_arguments(ap.add_subparsers(dest="cmd", required=True))
    return ap


@pytest.mark.parametrize("argv,fn", [
    (["platform", "up", "--profile", "kafka-3az", "--startup-timeout", "300"], cli.cmd_platform_up),
    (["platform", "down", "platforms/x"], cli.cmd_platform_down),
    (["target", "check", "t.yaml"], cli.cmd_target_check),
    (["target", "plan", "t.yaml", "--scenario", "kill-leader"], cli.cmd_target_plan),
    (["target", "clean", "t.yaml", "--run", "r1"], cli.cmd_target_clean),
])
def test_commands_are_wired(parser, argv, fn):
    assert parser.parse_args(argv).fn is fn


@pytest.mark.parametrize("argv", [["target", "plan", "absent.yaml"], ["target", "clean", "absent.yaml"],
                                  ["target", "check", "absent.yaml"], ["platform", "down", "no-such-dir"]])
def test_bad_input_is_one_line(parser, argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = parser.parse_args(argv)
    assert args.fn(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
