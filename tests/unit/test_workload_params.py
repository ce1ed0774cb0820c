"""Load parameters: the profile's ``workload:`` section (checked, one line per bad value), its
use as defaults by WorkloadSpec where a scenario sets nothing, value padding to a record size
that the checkers still read, and the history writer's fast serialisation of client ops."""
import json
import math

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from kfchaos import profiles
from kfchaos.clients.codec import decode_value, encode_value, padded_encoder
from kfchaos.history import History, line_of, load
from kfchaos.history_schema import check_op
from kfchaos.profiles import ProfileError
from kfchaos.scenarios.yaml_scenarios import ScenarioFileError, from_dict
from kfchaos.workload import LOAD_DEFAULTS, WorkloadSpec, rate_value

BASE = yaml.safe_load(open(profiles.find("kafka-3az")))


def with_workload(w):
    return profiles.from_dict({**BASE, "workload": w}, "p.yaml")


# ---- the profile's workload section ---------------------------------------------------------
def test_profile_workload_section_is_read():
    p = with_workload({"rate": "max", "record_bytes": 1024, "keys": 7, "producers": 3, "consumers": 0})
    assert p.workload == {"rate": "max", "record_bytes": 1024, "keys": 7, "producers": 3, "consumers": 0}
    assert profiles.load("kafka-3az").workload == {}


@pytest.mark.parametrize("w, words", [
    ({"rate": -1}, "`workload.rate` is -1"),
    ({"rate": "fast"}, "`workload.rate` must be a number or `max`"),
    ({"rate": True}, "`workload.rate` must be a number or `max`"),
    ({"rate": math.inf}, "`workload.rate` must be a finite number"),
    ({"record_bytes": 64}, "`workload.record_bytes` is 64; use 0"),
    ({"record_bytes": 2_000_000}, "`workload.record_bytes` is 2000000"),
    ({"record_bytes": "1k"}, "`workload.record_bytes` must be an integer"),
    ({"producers": 0}, "`workload.producers` is 0, must be at least 1"),
    ({"keys": 0}, "`workload.keys` is 0, must be at least 1"),
    ({"consumers": -2}, "`workload.consumers` is -2"),
    ({"final_read_page_records": 0}, "`workload.final_read_page_records` is 0, must be greater than 0"),
    ({"final_read_page_records": "1M"}, "`workload.final_read_page_records` must be an integer"),
    ({"duration": 3}, "unknown key `workload.duration`"),
])
def test_bad_workload_value_is_one_line(w, words):
    with pytest.raises(ProfileError) as e:
        with_workload(w)
    msg = str(e.value)
    assert words in msg and "\n" not in msg and msg.startswith("p.yaml: ") and "; " in msg


def test_rate_words():
    assert rate_value("max") == rate_value(" MAX ") == rate_value(0) == 0.0
    assert rate_value(250) == 250.0
    for bad in (-1, "x", None, True, math.nan):
        with pytest.raises(ValueError):
            rate_value(bad)


# ---- defaults: scenario, then profile, then built in -----------------------------------------
def test_spec_without_values_takes_the_profile_then_the_defaults():
    s = WorkloadSpec().resolved({"rate": "max", "record_bytes": 1024})
    assert (s.rate, s.record_bytes, s.keys, s.producers, s.consumers) == (0.0, 1024, 24, 2, 1)
    assert s.unthrottled
    d = WorkloadSpec().resolved(None)
    assert {k: getattr(d, k) for k in LOAD_DEFAULTS} == {"rate": 200.0, "producers": 2, "keys": 24,
                                                          "consumers": 1, "record_bytes": 0,
                                                          "final_read_page_records": 100_000}
    assert not d.unthrottled
    assert WorkloadSpec().resolved({"final_read_page_records": 500}).final_read_page_records == 500
    assert WorkloadSpec(final_read_page_records=7).resolved({"final_read_page_records": 500}) \
        .final_read_page_records == 7


def test_a_scenarios_own_values_win():
    s = WorkloadSpec(rate=100, producers=1, consumers=0).resolved(
        {"rate": "max", "producers": 4, "consumers": 3, "keys": 5, "record_bytes": 512})
    assert (s.rate, s.producers, s.consumers, s.keys, s.record_bytes) == (100.0, 1, 0, 5, 512)
    assert WorkloadSpec(rate="max").resolved({"rate": 50}).unthrottled


def test_shipped_scenarios_keep_what_they_set(monkeypatch):
    """The scenarios' WorkloadSpec(...) values win over a profile asking for other ones."""
    from kfchaos import scenarios as registry
    from kfchaos import workload as wl
    seen = []
    monkeypatch.setattr(wl.Workload, "run", lambda self, *a, **k: seen.append(self.spec) or {"errors": []})
    profile = with_workload({"rate": 999, "producers": 5, "consumers": 4, "keys": 3, "record_bytes": 256})

    class Run:                       # just enough of a ScenarioRun for smoke's steps
        platform = type("P", (), {"bootstrap_servers": "b", "proxied_bootstrap_servers": "p"})()
        history, group, encoders = None, "g", {}

        def topic(self, suffix="in"):
            return "topic-in"

        def workload(self, topic, spec=None, faults=(), during=None):
            return wl.Workload(self.platform, profile, self.history, topic, spec or WorkloadSpec(),
                               group=self.group).run()
    registry.get("smoke").steps(Run())
    (spec,) = seen
    assert (spec.rate, spec.producers, spec.consumers) == (100.0, 1, 1)      # smoke's own
    assert (spec.keys, spec.record_bytes) == (3, 256)                          # the profile's


def test_yaml_scenario_takes_rate_max_and_record_bytes():
    doc = {"name": "fast", "doc": "A fast one.", "contracts": ["durability"],
           "workload": {"rate": "max", "record_bytes": 1024}}
    s = from_dict(doc, "fast.yaml")
    assert s is not None
    paged = from_dict({**doc, "workload": {"final_read_page_records": 500}}, "fast.yaml")
    assert paged is not None
    for bad, words in (({"rate": "quick"}, "`workload.rate` must be a number or `max`"),
                       ({"rate": -3}, "`workload.rate` is -3"),
                       ({"record_bytes": 10}, "`workload.record_bytes` is 10"),
                       ({"final_read_page_records": 0}, "`workload.final_read_page_records` is 0")):
        with pytest.raises(ScenarioFileError) as e:
            from_dict({**doc, "workload": bad}, "fast.yaml")
        assert words in str(e.value) and "\n" not in str(e.value)


# ---- padding -------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [128, 129, 1024, 4096, 100_000])
def test_padded_value_has_the_requested_size_and_the_harness_fields(size):
    enc = padded_encoder(size)
    raw = enc("producer-0-17", "k3", 5, "producer-0")
    assert len(raw) == size
    parsed = json.loads(raw)
    assert set(parsed) == {"id", "key", "seq", "producer", "pad"} and set(parsed["pad"]) <= {"x"}
    assert decode_value(raw) == {"id": "producer-0-17", "key": "k3", "seq": 5, "producer": "producer-0",
                                 "size": size}
    assert decode_value(raw.decode()) == decode_value(raw)


def test_no_padding_by_default_and_when_the_value_is_already_long():
    assert padded_encoder(0) is encode_value and padded_encoder(None) is encode_value
    raw = encode_value("p-1", "k1", 1, "p")
    assert decode_value(raw) == {"id": "p-1", "key": "k1", "seq": 1, "producer": "p"}
    long_id = "p" * 200
    assert padded_encoder(128)(long_id, "k", 0, "p") == encode_value(long_id, "k", 0, "p")


def test_something_that_only_looks_padded_is_decoded_as_it_is():
    odd = b'{"id":"a","pad":"xyz"}'
    assert decode_value(odd) == {"id": "a", "size": len(odd)}      # a pad string is never recorded
    assert decode_value(b'{"id":"a","pad":7}') == {"id": "a", "pad": 7}
    assert decode_value(b'{"id":"a","pad":"xx"') == '{"id":"a","pad":"xx"'


@settings(max_examples=150, deadline=None)
@given(rid=st.text(max_size=40), key=st.text(max_size=20), seq=st.integers(0, 2**40),
       size=st.integers(128, 3000))
def test_padding_round_trips_for_any_id_and_key(rid, key, seq, size):
    raw = padded_encoder(size)(rid, key, seq, "producer-1")
    natural = encode_value(rid, key, seq, "producer-1")
    assert raw == natural or len(raw) == size
    assert json.loads(natural) == {"id": rid, "key": key, "seq": seq, "producer": "producer-1"}
    got = decode_value(raw)
    want = {"id": rid, "key": key, "seq": seq, "producer": "producer-1"}
    assert got == (want if raw == natural else {**want, "size": size})


def test_checkers_read_padded_records():
    """A poll of padded values is a well-formed op, and the record values keep id/key/seq."""
    enc = padded_encoder(1024)
    recs = [{"partition": 0, "offset": i, "key": "k1", "value": decode_value(enc(f"p-{i}", "k1", i, "p"))}
            for i in range(3)]
    op = {"index": 0, "process": "c", "type": "ok", "f": "poll", "time": 1, "wall": 1.0,
          "value": {"topic": "t", "group": "g", "records": recs}}
    assert check_op(op) is None
    assert [r["value"]["seq"] for r in recs] == [0, 1, 2] and recs[0]["value"]["size"] == 1024


# ---- history lines ---------------------------------------------------------------------------
def test_client_op_lines_are_the_standard_librarys_text():
    op = {"index": 7, "process": "producer-0", "type": "ok", "f": "send", "time": 123456789,
          "wall": 1795874727.8168175, "value": {"topic": "t", "key": "k1", "id": "producer-0-3", "seq": 1,
                                                 "partition": 2, "offset": 41}}
    assert line_of(op) == json.dumps(op, separators=(",", ":"))
    for value in ({"x": math.nan}, {"x": None}, {"k": "é"}, {"n": 2**70}, {1: 2}, {"b": b"\xff"}, {"s": {3}}):
        o = {**op, "value": value}
        assert line_of(o) == json.dumps(o, separators=(",", ":"), default=lambda v: (
            bytes(v).decode("utf-8", "replace") if isinstance(v, bytes) else list(v)))


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                       lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c, max_size=4),
                       max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(value=JSONISH, f=st.sampled_from(["send", "poll", "commit", "note"]))
def test_any_line_reads_back_as_the_standard_librarys(value, f):
    op = {"index": 0, "process": "p", "type": "ok", "f": f, "value": value, "time": 1, "wall": 2.5}
    std = json.dumps(op, separators=(",", ":"))
    assert json.loads(line_of(op)) == json.loads(std) or repr(json.loads(line_of(op))) == repr(json.loads(std))


def test_written_client_ops_load_back(tmp_path):
    path = tmp_path / "history.jsonl"
    with History(path) as h:
        h.invoke("producer-0", "send", {"topic": "t", "key": "k", "id": "producer-0-0", "seq": 0})
        h.add("producer-0", "ok", "send", {"topic": "t", "key": "k", "id": "producer-0-0", "seq": 0,
                                          "partition": 0, "offset": 0})
        h.add("consumer-0", "ok", "poll", {"topic": "t", "group": None, "records": []})
    ops = load(path)
    assert [(o["type"], o["f"]) for o in ops] == [("invoke", "send"), ("ok", "send"), ("ok", "poll")]
    assert [o["index"] for o in ops] == [0, 1, 2] and ops[2]["value"]["group"] is None


def test_add_goes_through_a_subclass_append():
    seen = []

    class Watching(History):
        def append(self, op):
            seen.append(op["f"])
            return super().append(op)
    h = Watching()
    h.add("producer-0", "invoke", "send", {"id": "p-0", "seq": 0})
    assert seen == ["send"] and h.ops[0]["value"] == {"id": "p-0", "seq": 0}
