"""The bound on the brokers' links for backfill-isolation: tc rates, the qdisc read back as
proof, the profile's ``replay:`` section and its checks (pure logic, synthetic input)."""
from __future__ import annotations

import pytest
import yaml

from kfchaos import profiles
from kfchaos.faults import registry
from kfchaos.faults.base import FaultSpec
from kfchaos.faults.egress import burst_bytes, check_params, parse_rate, shown_rate
from kfchaos.profiles.schema import ProfileError
from kfchaos.scenarios.replay_load import ReplayLoad, replay_load, section_problem

# `tc qdisc show dev eth0` as iproute2 prints it, with and without the bound
SHOWN_TBF = "qdisc tbf 8001: root refcnt 2 rate 40Mbit burst 50000b lat 400ms"
SHOWN_CLEAN = "qdisc noqueue 0: root refcnt 2"


@pytest.mark.parametrize("text, bits", [
    ("40mbit", 40e6), ("40Mbit", 40e6), ("1.5gbit", 1.5e9), ("800kbit", 8e5), ("5mbps", 40e6),
    ("9600", 9600), (" 40 mbit ", 40e6), ("2Kbps", 16e3),
])
def test_parse_rate_reads_tc_units(text, bits):
    assert parse_rate(text) == pytest.approx(bits)


@pytest.mark.parametrize("text", ["fast", "40 megabit", "0mbit", "-5mbit", "", "mbit", "40mb"])
def test_parse_rate_refuses_what_tc_would_not_take(text):
    with pytest.raises(ValueError, match="not a tc rate; write a positive number with a unit"):
        parse_rate(text)


def test_shown_rate_is_the_proof_that_the_bound_is_in_place_and_gone():
    assert shown_rate(SHOWN_TBF) == 40e6
    assert shown_rate(SHOWN_CLEAN) is None
    assert shown_rate("qdisc tbf 1: parent 1:1 rate 40Mbit burst 50000b lat 400ms") is None   # not the root


def test_burst_is_ten_ms_of_traffic_and_never_below_a_few_frames():
    assert burst_bytes(40e6) == 50_000
    assert burst_bytes(1e6) == 16384


def test_params_check_names_the_key_and_the_fix():
    assert check_params({}, None) is None
    assert check_params({"rate": "40mbit", "queue_ms": 200}, None) is None
    assert "params.rate" in check_params({"rate": "lots"}, None)
    assert "params.queue_ms" in check_params({"queue_ms": 0}, None)
    pkg = registry.package("broker-bandwidth")
    assert pkg.accepts("all") and pkg.accepts("broker:b", ("a", "b", "c")) and not pkg.accepts("zone:a")
    assert pkg.problem(FaultSpec("broker-bandwidth", "all", params={"rate": "x"})).startswith("params.rate")


def test_replay_settings_default_to_a_link_bound_replay():
    load = replay_load({})
    assert load == ReplayLoad("40mbit", 96, 4000, 15)
    assert load.preload_records == 24_000 and load.link_bytes_per_s == 5e6
    assert replay_load({"replay": {"link_rate": "none"}}).link_rate is None
    assert replay_load({"replay": {"link_rate": "80mbit", "preload_mb": 8, "record_bytes": 1000}}) \
        == ReplayLoad("80mbit", 8, 1000, 15)


@pytest.mark.parametrize("section, fragment", [
    ([], "`replay` must be a mapping"),
    ({"link_rate": "fast"}, "`replay.link_rate`"),
    ({"preload_mb": 0}, "`replay.preload_mb` must be a whole number >= 1"),
    ({"record_bytes": 10}, "`replay.record_bytes` must be a whole number >= 64"),
    ({"record_bytes": True}, "`replay.record_bytes`"),
])
def test_section_problems(section, fragment):
    assert fragment in section_problem(section)


def test_a_profile_with_a_bad_replay_section_is_one_error_line():
    data = yaml.safe_load(profiles.find("kafka-3az").read_text())
    data["replay"] = {"link_rate": "40 megabits"}
    with pytest.raises(ProfileError, match=r"`replay.link_rate` '40 megabits' is not a tc rate") as err:
        profiles.from_dict(data)
    assert "\n" not in str(err.value)
    data["replay"] = {"link_rate": "none", "preload_mb": 4}
    assert profiles.from_dict(data).raw["replay"]["preload_mb"] == 4


def test_the_bound_holds_a_quota_burst_in_its_bucket():
    load = replay_load({})
    # a 1 MiB/s quota lets 10 windows through at once: the bucket holds that burst
    assert load.link_burst_mb * 1_000_000 > 10 * 1048576
    assert check_params({"rate": "40mbit", "burst_bytes": 15_000_000}, None) is None
    assert "params.burst_bytes" in check_params({"burst_bytes": -1}, None)
    assert section_problem({"link_burst_mb": 0}) is None          # 0: a plain link (10 ms bucket)
    assert "`replay.link_burst_mb`" in section_problem({"link_burst_mb": -2})
