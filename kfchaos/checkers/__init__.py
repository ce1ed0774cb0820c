"""Jepsen-style contract checkers over an operation history.

Contract
--------
Every checker module exposes ``check(history, **opts) -> Verdict`` where
``history`` is a list of op dicts (see :mod:`kfchaos.history`) or a
:class:`HistoryIndex`; unknown options are ignored, so one option set can be
passed to all of them.  :func:`check_all` builds the index once and runs:

=============  ==============================================================
lost           acked writes missing from the final read (+ unseen, aborted)
duplicate      one id at two offsets; two ids at one offset
ordering       producer seq order vs offsets; per-consumer offset order/skips
offsets        holes in final-read offsets of non-transactional topics
group          first offset after a rebalance vs committed offset
exactly-once   Flink output vs input (only when an output topic is known)
windows        per-fault throughput and latency (+ latency ratio budget)
recovery       clients, output, cluster health and Flink job back (+ budget)
replay-        live p99 during a backfill vs its baseline (run only when a
isolation      contract asks for it: ``OPTIONAL``)
access-        intruder attempts (``intrude`` ops) that succeeded; denials
control        per phase around the faults (``OPTIONAL``)
mirror         source's acked writes on the target exactly once, in order;
               replication lag (a migration rehearsal, ``OPTIONAL``)
cutover        a group moved to the target: no skipped record, bounded
               redelivery, cut-over time (``OPTIONAL``)
job-move       a Flink job moved to the target through a savepoint: both
               sides' output holds every input once (``OPTIONAL``)
=============  ==============================================================

The run's overall validity is :func:`compose` (invalid > unknown > valid).
Each checker runs isolated (:func:`run_checker`): one that raises gets an
``unknown`` verdict ("checker crashed: ...", traceback in its stats) and
the others still run.  Histories read from files are validated first
(:mod:`kfchaos.history_schema`), so a crash is a checker bug, not bad input.
For big histories build the index straight from the file, which never keeps
the op dicts: ``check_all(HistoryIndex.from_path("run/s/history.kfh"))``, or
let :func:`check_path` do it: the same verdicts, computed by the compiled core
(:mod:`.native`) when it is built and ports every checker asked for.
Support modules: :mod:`.index` (single-pass digest; :mod:`.records` for the
typed write records, :mod:`.writes`, :mod:`.digests`, :mod:`.consumers`,
:mod:`.groupstate` for its passes, :mod:`.queries` for shared cached
lookups, :mod:`.stream` for files), :mod:`.faults` (fault windows), :mod:`.synth` (valid synthetic
histories, hand-made ``Builder``), :mod:`.inject` (anomaly injection).
Every shortcut the checkers take (whole-list comparisons against the final
read) only ever concludes "consistent"; otherwise the exact record-by-record
computation decides, so results never depend on which path ran.
"""
from __future__ import annotations

import logging
import traceback
from typing import Any, Callable, Iterable

from . import (access, cutover, duplicate, exactly_once, group, isolation, job_move, lost, mirror, offsets, ordering,
               recovery, windows)
from .faults import FaultWindow, fault_windows, overlapping
from .index import HistoryIndex, as_index
from .verdict import (INVALID, MAX_EXAMPLES, UNKNOWN, VALID, Anomaly, Validity,
                      Verdict, compose)

__all__ = ["CHECKERS", "check_all", "check_path", "compose", "Verdict", "Anomaly", "Validity",
           "VALID", "INVALID", "UNKNOWN", "MAX_EXAMPLES", "HistoryIndex", "as_index",
           "FaultWindow", "fault_windows", "overlapping", "OPTIONAL"]


CHECKERS: dict[str, Callable[..., Verdict]] = {
    lost.NAME: lost.check,
    duplicate.NAME: duplicate.check,
    ordering.NAME: ordering.check,
    offsets.NAME: offsets.check,
    group.NAME: group.check,
    exactly_once.NAME: exactly_once.check,
    windows.NAME: windows.check,
    recovery.NAME: recovery.check,
    isolation.NAME: isolation.check,
    access.NAME: access.check,
    mirror.NAME: mirror.check,
    cutover.NAME: cutover.check,
    job_move.NAME: job_move.check,
}
log = logging.getLogger("chaos.history")

#: run only when asked for by name (a contract needs them)
OPTIONAL = frozenset({isolation.NAME, access.NAME, mirror.NAME, cutover.NAME, job_move.NAME})


def check_all(history: Any, *, checkers: Iterable[str] | None = None,
              **opts: Any) -> dict[str, Verdict]:
    """Run the checkers (default: all applicable) over one shared index.

    ``exactly-once`` is skipped unless ``output_topic`` is given or a
    ``deploy`` op names one (or it is requested explicitly in ``checkers``).
    Options are passed to every checker; see each module for its own.
    """
    idx = as_index(history)
    if checkers is None:
        names = [n for n in CHECKERS if n not in OPTIONAL]
        if opts.get("output_topic") is None and not _deploys_output(idx):
            names.remove(exactly_once.NAME)
    else:
        names = list(checkers)
    return {name: run_checker(name, CHECKERS[name], idx, opts) for name in names}


def check_path(path: Any, *, checkers: Iterable[str] | None = None,
               **opts: Any) -> dict[str, Verdict]:
    """``check_all(HistoryIndex.from_path(path), checkers=checkers, **opts)``, by the
    compiled core when it decides (:func:`kfchaos.checkers.native.check_path`: built,
    not switched off by ``KFCHAOS_NATIVE=0``, every checker asked for ported, no
    anomaly that needs examples); the results never depend on which path ran."""
    if checkers is not None:
        checkers = list(checkers)
        from . import native
        try:
            verdicts = native.check_path(path, checkers, opts)
        except Exception as e:     # noqa: BLE001 - a core bug must not change a result
            log.warning("compiled core failed on %s, checking in Python: %s: %s", path,
                        type(e).__name__, e, exc_info=True)
            verdicts = None
        if verdicts is not None:
            return verdicts
    return check_all(HistoryIndex.from_path(path), checkers=checkers, **opts)


def _deploys_output(idx: HistoryIndex) -> bool:
    """A ``deploy`` op names an output topic (if that cannot be told, run
    exactly-once: its own verdict then says what went wrong)."""
    try:
        return exactly_once.discover_topics(idx)[1] is not None
    except Exception:    # noqa: BLE001 - the checker run reports it
        return True


def run_checker(name: str, check: Callable[..., Verdict], idx: HistoryIndex,
                opts: dict) -> Verdict:
    """``check(idx, **opts)``, isolated: a checker that raises gets an
    ``unknown`` Verdict, reason ``"checker crashed: <ExcType>: <msg>"`` and
    the traceback in ``stats["traceback"]``, and the others still run."""
    try:
        return check(idx, **opts)
    except Exception as e:     # noqa: BLE001 - isolation is the point
        msg = " ".join(str(e).split())[:500]
        log.warning("checker %s crashed: %s: %s", name, type(e).__name__, msg, exc_info=True)
        v = Verdict(name, valid=UNKNOWN, reason=f"checker crashed: {type(e).__name__}: {msg}")
        v.stats["traceback"] = traceback.format_exc()
        return v
