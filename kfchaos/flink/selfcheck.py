"""End-to-end smoke check of the reference job and the lifecycle API against a real cluster.

    python -m kfchaos.flink.selfcheck --rest http://127.0.0.1:38081 --bootstrap 127.0.0.1:9092

Needs a Flink 2.2 cluster whose lib/ has flink-sql-connector-kafka 5.0.0-2.2, a Kafka broker
reachable from both the TaskManagers (``--bootstrap``) and this process (``--client-bootstrap``,
default the same), and confluent-kafka. Creates its own topics (unique suffix), then:

1. deploy ``good``; produce; check the committed output (exactly once, counts 1..n per key)
2. savepoint (must be good); upgrade to ``incompatible-state`` (must fail to restore)
3. rollback; produce more; check the output again
4. upgrade to ``crash``; send the poison record; the job must end FAILED; recovery metrics
5. rollback; upgrade to ``slow`` and to ``at-least-once`` (both must run); cancel

``--record DIR`` saves the REST replies seen, one file per reply shape (used to refresh the
recorded shapes the unit tests parse). Exit status 0 when every check passed.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from .lifecycle import DeploymentFailed, JobLifecycle, recovery_metrics
from .rest import FlinkRest, JobTerminated

KEYS = ("k0", "k1", "k2", "k3", "k4")


class Recorder:
    """Keeps the latest reply per shape name; ``save(dir)`` writes them as JSON."""

    _RULES = [
        ("GET", r"^/overview$", "overview"),
        ("GET", r"^/taskmanagers$", "taskmanagers"),
        ("GET", r"^/jars$", "jars"),
        ("POST", r"^/jars/upload$", "jar_upload"),
        ("POST", r"^/jars/[^/]+/run$", "jar_run"),
        ("GET", r"^/jobs/overview$", "jobs_overview"),
        ("GET", r"^/jobs/[0-9a-f]{32}$", "job"),
        ("GET", r"^/jobs/[0-9a-f]{32}/checkpoints$", "checkpoints"),
        ("GET", r"^/jobs/[0-9a-f]{32}/checkpoints/[0-9a-f]+$", "checkpoint_trigger_status"),
        ("POST", r"^/jobs/[0-9a-f]{32}/checkpoints$", "checkpoint_trigger"),
        ("POST", r"^/jobs/[0-9a-f]{32}/savepoints$", "savepoint_trigger"),
        ("POST", r"^/jobs/[0-9a-f]{32}/stop$", "stop_trigger"),
        ("GET", r"^/jobs/[0-9a-f]{32}/savepoints/[0-9a-f]+$", "savepoint_status"),
        ("GET", r"^/jobs/[0-9a-f]{32}/exceptions$", "exceptions"),
        ("GET", r"^/jobs/[0-9a-f]{32}/metrics$", "job_metrics"),
        ("GET", r"^/jobs/[0-9a-f]{32}/vertices/[0-9a-f]+/subtasks/metrics$", "vertex_metrics"),
    ]

    def __init__(self) -> None:
        self.shapes: dict[str, Any] = {}

    def __call__(self, method: str, path: str, status: int, body: Any) -> None:
        name = None
        for m, rx, n in self._RULES:
            if m == method and re.match(rx, path):
                name = n
                break
        if name is None:
            return
        if status >= 400:
            name += f"_error_{status}"
        elif name == "job" and isinstance(body, dict):
            name += "_" + str(body.get("state", "")).lower()
        elif name == "checkpoints" and isinstance(body, dict):
            latest = body.get("latest") or {}
            if latest.get("restored"):
                name += "_restored"
            elif not latest.get("completed"):
                name += "_empty"
        elif name in ("savepoint_status", "checkpoint_trigger_status") and isinstance(body, dict):
            op = body.get("operation") or {}
            name += "_failed" if op.get("failure-cause") else "_" + str(
                (body.get("status") or {}).get("id", "")).lower()
        elif name == "exceptions" and isinstance(body, dict):
            n = len(((body.get("exceptionHistory") or {}).get("entries")) or [])
            if n == 0:
                name += "_empty"
            elif n <= len(((self.shapes.get(name) or {}).get("exceptionHistory") or {})
                          .get("entries") or []):
                return  # keep the richest one
        elif name == "vertex_metrics" and isinstance(body, list):
            name += "_agg" if body and "value" not in body[0] and len(body[0]) > 1 else "_list"
        self.shapes[name] = body

    def save(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        out = []
        for name, body in sorted(self.shapes.items()):
            p = directory / f"{name}.json"
            p.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n")
            out.append(p)
        return out


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed: list[str] = []

    def check(self, cond: bool, what: str) -> bool:
        print(("  ok   " if cond else "  FAIL ") + what, flush=True)
        if cond:
            self.passed += 1
        else:
            self.failed.append(what)
        return cond


def _kafka(bootstrap: str):
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    return Consumer, Producer, AdminClient, NewTopic


def _create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    _, _, AdminClient, NewTopic = _kafka(bootstrap)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for t, fut in admin.create_topics([NewTopic(n, partitions, 1) for n in names]).items():
        fut.result(30)


def _produce(bootstrap: str, topic: str, start: int, n: int, keys=KEYS) -> list[str]:
    _, Producer, _, _ = _kafka(bootstrap)
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    ids = []
    for i in range(start, start + n):
        k = keys[i % len(keys)]
        rid = f"sc-{i}"
        p.produce(topic, key=k, value=json.dumps({"id": rid, "key": k, "seq": i,
                                                  "producer": "selfcheck"}))
        ids.append(rid)
    if p.flush(30):
        raise RuntimeError("producer could not deliver everything within 30s")
    return ids


def _consume_all(bootstrap: str, topic: str, expect: int, timeout: float) -> list[dict]:
    """read_committed consumer from the beginning until ``expect`` records or timeout."""
    Consumer, _, _, _ = _kafka(bootstrap)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "selfcheck-" + uuid.uuid4().hex,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "isolation.level": "read_committed"})
    c.subscribe([topic])
    out: list[dict] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(out) < expect:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            out.append(json.loads(m.value()))
        # linger a little to catch duplicates beyond the expected count
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            m = c.poll(0.3)
            if m is not None and not m.error():
                out.append(json.loads(m.value()))
    finally:
        c.close()
    return out


def _check_output(ck: Checks, recs: list[dict], sent: list[str], label: str) -> None:
    ids = Counter(r["id"] for r in recs)
    dups = [i for i, n in ids.items() if n > 1]
    missing = set(sent) - set(ids)
    per_key: dict[str, list[int]] = defaultdict(list)
    for r in recs:
        per_key[r["key"]].append(int(r["count"]))
    bad_keys = [k for k, cs in per_key.items() if sorted(cs) != list(range(1, len(cs) + 1))]
    ck.check(not missing, f"{label}: every input in the committed output "
                          f"({len(sent) - len(missing)}/{len(sent)})")
    ck.check(not dups, f"{label}: no duplicate output ({len(dups)} duplicated ids)")
    ck.check(not bad_keys, f"{label}: per-key counts are exactly 1..n (bad keys: {bad_keys})")


def _wait_offsets(rest: FlinkRest, job_id: str, n: int, timeout: float = 30.0) -> dict:
    """Offsets once the (cached) metrics show all ``n`` records read, else the last seen."""
    deadline = time.monotonic() + timeout
    offs: dict = {}
    while time.monotonic() < deadline:
        offs = rest.source_offsets(job_id)
        if offs and sum(o.get("current", -1) + 1 for o in offs.values()) >= n:
            break
        time.sleep(1.0)
    return offs


def run(args: argparse.Namespace) -> int:
    rec = Recorder()
    rest = FlinkRest(args.rest, on_response=rec)
    ck = Checks()
    client_bs = args.client_bootstrap or args.bootstrap
    sfx = uuid.uuid4().hex[:8]
    tin, tout = f"sc-in-{sfx}", f"sc-out-{sfx}"
    print(f"cluster: {rest.overview()}")
    ck.check(len(rest.taskmanagers()) >= 1, "at least one TaskManager registered")
    _create_topics(client_bs, [tin, tout], args.partitions)
    lc = JobLifecycle(rest, args.jar, parallelism=args.parallelism,
                      job_args={"bootstrap": args.bootstrap, "input-topic": tin,
                                "output-topic": tout, "group": f"sc-{sfx}",
                                "txn-prefix": f"sc-{sfx}", "checkpoint-interval-ms": 1000})
    sent: list[str] = []
    try:
        print("1. deploy good")
        dep = lc.deploy("good")
        ck.check(dep.state == "RUNNING", f"good job {dep.job_id} RUNNING")
        sent += _produce(client_bs, tin, 0, args.records)
        _check_output(ck, _consume_all(client_bs, tout, len(sent), 60), sent, "after deploy")
        stats = lc.wait_for_checkpoints(1, 60)
        ck.check(stats.latest_completed is not None, "a checkpoint completed")
        lc.checkpoint()
        offsets = _wait_offsets(rest, dep.job_id, len(sent))
        ck.check(bool(offsets), f"source offsets visible in task metrics: {offsets}")
        rm = lc.recovery_metrics()
        ck.check(rm.failure is None and (rm.source_records_since_restart or 0) >= len(sent),
                 f"healthy job: no failure, source read {rm.source_records_since_restart}")

        print("2. savepoint + upgrade to incompatible-state")
        sp = lc.savepoint()
        ck.check(sp.good, f"savepoint {sp.path} is good ({sp.reason})")
        try:
            lc.upgrade("incompatible-state")
            ck.check(False, "incompatible-state upgrade should fail to restore")
        except DeploymentFailed as e:
            ck.check(True, f"incompatible-state upgrade failed: {str(e)[:160]}")
        print("3. rollback")
        dep = lc.rollback()
        ck.check(dep.variant == "good" and dep.state == "RUNNING",
                 f"rolled back to good, job {dep.job_id}")
        sent += _produce(client_bs, tin, args.records, args.records // 2)
        _check_output(ck, _consume_all(client_bs, tout, len(sent), 60), sent, "after rollback")

        print("4. upgrade to crash + poison record")
        lc.wait_for_checkpoints(1, 60)
        dep = lc.upgrade("crash")
        _produce(client_bs, tin, 0, 1, keys=("poison",))
        try:
            rest.wait_for_state(dep.job_id, ("FAILED",), timeout=90)
            ck.check(True, "crash job reached FAILED")
        except JobTerminated as e:
            ck.check(False, f"crash job ended {e.state}")
        rm = recovery_metrics(rest, dep.job_id)
        print("  recovery metrics:", json.dumps(rm.to_dict(), default=str))
        ck.check(bool(rm.failure) and "PoisonRecordException" in rm.failure,
                 f"failure cause recorded: {rm.failure}")
        ck.check(rm.failures_recorded >= 4, f"failures in exception history: "
                 f"{rm.failures_recorded} (3 restarts + final; numRestarts={rm.restarts})")
        dep = lc.rollback()
        ck.check(dep.variant == "good" and dep.state == "RUNNING", "rolled back after crash")

        print("5. slow, at-least-once, cancel")
        lc.wait_for_checkpoints(1, 60)
        dep = lc.upgrade("slow", {"slow-ms": 5})
        ck.check(dep.state == "RUNNING", "slow variant RUNNING")
        lc.wait_for_checkpoints(1, 60)
        dep = lc.upgrade("at-least-once")
        ck.check(dep.state == "RUNNING", "at-least-once variant RUNNING")
        ck.check(lc.cancel() == "CANCELED", "cancelled")
    except Exception as e:  # report, do not hide
        ck.check(False, f"unexpected {type(e).__name__}: {e}")
        if lc.job_id:
            try:
                lc.cancel()
            except Exception:
                pass
    if args.record:
        for p in rec.save(Path(args.record)):
            print(f"  recorded {p}")
    print(f"selfcheck: {ck.passed} passed, {len(ck.failed)} failed")
    return 0 if not ck.failed else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kfchaos.flink.selfcheck", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rest", required=True, help="Flink REST base URL")
    ap.add_argument("--bootstrap", required=True, help="Kafka bootstrap as seen by Flink")
    ap.add_argument("--client-bootstrap", help="Kafka bootstrap as seen from here")
    ap.add_argument("--jar", help="job jar (default: build_job_jar())")
    ap.add_argument("--parallelism", type=int, default=2)
    ap.add_argument("--partitions", type=int, default=2)
    ap.add_argument("--records", type=int, default=200)
    ap.add_argument("--record", help="save REST reply shapes into this directory")
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
