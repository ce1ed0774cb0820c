"""The compiled core: checkers over one streaming pass of a history file, in Rust.

Contract
--------
:func:`check_path` gives exactly the verdicts ``check_all(HistoryIndex.from_path(path),
checkers=names, **opts)`` gives, or None when it does not decide them; the caller then
runs that Python path.  It decides only when

* the extension module ``kfchaos._native`` (the crate under ``native/``, built by
  ``scripts/setup.sh``) is importable and ``KFCHAOS_NATIVE`` is not ``0``;
* every checker asked for is ported (:data:`NATIVE`: ``lost``, ``duplicate``,
  ``offsets``, ``ordering``, ``group``, ``windows``, ``recovery``);
* the scan digests the whole history (``kfchaos._native.scan``: any op it does not
  model exactly -- a ``txn``, a send id invoked twice, a position beyond the 40-bit
  packing, a damaged frame, anything not JSON, a value out of schema -- hands the file
  to the Python path, which accepts it or raises the exact :class:`HistoryError`);
* the ops the scan does not digest (faults, client events, notes, ...) pass the schema
  here (:func:`kfchaos.history.check_batch`); an error there also goes to the Python path;
* no checker asked for found an anomaly that needs examples (lost, unseen,
  duplicate, inconsistent-offset, offset-gap, offset-reused, end-offset-understated,
  reordered, nonmonotonic, skip):
  those verdicts list examples the Python checkers build from the full index, so such
  a history is checked in Python; so is one the core cannot tell clean (``offsets``: a
  record past a read's listed end whose write was acknowledged, when the read says
  when it listed -- the ack's time is not kept --, or any offset seen with two
  records or record at two offsets, which may be a reused offset; ``ordering``: acks
  of a producer and key out of seq order, which Python sorts; ``group``: a skipped
  range, an excess re-delivery, a commit beyond the log end -- anomalies -- and a skip
  on a plain topic without a final read);
* ``windows`` and ``recovery`` run unchanged on a light index of the small ops with the
  scan's series (:mod:`.native_series`), when op times never decrease, the last op's
  ``wall`` reads the same with either JSON parser, and the verdict did not ask for a wall
  clock the light index only approximates (``latency-budget-exceeded`` examples, a
  ``slow-recovery`` of a fault whose stop has no ``wall``).

:func:`check_with_index` also returns that light index (the scenario facts and the
ramp and elasticity figures from ``series_of`` it). :func:`prepare` scans once and builds
the light index first, so a caller that learns from the history which checkers and
options apply (``kfchaos analyze``) decides on the same scan (:func:`decide_prepared`).

So the results never depend on which path ran; the Python checkers stay the reference.
Verdict stats are built here from the scan's per-topic counts, in the Python
checkers' key order.
"""
from __future__ import annotations

import logging
import os
from typing import Iterable

from kfchaos import history_chunks, history_rotation
from kfchaos.history import CLIENT_EVENT_F, HistoryError, check_batch, log_unknown
from kfchaos.history_codec import parse_lines

from . import duplicate, group, lost, offsets, ordering, recovery, windows
from .native_series import LightIndex, light_index
from .verdict import Verdict

__all__ = ["NATIVE", "available", "eligible", "check_path", "check_with_index", "scan", "decide",
           "Prepared", "prepare", "decide_prepared"]

log = logging.getLogger("chaos.history")

#: checkers with a native port
NATIVE = frozenset({lost.NAME, duplicate.NAME, offsets.NAME, ordering.NAME, group.NAME,
                    windows.NAME, recovery.NAME})
#: checkers run in Python on the light index (:mod:`.native_series`)
ON_LIGHT_INDEX = {windows.NAME: windows.check, recovery.NAME: recovery.check}

try:
    from kfchaos import _native
except ImportError:        # not built: the Python path runs
    _native = None


def available() -> bool:
    """The module is built and not switched off (``KFCHAOS_NATIVE=0``)."""
    return _native is not None and os.environ.get("KFCHAOS_NATIVE", "1").strip() != "0"


def eligible(names: Iterable[str]) -> bool:
    names = list(names)
    return available() and bool(names) and set(names) <= NATIVE


def _files(path: str | os.PathLike) -> tuple[list[str], bool] | None:
    if history_rotation.is_chunk_dir(path):
        files = [os.fspath(p) for p in history_rotation.chunk_files(path)]
        return (files, True) if files else None
    p = os.fspath(path)
    return [p], history_chunks.is_chunk_file(p)


def scan(path: str | os.PathLike) -> dict | str:
    """The native scan of the history at ``path``: its per-topic counts, or why it
    does not decide the history."""
    where = _files(path)
    if where is None:
        return "an empty rotated history"
    return _native.scan(*where)


def check_path(path: str | os.PathLike, names: Iterable[str], opts: dict) -> dict[str, Verdict] | None:
    """The verdicts of ``names`` over the history at ``path``, or None (see the contract)."""
    names = list(names)
    if not eligible(names):
        return None
    return decide(path, scan(path), names, opts)


def check_with_index(path: str | os.PathLike, names: Iterable[str],
                     opts: dict) -> tuple[dict[str, Verdict], LightIndex] | None:
    """The verdicts of ``names`` over the history at ``path`` and the light index of its
    small ops (:mod:`.native_series`), or None (see the contract)."""
    names = list(names)
    if not available() or not set(names) <= NATIVE:
        return None
    return _decide(path, scan(path), names, opts, True)


class Prepared:
    """A history scanned once: the scan, its small ops and their light index, so the
    caller can read the scenario's facts (which checkers, which options) before deciding."""

    def __init__(self, path: str | os.PathLike, r: dict, small: list[dict], idx: LightIndex):
        self.path, self.r, self.small, self.index = path, r, small, idx


def prepare(path: str | os.PathLike) -> Prepared | None:
    """The scan of ``path`` with its light index, or None (the Python path then runs)."""
    if not available():
        return None
    r = scan(path)
    if isinstance(r, str):
        log.debug("%s: checked in Python: %s", os.fspath(path), r)
        return None
    small = _small_ops(path, r["small"])
    idx = None if small is None else light_index(r, small)
    return None if idx is None else Prepared(path, r, small, idx)


def decide_prepared(p: Prepared, names: Iterable[str], opts: dict) -> dict[str, Verdict] | None:
    """The verdicts of ``names`` on a prepared history, or None (see the contract)."""
    names = list(names)
    if not names or not set(names) <= NATIVE:
        return None
    if (lost.NAME in names and not p.r["lost_exact"]) or \
            (duplicate.NAME in names and not p.r["dup_exact"]):
        log.debug("%s: checked in Python: anomalies with examples", os.fspath(p.path))
        return None
    return _verdicts(p.path, p.r, p.small, p.index, names, opts)


def decide(path: str | os.PathLike, r: dict | str, names: list[str], opts: dict) -> dict[str, Verdict] | None:
    """The verdicts of ``names`` from the scan ``r`` of ``path``, or None."""
    out = _decide(path, r, names, opts, False)
    return None if out is None else out[0]


def _decide(path: str | os.PathLike, r: dict | str, names: list[str], opts: dict,
            want_index: bool) -> tuple[dict[str, Verdict], LightIndex | None] | None:
    if isinstance(r, str):
        log.debug("%s: checked in Python: %s", os.fspath(path), r)
        return None
    if (lost.NAME in names and not r["lost_exact"]) or \
            (duplicate.NAME in names and not r["dup_exact"]):
        log.debug("%s: checked in Python: anomalies with examples", os.fspath(path))
        return None
    small = _small_ops(path, r["small"])
    if small is None:
        return None
    idx = None
    if want_index or not set(names).isdisjoint(ON_LIGHT_INDEX):
        idx = light_index(r, small)
        if idx is None:
            log.debug("%s: checked in Python: op times decrease, or the last wall is ambiguous",
                      os.fspath(path))
            return None
    out = _verdicts(path, r, small, idx, names, opts)
    return None if out is None else (out, idx)


def _verdicts(path: str | os.PathLike, r: dict, small: list[dict], idx: LightIndex | None,
              names: list[str], opts: dict) -> dict[str, Verdict] | None:
    build = {lost.NAME: _lost, duplicate.NAME: _duplicate, offsets.NAME: _offsets,
             ordering.NAME: _ordering, group.NAME: _group}
    out = {}
    for n in names:
        v = _on_light_index(n, idx, opts) if n in ON_LIGHT_INDEX else build[n](r, small, opts)
        if v is None:
            log.debug("%s: checked in Python: %s needs the index", os.fspath(path), n)
            return None
        out[n] = v
    return out


def _on_light_index(name: str, idx: LightIndex, opts: dict) -> Verdict | None:
    """The unchanged Python checker ``name`` on the light index, or None when it read a
    wall clock (only approximate there)."""
    idx.walls_read = False
    v = ON_LIGHT_INDEX[name](idx, **opts)
    return None if idx.walls_read else v


def _small_ops(path: str | os.PathLike, lines: list[tuple[int, bytes]]) -> list[dict] | None:
    """The ops the scan did not digest, parsed and checked as the Python reader does
    (None: some line is not accepted; the Python path names it)."""
    texts = [b.decode("utf-8", "surrogateescape") for _, b in lines]
    ops = parse_lines(texts) if texts else []
    if ops is None or len(ops) != len(texts):
        return None
    unknown: set[str] = set()
    try:
        check_batch(ops, 0, unknown)
    except HistoryError:
        return None
    log_unknown(path, unknown)
    return ops


def _lost(r: dict, small: list[dict], opts: dict) -> Verdict:
    """lost.check's verdict from the counts (no lost, aborted or unseen record)."""
    topics = opts.get("topics")
    v = Verdict(lost.NAME, informational=("unseen",))
    st = v.stats
    st.update(dict.fromkeys(lost._COUNTERS, 0))
    st["per-topic"] = {}
    missing = []
    wanted = set(topics) if topics is not None else None
    written = {t: c for t, c in r["topics"].items() if c["acked"] + c["unacked"]}
    for topic in sorted(written, key=str):
        if wanted is not None and topic not in wanted:
            continue
        c = written[topic]
        ts = st["per-topic"][topic] = {"acked": c["acked"], "unacked": c["unacked"], "aborted": 0}
        for key in ts:
            st[key] += ts[key]
        if c["final"] is None:
            ts["final-read"] = None
            missing.append(topic)
            continue
        ts["final-read"], n_records = c["final"]
        st["final-read-records"] += n_records
        for key, n in (("lost", c["lost"]), ("recovered-unknown", c["recovered"])):
            ts[key] = n
            st[key] += n
        if c["polls"] is not None and c["polls"][1]:
            ts["unseen"] = c["unseen"]
            st["unseen"] += c["unseen"]
    if missing:
        st["topics-without-final-read"] = missing
    if not st["per-topic"]:
        return v.finish("no harness writes in history")
    return v.finish(f"no final read of {', '.join(map(str, missing))}" if missing else None)


def _duplicate(r: dict, small: list[dict], opts: dict) -> Verdict:
    """duplicate.check's verdict from the counts (no duplicate, no inconsistent offset)."""
    topics = opts.get("topics")
    v = Verdict(duplicate.NAME)
    all_topics = {t for t, c in r["topics"].items()
                  if c["final"] is not None or c["acked"] or c["polls"] is not None}
    if topics is not None:
        all_topics &= set(topics)
    n_pos = sum(r["topics"][t]["positions"] for t in all_topics)
    v.stats.update({"topics": len(all_topics), "positions": n_pos, "ids": n_pos,
                    "duplicate": 0, "inconsistent-offset": 0})
    v.stats["producer-epoch-bumps"] = duplicate._epoch_bumps(
        [op for op in small if op["f"] == CLIENT_EVENT_F])
    return v.finish()


def _offsets(r: dict, small: list[dict], opts: dict) -> Verdict | None:
    """offsets.check's verdict from each final read's counts, or None when it may hold an
    anomaly: a hole in a plain topic (``offset-gap``), a record past the listed end whose
    write was acknowledged while the read has ``listed_at`` (maybe
    ``end-offset-understated``), an offset seen with two records or a record at two
    offsets (maybe ``offset-reused``; the core's duplicate walk finds both)."""
    if not r["dup_exact"]:
        return None
    transactional = _transactional(r, opts)
    v = Verdict(offsets.NAME)
    st = v.stats
    st.update({"final-reads": 0, "partitions": 0, "records": 0, "offset-gap": 0,
               "missing-offsets": 0, "transactional-gaps": 0,
               "transactional-missing": 0, "out-of-range": 0, "end-offset-understated": 0,
               "past-end-later": 0, "topics": {}})
    for topic, records, partitions, outside, gaps, missing, later in r["offset_reads"]:
        txn = transactional(topic)
        if later is None or (gaps and not txn):
            return None
        st["topics"][topic] = "transactional" if txn else "plain"
        st["final-reads"] += 1
        st["records"] += records
        st["partitions"] += partitions
        st["out-of-range"] += outside
        st["transactional-gaps"] += gaps
        st["transactional-missing"] += missing
        st["past-end-later"] += later
    st["offset-reused"] = 0
    if not st["final-reads"]:
        return v.finish("no final read in history")
    return v.finish()


def _ordering(r: dict, small: list[dict], opts: dict) -> Verdict | None:
    """ordering.check's verdict from the counts, or None when it may hold an anomaly (a
    reorder, acks out of seq order, a step back, a gap over offsets the final read holds,
    a gap of a plain topic without a final read)."""
    o = r["order"]
    if not o["exact"]:
        return None
    unverified = _unverified(o["unresolved"], _transactional(r, opts))
    if unverified is None:
        return None                           # a skip: Python lists it
    v = Verdict(ordering.NAME)
    polls = [c["polls"] for c in r["topics"].values() if c["polls"] is not None]
    v.stats.update({"acked-writes-checked": sum(c["acked"] for c in r["topics"].values()),
                    "out-of-order-acks": 0, "reordered": 0,
                    "polled-records": sum(n for _, n in polls), "nonmonotonic": 0, "skip": 0,
                    "explained-gaps": sum(n for _, n in o["explained"]),
                    "unverified-gaps": unverified})
    return v.finish()


def _transactional(r: dict, opts: dict):
    """The checkers' rule for a transactional topic, as a predicate: declared in
    ``transactional_topics``, or -- when nothing is declared -- no harness send to it."""
    declared = opts.get("transactional_topics")
    if declared is not None:
        return set(declared).__contains__
    sent = {t for t, c in r["topics"].items() if c["acked"] + c["unacked"]}
    return lambda topic: topic not in sent


def _unverified(pairs: list, transactional) -> int | None:
    """How many of the skips of topics without a final read (``pairs``: topic, count)
    are unverified (the topic is transactional), or None when one is a skip (Python
    lists it)."""
    n = 0
    for topic, k in pairs:
        if not transactional(topic):
            return None
        n += k
    return n


def _group(r: dict, small: list[dict], opts: dict) -> Verdict | None:
    """group.check's verdict from the counts, or None when it holds an anomaly (a
    skipped range, an excess re-delivery, a commit beyond the log end)."""
    g = r["group"]
    if not g["exact"]:
        return None
    transactional = _transactional(r, opts)
    unverified = _unverified(g["unresolved"], transactional)
    if opts.get("auto_offset_reset", "earliest") == "earliest":
        early = _unverified(g["early_unresolved"], transactional)
        if g["early_held"] or early is None or unverified is None:
            return None
        unverified += early
    limit = opts.get("max_redelivery")
    if unverified is None or (limit is not None and g["max_redelivered"] > limit):
        return None
    v = Verdict(group.NAME)
    ok, fail, info = g["commits"]
    v.stats.update({"rebalance-starts": g["events"], "skipped-range": 0, "skipped-offsets": 0,
                    "redelivery-events": g["redelivery_events"], "redelivered": g["redelivered"],
                    "max-redelivered": g["max_redelivered"], "below-commit": g["below_commit"],
                    "uncommitted-starts": g["uncommitted"], "unverified-skips": unverified,
                    "commits": {"ok": ok, "fail": fail, "info": info},
                    "assigns": g["assigns"], "revokes": g["revokes"]})
    if limit is not None:
        v.stats["max-redelivery-limit"] = int(limit)
    v.stats["commits-beyond-log-end"] = 0
    return v.finish()
