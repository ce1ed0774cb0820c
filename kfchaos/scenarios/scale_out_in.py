"""Scale out and in: a fourth broker joins, takes partitions, then is decommissioned, under recorded load.

Contracts: durability, ordering and offset continuity of the workload's writes while
partitions move; recovery (the cluster healthy after, every partition fully replicated).
Load: the recorded workload (200 sends/s, one consumer) on the scenario's topic, plus a
pre-filled, unrecorded ``bulk`` topic (``elasticity.prefill_mb``, default 4 MB, written with
Kafka's ProducerPerformance, round-robin over its partitions) so the move has data to copy. Steps, while the load runs:
(1) a broker-only KRaft node (node id 4, zone of the first broker) joins the controller
quorum; (2) Kafka's ``ReassignPartitionsCommand --generate`` proposes the assignment of both
topics over the four brokers, ``--execute --throttle`` (``elasticity.throttle_bytes_per_s``,
default 2 MB/s) moves the partitions whose replicas change, and the move is complete when
metadata shows every moved partition with exactly its new replicas, all in sync (then
``--verify`` confirms and clears the throttle); (3) scale-in: every replica on the new broker
(any topic) moves to a remaining broker (same rack first), then the broker is stopped,
unregistered (``ClusterTool unregister``) and removed. Throttles still set at the end are
deleted and reported. Reported (kfchaos.elasticity, recomputed from the history): time until
balanced, bytes and replicas moved, live produce p99, consumer lag p99 and ok sends/s during
each move, the decommission time. Stateless kinds (Tansu) have no replicas to move: not
applicable, with that reason.
"""
from __future__ import annotations

import logging
import threading
import time

from kfchaos import observe
from kfchaos.elasticity import REASSIGN_F, SCALE_F, THROTTLE_F
from kfchaos.platform import reassign
from kfchaos.scenario import NotApplicable, Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec

log = logging.getLogger("chaos.scenario")

DEFAULT_THROTTLE = 2_000_000       # bytes/s per broker, Kafka's --throttle
DEFAULT_PREFILL_MB = 4
DEFAULT_TIMEOUT_S = 240.0          # per move, until balanced
RATE, WARMUP_S = 200.0, 8.0
POLL_S = 0.5

STATELESS = ("{kind}: stateless brokers over one object-store log; every broker answers for every partition "
             "(Tansu reports itself as node 111, leader of all), so there are no replicas to move: a broker "
             "added serves the whole log as soon as it answers metadata and a broker removed leaves nothing "
             "behind -- 0 bytes moved and nothing to balance by construction, not by measurement -- and "
             "Kafka's reassignment tool has nothing to act on ({why})")


def applicable(flavor) -> str | None:
    """Why scale-out/in by partition reassignment cannot run on this kind, or None."""
    if flavor.missing("replication"):
        return STATELESS.format(kind=flavor.kind, why=flavor.missing("admin-tools") or flavor.missing("replication"))
    reason = flavor.missing("controller-quorum", "admin-tools")
    if reason:
        return reason
    if not hasattr(flavor, "server_properties"):
        return (f"{flavor.kind}: the harness cannot yet launch a broker-only node of this kind "
                "(its brokers take their settings as command-line overrides, not a properties file)")
    return None


def settings(profile) -> dict:
    el = (getattr(profile, "raw", None) or {}).get("elasticity") or {}
    return {"throttle": int(el.get("throttle_bytes_per_s", DEFAULT_THROTTLE)),
            "timeout": float(el.get("balance_timeout_s", DEFAULT_TIMEOUT_S)),
            "prefill_mb": int(el.get("prefill_mb", DEFAULT_PREFILL_MB))}


def prefill(run: ScenarioRun, topic: str, mb: int) -> None:
    records = mb * 1000
    t0 = time.monotonic()
    zone = run.platform.zones[0]
    code, out = run.platform.run_tool("org.apache.kafka.tools.ProducerPerformance", [
        "--topic", topic, "--num-records", str(records), "--record-size", "1000", "--throughput", "-1",
        "--producer-props", f"bootstrap.servers={reassign.bootstrap(run.platform, zone)}", "acks=all", "linger.ms=20",
        "batch.size=65536", "partitioner.class=org.apache.kafka.clients.producer.RoundRobinPartitioner"], zone=zone)
    if code != 0:
        raise RuntimeError(f"prefill of {topic} failed (exit {code}): {out.strip()[-300:]}")
    run.history.ok(observe.PROCESS, SCALE_F, {"action": "prefill", "topic": topic, "records": records,
                                              "bytes": records * 1000, "seconds": round(time.monotonic() - t0, 2)})


def _complete(platform, plan: list[dict]) -> bool:
    """Every planned partition has exactly its new replicas, all in sync (metadata)."""
    md = platform.admin.list_topics(timeout=10)
    for p in plan:
        t = md.topics.get(p["topic"])
        part = t.partitions.get(p["partition"]) if t is not None else None
        if part is None or set(part.replicas) != set(p["replicas"]) or set(part.isrs) != set(p["replicas"]):
            return False
    return True


def move(run: ScenarioRun, name: str, before: list[dict], plan: list[dict], brokers: list[int], cfg: dict) -> None:
    """Execute ``plan`` with the throttle and wait until it is complete; one ``reassign`` op."""
    platform = run.platform
    planned = {(p["topic"], p["partition"]) for p in plan}
    value = {"move": name, "before": [p for p in before if (p["topic"], p["partition"]) in planned],
             "plan": plan, "throttle": cfg["throttle"]}
    start = time.monotonic_ns()
    value["start"] = start
    polls = 0
    try:
        reassign.execute(platform, plan, cfg["throttle"])
        deadline = time.monotonic() + cfg["timeout"]
        while True:
            polls += 1
            if _complete(platform, plan):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name}: not balanced after {cfg['timeout']:.0f} s")
            time.sleep(POLL_S)
        end = time.monotonic_ns()
        done, out = reassign.verify(platform, plan)      # a JVM start: tens of seconds on a loaded machine
        for _ in range(3):
            if done:
                break
            time.sleep(2)
            done, out = reassign.verify(platform, plan)
        value.update(end=end, polls=polls, verified=done,
                     verified_after_s=round((time.monotonic_ns() - end) / 1e9, 2),
                     sizes=reassign.log_dirs(platform, brokers, sorted({p["topic"] for p in plan})))
    except Exception as exc:
        value.update(polls=polls, error=f"{type(exc).__name__}: {exc}")
        run.history.fail(observe.PROCESS, REASSIGN_F, value)
        raise
    run.history.ok(observe.PROCESS, REASSIGN_F, value)
    log.info("%s: %d partitions balanced after %.1f s", name, len(plan), (value["end"] - start) / 1e9)


def scale_out_in(run: ScenarioRun, topics: list[str], cfg: dict, state: dict) -> None:
    platform = run.platform
    zone = platform.zones[0]
    original = [platform.cfg.node_id(z) for z in platform.zones]
    t0 = time.monotonic()
    node_id, node = platform.add_broker(zone)
    state["added"] = node_id
    run.history.ok(observe.PROCESS, SCALE_F, {"action": "add", "node_id": node_id, "zone": zone, "host": node.name,
                                              "seconds": round(time.monotonic() - t0, 2)})
    brokers = original + [node_id]
    before = reassign.assignment(platform, topics)
    current = {(p["topic"], p["partition"]): p["replicas"] for p in before}
    plan = [p for p in reassign.generate(platform, topics, brokers)
            if set(p["replicas"]) != set(current.get((p["topic"], p["partition"]), []))]
    if not any(node_id in p["replicas"] for p in plan):
        raise RuntimeError(f"Kafka's proposed assignment puts nothing on the new broker {node_id}: {plan}")
    move(run, "scale-out", before, plan, brokers, cfg)
    # scale in: everything on the new broker (any topic) back onto the original brokers
    racks = {platform.cfg.node_id(z): z for z in platform.zones} | {node_id: zone}
    before = reassign.assignment(platform)
    move(run, "scale-in", before, reassign.plan_off(before, node_id, original, racks), brokers, cfg)
    try:        # while node 4 still answers for its own broker-level throttle
        state["throttle_left"] = reassign.clear_throttles(platform, brokers, topics)
    except Exception as exc:
        log.warning("throttles not cleared before the removal: %s: %s", type(exc).__name__, exc)
    t0 = time.monotonic()
    removed = platform.remove_broker(node_id)
    state.pop("added")
    run.history.ok(observe.PROCESS, SCALE_F, {"action": "remove", **removed,
                                              "seconds": round(time.monotonic() - t0, 2)})


def steps(run: ScenarioRun) -> None:
    reason = applicable(run.platform.flavor)
    if reason:
        raise NotApplicable(reason)
    cfg = settings(run.profile)
    run.check_options(throttle_bytes_per_s=cfg["throttle"], balance_timeout_s=cfg["timeout"])
    topic, bulk = run.topic(), run.topic("bulk")
    prefill(run, bulk, cfg["prefill_mb"])
    state: dict = {}
    errors: list[BaseException] = []
    done = threading.Event()

    def during() -> None:
        try:
            time.sleep(WARMUP_S)
            scale_out_in(run, [topic, bulk], cfg, state)
        except BaseException as exc:     # re-raised in the scenario's thread
            errors.append(exc)
        finally:
            done.set()
    try:
        run.workload(topic, WorkloadSpec(duration_s=WARMUP_S + 4, rate=RATE, consumers=1, quiet_s=2.0,
                                         during_timeout_s=cfg["timeout"] * 2 + 600), during=during)
        done.wait(timeout=cfg["timeout"] * 2 + 300)
    finally:
        _tidy(run, [topic, bulk], state)
    if errors:
        raise errors[0]


def _tidy(run: ScenarioRun, topics: list[str], state: dict) -> None:
    """Throttles never outlive the scenario; a broker left half-way is removed (its replicas
    with it: the run's verdicts already say what happened)."""
    platform = run.platform
    brokers = [platform.cfg.node_id(z) for z in platform.zones] + list(platform.extra_brokers)
    left = state.get("throttle_left")
    try:
        left = reassign.clear_throttles(platform, brokers, topics)
    except Exception as exc:
        left = (left or []) + [f"clean-up failed: {type(exc).__name__}: {exc}"]
    run.history.ok(observe.PROCESS, THROTTLE_F, {"left": left or []})
    for node_id in list(platform.extra_brokers):
        try:
            platform.remove_broker(node_id)
        except Exception as exc:
            log.warning("added broker %s not removed cleanly: %s", node_id, exc)


SCENARIO = Scenario("scale-out-in", __doc__, ("durability", "ordering", "offset-continuity", "recovery"), steps,
                    tags=("elasticity",))
