"""A recorded workload: producers at a steady rate, a consumer group reading live and
committing, faults from a schedule in a nemesis thread; then heal, a quiet period and a
final read of every partition that closes the history.

Every client operation and every fault goes into one History, so checkers can line
anomalies up with fault windows; so do the harness's own waits (``cluster-health`` after
heal, the consumers' ``drain``) and any workload thread that failed (``harness-error``),
see :mod:`kfchaos.observe`.

An interrupted run (Ctrl-C, SIGTERM, a harness error) stops its client threads and waits for
them (at most ``STOP_CLIENTS_S``) before the exception leaves :meth:`Workload.run`: the
scenario heals and closes the history after the clients' last ops, never under them.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from kfchaos import observe
from kfchaos.clients import RecordingConsumer, RecordingProducer, final_read, records_read
from kfchaos.faults.base import FaultSpec
from kfchaos.platform.health import wait_healthy
from kfchaos.platform.kafka_config import RDKAFKA_LOGGER, client_config


#: the load parameters a profile's ``workload:`` section may set, with their built-in defaults
#: (a scenario's own WorkloadSpec values win, then the profile's, then these)
LOAD_DEFAULTS: dict[str, Any] = {"rate": 200.0, "producers": 2, "keys": 24, "consumers": 1, "record_bytes": 0,
                                 "final_read_page_records": 100_000}
MAX_RATE = "max"                    # rate: as fast as the producers can send (also written 0)
RECORD_BYTES_MIN = 128              # room for the harness's own fields ({"id", "key", "seq", "producer"})
RECORD_BYTES_MAX = 900_000          # below the brokers' and clients' default message size limit (~1 MB)


def rate_value(rate: Any) -> float:
    """Sends per second as a number; 0.0 means unthrottled (``max``). ValueError with what to write."""
    if isinstance(rate, str) and rate.strip().lower() == MAX_RATE:
        return 0.0
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate < 0:
        raise ValueError(f"is {rate!r}; write sends per second (a number > 0) or `{MAX_RATE}` (or 0) "
                         "for as fast as possible")
    return float(rate)


def record_bytes_problem(value: Any) -> str | None:
    """Why ``value`` is not a usable record size (value bytes), or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"is {value!r}; write a whole number of bytes"
    if value != 0 and not RECORD_BYTES_MIN <= value <= RECORD_BYTES_MAX:
        return (f"is {value}; use 0 (the harness's own value, about 60 bytes) or {RECORD_BYTES_MIN} to "
                f"{RECORD_BYTES_MAX:,} bytes")
    return None


@dataclass
class WorkloadSpec:
    """A recorded workload. ``rate``, ``producers``, ``keys``, ``consumers``, ``record_bytes`` and
    ``final_read_page_records``
    left at None take the profile's ``workload:`` values, else :data:`LOAD_DEFAULTS`
    (:meth:`resolved`); a scenario that sets one keeps it."""
    duration_s: float = 40.0        # producers run this long
    rate: float | str | None = None  # sends per second, all producers together; "max" or 0: unthrottled
    producers: int | None = None    # default 2
    keys: int | None = None         # default 24
    consumers: int | None = None    # members of one consumer group reading live; default 1
    record_bytes: int | None = None  # produced value size (padded); 0: the harness's own (~60 bytes)
    final_read_page_records: int | None = None  # records per page op of the final read; default 100,000
    commit_interval_s: float = 1.0
    quiet_s: float = 3.0            # after heal, before the final read
    proxied: bool = False           # host clients through the client-<zone> Toxiproxy
    isolation: str = "read_committed"
    extra_producer_config: dict = field(default_factory=dict)
    during_timeout_s: float = 300.0  # how long the load waits for the ``during`` step to end

    def resolved(self, profile_workload: dict | None = None) -> "WorkloadSpec":
        """A copy with every load parameter set: this spec's, else the profile's, else the default;
        ``rate`` as a number (0.0: unthrottled)."""
        given = profile_workload or {}
        values = {k: (getattr(self, k) if getattr(self, k) is not None else given.get(k, default))
                  for k, default in LOAD_DEFAULTS.items()}
        values["rate"] = rate_value(values["rate"])
        return replace(self, **values)

    @property
    def unthrottled(self) -> bool:
        return self.rate is not None and rate_value(self.rate) == 0.0


log = logging.getLogger("chaos.workload")
SERVE_EVERY = 32    # an unthrottled producer serves delivery reports after every 32nd send
SETTLE_S = 5.0      # at least this long between the quiet period and the consumers' stop
CLOSE_S = 30.0      # a producer waits this long for its last delivery reports when it closes
INTERRUPT_CLOSE_S = 2.0   # ... when the run was interrupted (its unreported sends are recorded as info)
STOP_CLIENTS_S = 20.0     # an interrupted run waits this long for its client threads to close


class Workload:
    def __init__(self, platform, profile, history, topic: str, spec: WorkloadSpec, group: str, prefix: str = "",
                 encode=None):
        self.platform, self.profile, self.history = platform, profile, history
        self.encode = encode        # message values in a user job's input format (None: the harness's)
        self.topic, self.group = topic, group
        self.spec = spec.resolved(getattr(profile, "workload", None))
        self.bootstrap = platform.proxied_bootstrap_servers if spec.proxied else platform.bootstrap_servers
        self._stop = threading.Event()
        self._producers_done = threading.Event()
        self.errors: list[str] = []
        self.prefix = prefix  # distinguishes the processes (and so the record ids) of successive workloads
        self._close_timeout = CLOSE_S    # a producer's wait for its last delivery reports

    # ---- client settings -----------------------------------------------------------------
    def producer_settings(self) -> dict:
        """The profile's producer settings with the workload's own on top (what every producer gets)."""
        return {"acks": "all", "enable.idempotence": "true", **self.profile.producer_config(),
                **self.spec.extra_producer_config}

    def consumer_settings(self) -> dict:
        """Group timeouts the workload picks, then the profile's consumer settings (they win)."""
        return {"session.timeout.ms": 10000, "heartbeat.interval.ms": 1000, "isolation.level": self.spec.isolation,
                **self.profile.consumer}

    def record_settings(self) -> None:
        """The effective client configuration, as a measure (secret values masked)."""
        def shown(cfg: dict) -> dict:
            return {k: ("***" if any(w in k for w in ("password", "secret", "jaas", "key.pem")) else v)
                    for k, v in sorted(cfg.items())}
        settings = {"producer": shown(self.producer_settings())}
        if self.spec.consumers:
            settings["consumer"] = shown(self.consumer_settings())
        observe.measure(self.history, "client_config", settings)

    # ---- threads -----------------------------------------------------------------------
    def _producer(self, i: int) -> None:
        cfg = self.producer_settings()
        acks = cfg.pop("acks")
        idem = str(cfg.pop("enable.idempotence")).lower() == "true"
        cfg.update({"logger": RDKAFKA_LOGGER, "log.connection.close": False})
        s = self.spec
        more = {"encode": self.encode} if self.encode else {"record_bytes": s.record_bytes}
        p = RecordingProducer(self.bootstrap, self.topic, self.history, f"{self.prefix}producer-{i}", acks=acks,
                              idempotence=idem, config=cfg, serve_every=SERVE_EVERY if s.unthrottled else 1,
                              **more)
        keys = [f"k{(n * s.producers + i) % s.keys}" for n in range(s.keys)]
        try:
            if s.unthrottled:
                self._send_unthrottled(p, keys)
            else:
                self._send_at_rate(p, keys, s.producers / s.rate)
        except Exception as exc:
            self.errors.append(f"{self.prefix}producer-{i}: {exc}")
        finally:
            p.close(timeout=self._close_timeout)

    def _send_at_rate(self, p: RecordingProducer, keys: list[str], interval: float) -> None:
        n, t_next = 0, time.monotonic()
        while not self._stop.is_set():
            p.send(keys[n % len(keys)])
            n += 1
            t_next += interval
            delay = t_next - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                p.poll(0)

    def _send_unthrottled(self, p: RecordingProducer, keys: list[str]) -> None:
        """As fast as the client takes them (a full local queue makes ``send`` wait for reports)."""
        n, stop = 0, self._stop.is_set
        while not (n % 256 == 0 and stop()):
            p.send(keys[n % len(keys)])
            n += 1

    def _consumer(self, i: int) -> None:
        cfg = {**self.consumer_settings(), "logger": RDKAFKA_LOGGER, "log.connection.close": False}
        isolation = cfg.pop("isolation.level")
        c = RecordingConsumer(self.bootstrap, self.topic, self.group, self.history, f"{self.prefix}consumer-{i}",
                              isolation=isolation, config=cfg)
        try:
            c.open()
            last_commit = time.monotonic()
            while not (self._stop.is_set() and self._producers_done.is_set() and self._drained.is_set()):
                c.poll_batch(500, timeout=0.5)
                if time.monotonic() - last_commit >= self.spec.commit_interval_s:
                    c.commit()
                    last_commit = time.monotonic()
            c.commit()
        except Exception as exc:
            self.errors.append(f"consumer-{i}: {exc}")
        finally:
            c.close()

    def _nemesis(self, nemesis, schedule: list[FaultSpec], t0: float) -> None:
        """Each scheduled fault on its own timer: overlapping entries of a schedule overlap."""
        self.errors.extend(nemesis.run_schedule(schedule, t0, self._stop))

    # ---- run ---------------------------------------------------------------------------
    def run(self, nemesis=None, schedule: list[FaultSpec] = (), during=None) -> dict:
        """Run the workload with the schedule (and an optional callable run in parallel)."""
        s = self.spec
        self._drained = threading.Event()
        self.record_settings()
        t0 = time.monotonic()
        rate = "unthrottled" if s.unthrottled else f"{s.rate:.0f}/s"
        size = f", {s.record_bytes}-byte values" if s.record_bytes else ""
        log.info(f"{s.producers} producers at {rate}{size} and {s.consumers} consumers on {self.topic} for "
                 f"{s.duration_s:.0f}s, {len(schedule)} faults")
        threads = [threading.Thread(target=self._producer, args=(i,), daemon=True) for i in range(s.producers)]
        consumers = [threading.Thread(target=self._consumer, args=(i,), daemon=True) for i in range(s.consumers)]
        side = []
        if nemesis is not None and schedule:
            side.append(threading.Thread(target=self._nemesis, args=(nemesis, list(schedule), t0), daemon=True))
        if during is not None:
            side.append(threading.Thread(target=during, daemon=True))
        for t in [*consumers, *threads, *side]:
            t.start()
        try:
            return self._run_started(nemesis, schedule, t0, threads, consumers, side)
        except BaseException:          # Ctrl-C, SIGTERM, a harness error: the clients stop first
            self._stop_clients([*threads, *consumers, *side])
            raise

    def _stop_clients(self, threads: list[threading.Thread]) -> None:
        """Stop every client thread and wait (at most ``STOP_CLIENTS_S``) until it has closed
        its client and recorded its last op: the caller closes the history after this."""
        self._close_timeout = INTERRUPT_CLOSE_S
        for ev in (self._stop, self._producers_done, self._drained):
            ev.set()
        deadline = time.monotonic() + STOP_CLIENTS_S
        for t in threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in threads if t.is_alive()]
        if alive:
            log.info(f"client threads still closing after {STOP_CLIENTS_S:.0f} s: {alive}")

    def _run_started(self, nemesis, schedule: list[FaultSpec], t0: float, threads: list, consumers: list,
                     side: list) -> dict:
        s = self.spec
        end = t0 + max(s.duration_s, max((f.start + f.duration for f in schedule), default=0) + 5)
        while time.monotonic() < end and not self._stop.is_set():
            time.sleep(0.2)
        for t in side:
            t.join(timeout=s.during_timeout_s)
        self._stop.set()
        for t in threads:
            t.join(timeout=90)
        self._producers_done.set()
        if nemesis is not None:
            nemesis.heal_all()
        log.info("heal done; waiting for a healthy cluster and a quiet period")
        self._wait_healthy(timeout=180)
        time.sleep(s.quiet_s)
        if consumers:
            self._drain_consumers(timeout=30)
        self._drained.set()
        for t in consumers:
            t.join(timeout=60)
        read = self._final_read()
        log.info(f"final read: {records_read(read) if 'value' in read else '?'} records")
        for e in self.errors:
            observe.harness_error(self.history, e)
        if self.errors:
            log.warning(f"workload errors: {self.errors[:3]}")
        return {"seconds": round(time.monotonic() - t0, 2), "errors": self.errors}

    def _wait_healthy(self, timeout: float) -> None:
        """Every broker back and no partition under-replicated, as a ``cluster-health`` op."""
        self.history.invoke(observe.PROCESS, "cluster-health", {})
        t0 = time.monotonic()
        try:
            wait_healthy(self.platform, timeout=timeout)
        except Exception as exc:
            self.history.fail(observe.PROCESS, "cluster-health",
                              {"waited_s": round(time.monotonic() - t0, 2), "error": f"{type(exc).__name__}: {exc}"})
            self.errors.append(f"cluster not healthy after heal: {exc}")
            return
        self.history.ok(observe.PROCESS, "cluster-health", {"waited_s": round(time.monotonic() - t0, 2)})

    def _final_read(self, attempts: int = 3) -> dict:
        """Read every partition to its end; read again if the end offsets moved meanwhile.

        Right after a leader change the new leader's high watermark can lag its log for a
        moment, so one read can stop short of acknowledged records; the checkers use the
        last final read of a topic. Each broker is asked for the end offsets on its own, and
        the read goes through the one that sees the most: stateless brokers over shared
        storage (Tansu) each answer from their own view of the log, and a stale view must not
        pass for lost writes. Views that disagree are recorded (``end-offsets`` op)."""
        read = {}
        for _ in range(attempts):
            via, _ = self._freshest_broker()
            read = final_read(via, self.topic, self.history, isolation="read_uncommitted", timeout=120,
                              page_records=self.spec.final_read_page_records)
            time.sleep(2.0)
            _, ends = self._freshest_broker()
            seen = {int(p): o for p, o in read.get("value", {}).get("end_offsets", {}).items()}
            if all(o <= seen.get(p, -1) for p, o in ends.items()):
                return read
            log.info(f"end offsets moved during the final read ({seen} -> {ends}); reading again")
        return read

    def _freshest_broker(self) -> tuple[str, dict[int, int]]:
        """The broker address whose end offsets of the topic are highest, with those offsets
        (all addresses and the cluster's view, if no broker answers on its own)."""
        views: dict[str, dict[int, int]] = {}
        for addr in self.platform.broker_addresses().values():
            try:
                views[addr] = high_watermarks(addr, self.topic)
            except Exception as exc:   # a broker still down after a fault: ask the others
                log.info(f"end offsets via {addr}: {type(exc).__name__}: {exc}")
        if not views:
            return self.platform.bootstrap_servers, high_watermarks(self.platform.bootstrap_servers, self.topic)
        if len({tuple(sorted(v.items())) for v in views.values()}) > 1:
            value = {"topic": self.topic, "views": {a: {str(p): o for p, o in v.items()} for a, v in views.items()}}
            self.history.append({"process": "final-reader", "type": "info", "f": "end-offsets", "value": value})
            log.info(f"brokers disagree on end offsets: {value['views']}")
        best = max(views, key=lambda a: (sum(views[a].values()), a))
        return best, views[best]

    def _drain_consumers(self, timeout: float) -> None:
        """Wait until the group's committed offsets reach the end offsets of every partition (the
        live consumers have read everything), at most ``timeout`` s and at least ``SETTLE_S``
        (stateless brokers over shared storage report a log end that lags what they serve for a
        few seconds: the final read after this must not stop short); a ``drain`` op says how it
        went."""
        t0 = time.monotonic()
        state = {"ends": {}, "committed": {}}

        def behind() -> bool:
            state["ends"] = high_watermarks(self.platform.bootstrap_servers, self.topic)
            state["committed"] = committed_offsets(self.platform.bootstrap_servers, self.topic, self.group)
            return any(state["committed"].get(p, -1) < end for p, end in state["ends"].items())
        retrying = Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(0.5), retry=retry_if_result(bool),
                            retry_error_callback=lambda rs: rs.outcome.result())
        try:
            done = not retrying(behind)
        except Exception as exc:   # the brokers cannot be asked: the final read still decides
            done, state["error"] = False, f"{type(exc).__name__}: {exc}"
        time.sleep(max(0.0, SETTLE_S - (time.monotonic() - t0)))
        value = {"what": "consumers", "waited_s": round(time.monotonic() - t0, 2), "done": done,
                 "detail": f"committed {state['committed']} of end offsets {state['ends']}"
                 + (f"; {state['error']}" if "error" in state else "")}
        (self.history.ok if done else self.history.fail)(observe.PROCESS, "drain", value)


def high_watermarks(bootstrap: str, topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer(client_config(bootstrap, **{"group.id": "harness-watermarks"}))
    try:
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
    finally:
        c.close()


def committed_offsets(bootstrap: str, topic: str, group: str) -> dict[int, int]:
    """The group's committed offset per partition of ``topic`` (-1: none), without joining it."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer(client_config(bootstrap, **{"group.id": group, "enable.auto.commit": False}))
    try:
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        got = c.committed([TopicPartition(topic, p) for p in parts], timeout=10)
        return {tp.partition: tp.offset for tp in got}
    finally:
        c.close()
