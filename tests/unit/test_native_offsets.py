"""The compiled core's `offsets` checker gives the Python checker's verdict (validity,
reason, stats, anomalies) on hand-written histories: holes in plain and transactional
topics (declared or not), offsets outside [start, end), records past the listed end
(written before or after the listing, without a listing time, of no harness write),
several final reads of a topic, paged reads, reused offsets, odd offsets objects.  It
decides the clean cases itself and hands the anomalous ones to the Python path."""
import copy

import pytest

from kfchaos.checkers import check_all, check_path, native
from kfchaos.checkers.index import HistoryIndex
from kfchaos.checkers.synth import Builder
from kfchaos.history_codec import line_of
from kfchaos.history_pages import paginate

NAMES = (["offsets"], ["lost", "duplicate", "offsets"], ["offsets", "lost"])


@pytest.fixture(autouse=True)
def _native_on(monkeypatch):
    monkeypatch.delenv("KFCHAOS_NATIVE", raising=False)
    assert native.available(), "kfchaos/_native.abi3.so is missing: run scripts/build_native.sh"


def _write(tmp_path, ops, name="h.jsonl", edit=None):
    text = "".join(line_of(op) + "\n" for op in ops)
    path = tmp_path / name
    path.write_text(edit(text) if edit else text, encoding="utf-8")
    return path


def verdicts(path, opts=None, names=("offsets",), checker="offsets"):
    """(the core's verdict of ``checker`` or None when it hands over, the Python one), as
    dicts; check_path gives the Python ones either way."""
    opts = opts or {}
    want = {n: v.to_dict() for n, v in
            check_all(HistoryIndex.from_path(path), checkers=list(names), **opts).items()}
    got = native.check_path(path, list(names), opts)
    assert {n: v.to_dict() for n, v in check_path(path, checkers=list(names), **opts).items()} == want
    if got is not None:
        assert {n: v.to_dict() for n, v in got.items()} == want
        got = got[checker].to_dict()
    return got, want[checker]


def _sends(b, n, topic="t", p=0, unacked=(), first=0):
    for k in range(first, first + n):
        b.send(f"{topic}-{k}", seq=k, p=p, o=k, topic=topic,
               type_="info" if k in unacked else "ok")
    return [(p, k, f"{topic}-{k}") for k in range(first, first + n) if k not in unacked]


def test_a_hole_in_a_plain_topic_is_python_s_and_transactional_gaps_are_counted(tmp_path):
    b = Builder()
    recs = _sends(b, 6, unacked=(2, 3))
    b.final(recs, end={0: 6})
    path = _write(tmp_path, b.ops)
    got, want = verdicts(path)
    assert got is None and want["valid"] == "invalid" and want["stats"]["offset-gap"] == 1
    got, want = verdicts(path, {"transactional_topics": ["t"]})
    assert got == want and want["valid"] == "valid"
    assert (want["stats"]["transactional-gaps"], want["stats"]["transactional-missing"]) == (1, 2)


def test_holes_of_a_topic_no_send_writes(tmp_path):
    """Undeclared: a topic without harness sends is transactional; leading, inner and
    trailing holes are counted."""
    b = Builder()
    recs = _sends(b, 3)
    b.final(recs)
    b.final([(0, 2, "x"), (0, 3, "y"), (0, 6, "z"), (1, 0, "w")], topic="out",
            start={0: 0, 1: 0, 2: 5}, end={0: 9, 1: 1, 2: 5})
    path = _write(tmp_path, b.ops)
    for names in NAMES:
        got, want = verdicts(path, names=names)
        assert got == want
    st = want["stats"]
    assert (st["transactional-gaps"], st["transactional-missing"], st["partitions"]) == (3, 6, 4)
    got, want = verdicts(path, {"transactional_topics": []})
    assert got is None and want["stats"]["offset-gap"] == 3


def test_offsets_outside_start_and_end(tmp_path):
    b = Builder()
    recs = _sends(b, 8)
    b.final(recs, start={0: 2}, end={0: 6})
    path = _write(tmp_path, b.ops)
    got, want = verdicts(path)
    assert got == want and want["stats"]["out-of-range"] == 4


def test_several_final_reads_of_a_topic_and_no_final_read(tmp_path):
    b = Builder()
    recs = _sends(b, 5)
    b.final(recs[:3], isolation="read_uncommitted", end={0: 3})
    b.final(recs)
    path = _write(tmp_path, b.ops)
    got, want = verdicts(path)
    assert got == want and (want["stats"]["final-reads"], want["stats"]["records"]) == (2, 8)
    b = Builder()
    _sends(b, 3)
    got, want = verdicts(_write(tmp_path, b.ops, "none.jsonl"))
    assert got == want and want["valid"] == "unknown" and want["reason"] == "no final read in history"


@pytest.mark.parametrize("case", ["acked-before", "acked-after", "unacked", "no-listed-at",
                                  "not-a-write", "raw-value"])
def test_records_past_the_listed_end(case, tmp_path):
    """Acknowledged before the listing: end-offset-understated (Python's); acknowledged
    after it: the core cannot tell (no ack times), Python decides; the others are
    past-end-later, decided by the core."""
    b = Builder()
    recs = _sends(b, 4)
    listed = b.now
    rid = {"not-a-write": "nobody", "raw-value": None}.get(case, "t-4")
    if case in ("acked-before", "acked-after", "unacked", "no-listed-at"):
        if case == "acked-after":
            b.send("t-4", seq=4, o=4, type_=None)
            listed = b.now
            b.op("producer-0", "ok", "send", {"topic": "t", "key": "k", "id": "t-4", "seq": 4,
                                              "partition": 0, "offset": 4})
        else:
            b.send("t-4", seq=4, o=4, type_="info" if case == "unacked" else "ok")
            listed = b.now
    b.final(recs, end={0: 4}, past_end=[(0, 4, rid)], listed_at=listed)
    if case == "raw-value":
        b.ops[-1]["value"]["past_end"][0]["value"] = "raw"
    if case == "no-listed-at":
        del b.ops[-1]["value"]["listed_at"]
    got, want = verdicts(_write(tmp_path, b.ops))
    if case == "acked-before":
        assert got is None and want["stats"]["end-offset-understated"] == 1
    elif case == "acked-after":
        assert got is None and want["valid"] == "valid" and want["stats"]["past-end-later"] == 1
    else:
        assert got == want and want["stats"]["past-end-later"] == 1


def test_a_reused_offset_is_python_s(tmp_path):
    b = Builder()
    recs = _sends(b, 3)
    b.poll([(0, 0, "t-0"), (0, 1, "t-1")])
    b.poll([(0, 1, "t-9")])
    b.final(recs)
    got, want = verdicts(_write(tmp_path, b.ops))
    assert got is None and want["stats"]["offset-reused"] == 1


def test_paged_reads_give_the_unpaged_verdict(tmp_path):
    b = Builder()
    recs = _sends(b, 40, unacked=(7, 8, 30))
    b.final(recs, start={0: 1}, end={0: 45})
    b.final(recs[::2], isolation="read_uncommitted", end={0: 40})
    plain = _write(tmp_path, b.ops)
    for size in (1, 3, 16):
        paged = _write(tmp_path, paginate(copy.deepcopy(b.ops), size), f"p{size}.jsonl")
        for opts in ({}, {"transactional_topics": ["t"]}):
            got, want = verdicts(paged, opts)
            ref, unpaged = verdicts(plain, opts)
            assert (got is None) == (ref is None)
            assert want["stats"] == unpaged["stats"] and want["valid"] == unpaged["valid"]
    # the first read: [7, 8], [30] and [40, 45); the second, every other record: 18
    assert got is not None and want["stats"]["transactional-gaps"] == 3 + 18


def test_odd_offsets_objects_are_read_as_python_reads_them(tmp_path):
    """Keys naming one partition twice ("0" and "00", the last not null wins), a null, a
    negative start, an end below the start; a key repeated verbatim is Python's."""
    b = Builder()
    recs = _sends(b, 6)
    b.final(recs)
    v = b.ops[-1]["value"]
    v["start_offsets"] = {"0": 3, "00": 1, "000": None, "1": -2}
    v["end_offsets"] = {"0": 5, "1": -4, "2": None}
    path = _write(tmp_path, b.ops)
    got, want = verdicts(path, {"transactional_topics": ["t"]})
    assert got == want and want["stats"]["out-of-range"] == 2
    path = _write(tmp_path, b.ops, "rep.jsonl",
                  edit=lambda s: s.replace('"end_offsets":{"0":5,', '"end_offsets":{"0":9,"0":5,'))
    assert '"0":9,"0":5' in path.read_text()
    got, want = verdicts(path, {"transactional_topics": ["t"]})
    assert got is None and want["stats"]["out-of-range"] == 2
