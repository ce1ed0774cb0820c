"""Recovery checker: the platform serves again, within budget, after every fault.

Contract
--------
Recovery has up to four parts, each measured from the history:

* ``send`` -- per closed fault window, the first acknowledged send after the fault's
  stop completed (only when sends were attempted after it);
* ``output`` -- per closed fault window, the first poll of ``output_topic`` that
  returned records (only when an output topic is given and was polled);
* ``cluster`` -- the harness's ``cluster-health`` operation after heal (every broker
  back, no under-replicated partition): ``waited_s``, or ``fail`` if never healthy;
* ``job`` -- ``job-recovery`` operations (a Flink job after its fault): the job's
  state and ``time_to_running_s``; a job that is not RUNNING again never recovered.

``stats["recovery_s"]`` is the slowest part (send recovery, else output resume, then
the cluster and job parts), the figure the reports show. With ``recovery_budget_s``:
a part slower than the budget, or a part that never recovered although it was
attempted, is ``slow-recovery``; a cluster never healthy is ``not-healthy-after-heal``;
a job not running again is ``job-not-running``. An open fault window (never healed)
with a budget makes the verdict ``unknown``.
"""
from __future__ import annotations

from typing import Any

from .index import as_index
from .verdict import Verdict
from .windows import delay, series_of

NAME = "recovery"


def check(history: Any, *, recovery_budget_s: float | None = None, output_topic: str | None = None,
          **_: Any) -> Verdict:
    idx = as_index(history)
    v = Verdict(NAME)
    budget = recovery_budget_s
    send, output, open_ids = _window_parts(idx, v, budget, output_topic)
    cluster = _cluster_part(idx, v, budget)
    job = _job_part(idx, v, budget)
    first = max(send) if send else (max(output) if output else None)
    parts = [p for p in (first, cluster, job) if p is not None]
    v.stats.update(recovery_s=round(max(parts), 2) if parts else None,
                   send_recovery_s=max(send) if send else None,
                   output_resume_s=max(output) if output else None,
                   cluster_healthy_after_heal_s=cluster, flink_time_to_running_s=job,
                   budget_s=budget)
    unknown = f"fault windows never closed: {', '.join(open_ids)}" if open_ids and budget is not None else None
    return v.finish(unknown)


def _window_parts(idx: Any, v: Verdict, budget: float | None,
                  output_topic: str | None) -> tuple[list[float], list[float], list[str]]:
    s = series_of(idx)
    send: list[float] = []
    output: list[float] = []
    open_ids: list[str] = []
    for w in idx.fault_windows:
        if w.open:
            open_ids.append(w.fault_id)
            continue
        rec = delay(s.first_send_after(w.end), w.end)
        attempted = rec is not None or s.invoked_after(w.end)
        if rec is not None:
            send.append(rec)
        if attempted and budget is not None and (rec is None or rec > budget):
            _slow(idx, v, w, "send", rec, budget)
        if output_topic is not None and output_topic in s.polled_topics():
            res = delay(s.first_topic_poll_after(output_topic, w.end), w.end)
            if res is not None:
                output.append(res)
            if budget is not None and (res is None or res > budget):
                _slow(idx, v, w, "output", res, budget, topic=output_topic)
    return send, output, open_ids


def _slow(idx: Any, v: Verdict, w: Any, what: str, rec: float | None, budget: float, **extra: Any) -> None:
    v.add("slow-recovery", idx.example(
        None, t0=w.start, t1=w.end, what=what, fault=w.fault, fault_id=w.fault_id,
        recovery_s=rec, budget_s=budget, time=w.end, wall=w.end_wall, **extra))


def _cluster_part(idx: Any, v: Verdict, budget: float | None) -> float | None:
    done = [op for op in idx.get("cluster-health") if op.get("type") in ("ok", "fail")]
    if not done:
        return None
    last = done[-1]
    waited = (last.get("value") or {}).get("waited_s")
    if last["type"] == "fail":
        v.add("not-healthy-after-heal", {"time": last["time"], "wall": last.get("wall"),
                                         "error": (last.get("value") or {}).get("error"), "waited_s": waited})
        return None
    if budget is not None and waited is not None and waited > budget:
        v.add("slow-recovery", {"what": "cluster", "recovery_s": waited, "budget_s": budget,
                                "time": last["time"], "wall": last.get("wall")})
    return round(waited, 2) if waited is not None else None


def _job_part(idx: Any, v: Verdict, budget: float | None) -> float | None:
    worst = None
    for op in idx.get("job-recovery"):
        val = op.get("value") or {}
        t = val.get("time_to_running_s")
        if val.get("state") != "RUNNING":
            v.add("job-not-running", {"job_id": val.get("job_id"), "state": val.get("state"),
                                      "time": op["time"], "wall": op.get("wall")})
            continue
        if t is None:
            continue
        if budget is not None and t > budget:
            v.add("slow-recovery", {"what": "job", "job_id": val.get("job_id"), "recovery_s": t,
                                    "budget_s": budget, "time": op["time"], "wall": op.get("wall")})
        worst = t if worst is None else max(worst, t)
    return worst
