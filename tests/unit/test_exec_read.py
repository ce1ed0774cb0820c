"""The proven read of an exec's output: a lost output (exit 0, nothing printed, as Docker's
exec sometimes returns) is never taken for an empty one; the command runs again."""
import subprocess

import pytest

from kfchaos.platform import exec_read


def local_exec(cmd, user="", check=False):
    """Runs the command on this machine, as a container's exec would inside it."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    return proc.returncode, proc.stdout + proc.stderr


class Lossy:
    """An exec that loses the whole output of its first ``lost`` runs (exit 0, nothing)."""

    def __init__(self, lost: int):
        self.lost, self.calls = lost, 0

    def __call__(self, cmd, user="", check=False):
        self.calls += 1
        code, out = local_exec(cmd)
        return (0, "") if self.calls <= self.lost else (code, out)


def test_output_exit_code_and_an_empty_output_come_back_as_the_command_gave_them():
    assert exec_read.read(local_exec, ["printf", "qdisc tbf 1: root rate 40Mbit\n"]) == \
        (0, "qdisc tbf 1: root rate 40Mbit\n")
    assert exec_read.read(local_exec, ["printf", "no newline"]) == (0, "no newline")
    assert exec_read.read(local_exec, ["true"]) == (0, "")
    code, out = exec_read.read(local_exec, ["sh", "-c", "echo partial; exit 3"])
    assert (code, out) == (3, "partial\n")


def test_a_lost_output_runs_again_and_is_never_read_as_empty():
    lossy = Lossy(lost=2)
    assert exec_read.read(lossy, ["echo", "rule"]) == (0, "rule\n")
    assert lossy.calls == 3
    always = Lossy(lost=99)
    with pytest.raises(exec_read.OutputLost, match="echo rule.*lost 4 times"):
        exec_read.read(always, ["echo", "rule"])
    assert always.calls == exec_read.ATTEMPTS


def test_unwrap_refuses_text_without_a_whole_end_line():
    assert exec_read.unwrap("") is None
    assert exec_read.unwrap("qdisc noqueue 0: root\n") is None
    assert exec_read.unwrap(f"x\n{exec_read.END} ") is None
    assert exec_read.unwrap(f"x\n{exec_read.END} 0\n") == (0, "x")
    assert exec_read.unwrap(f"{exec_read.END} 0\n") is None   # the end line always follows a newline
