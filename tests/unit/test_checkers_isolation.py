"""check_all isolates checkers: one that raises gets an unknown verdict, the others still run."""
import pytest

from kfchaos import checkers
from kfchaos.checkers import UNKNOWN, VALID, check_all
from kfchaos.checkers.synth import Builder


def crafted():
    """A valid history with one poll of partition 7 (the crashing checker trips on it)."""
    b = Builder()
    b.send("a", o=0).send("b", seq=1, o=1).assign([0, 7]).poll([(0, 0, "a"), (0, 1, "b")])
    b.poll([(7, 0, {"id": "z", "key": "k", "seq": 0, "producer": "x"})])
    b.final([(0, 0, "a"), (0, 1, "b"), (7, 0, "z")])
    return b.ops


def test_crashing_checker_gets_unknown_and_others_run(monkeypatch):
    real = checkers.CHECKERS["ordering"]

    def fragile(idx, **opts):
        if 7 in idx.polls("t").ps:
            raise KeyError("partition 7 was not expected")
        return real(idx, **opts)

    monkeypatch.setitem(checkers.CHECKERS, "ordering", fragile)
    v = check_all(crafted())
    assert v["ordering"].valid == UNKNOWN
    assert v["ordering"].reason == "checker crashed: KeyError: 'partition 7 was not expected'"
    tb = v["ordering"].stats["traceback"]
    assert "Traceback" in tb and "fragile" in tb and "KeyError" in tb
    assert list(v) == [n for n in checkers.CHECKERS if n not in checkers.OPTIONAL
                       and n != "exactly-once"]
    assert all(x.valid == VALID for k, x in v.items() if k != "ordering"), \
        {k: (x.valid, x.reason) for k, x in v.items()}
    v["ordering"].to_dict()          # still serialisable


def test_every_checker_crashing_still_returns_verdicts(monkeypatch):
    for name in list(checkers.CHECKERS):
        monkeypatch.setitem(checkers.CHECKERS, name,
                            lambda idx, **o: (_ for _ in ()).throw(RuntimeError("boom\nline 2")))
    v = check_all(crafted(), checkers=["lost", "duplicate"])
    assert {k: (x.valid, x.reason) for k, x in v.items()} == {
        "lost": (UNKNOWN, "checker crashed: RuntimeError: boom line 2"),
        "duplicate": (UNKNOWN, "checker crashed: RuntimeError: boom line 2")}


def test_topic_discovery_crash_runs_exactly_once_which_reports_it(monkeypatch):
    def broken(idx):
        raise TypeError("bad deploy")

    monkeypatch.setattr(checkers.exactly_once, "discover_topics", broken)
    v = check_all(crafted())
    assert v["exactly-once"].valid == UNKNOWN
    assert v["exactly-once"].reason == "checker crashed: TypeError: bad deploy"
    assert v["lost"].valid == VALID


def test_interrupts_are_not_swallowed(monkeypatch):
    def interrupted(idx, **opts):
        raise KeyboardInterrupt

    monkeypatch.setitem(checkers.CHECKERS, "lost", interrupted)
    with pytest.raises(KeyboardInterrupt):
        check_all(crafted())
