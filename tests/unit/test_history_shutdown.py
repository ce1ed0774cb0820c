"""Closing a history while client threads still write: the ordering (an interrupted workload
stops and waits for its clients before it returns) and what a write after close does (counted,
not recorded, never raised; the first one logged at debug)."""
from __future__ import annotations

import _thread
import logging
import threading
import time

import pytest

from kfchaos.history import History, load
from kfchaos.workload import Workload, WorkloadSpec


def test_threads_writing_across_close_raise_nothing_and_are_counted(tmp_path):
    path = tmp_path / "history.jsonl"
    h = History(path, flush_interval=0.05)
    stop, errors, tries = threading.Event(), [], [0] * 4

    def writer(i: int) -> None:
        try:
            while not stop.is_set():
                h.invoke(f"producer-{i}", "send", {"id": f"p{i}-{tries[i]}", "seq": tries[i]})
                tries[i] += 1
        except BaseException as exc:      # what used to print "history is closed" tracebacks
            errors.append(exc)
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    h.close()
    time.sleep(0.1)                        # the writers go on writing after the close
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert errors == []
    ops = load(path)
    assert [o["index"] for o in ops] == list(range(len(ops))) and len(ops) == len(h)
    assert h.late_writes > 0 and len(ops) + h.late_writes == sum(tries)


def test_a_late_write_is_logged_once_at_debug_and_not_recorded(tmp_path, caplog):
    path = tmp_path / "history.jsonl"
    with History(path) as h:
        h.ok("p", "x", 1)
    with caplog.at_level(logging.DEBUG, logger="chaos.history"):
        op = h.ok("consumer-0", "client-bytes", {"bytes": 3})
        h.info("producer-1", "send", {"id": "a"})
    assert op["index"] is None and h.late_writes == 2 and len(h) == 1
    late = [r for r in caplog.records if "was not recorded" in r.getMessage()]
    assert len(late) == 1 and late[0].levelno == logging.DEBUG
    assert "client-bytes" in late[0].getMessage() and "consumer-0" in late[0].getMessage()
    assert [o["value"] for o in load(path)] == [1]


class _Profile:
    """A profile's client settings: none of its own (the workload's defaults apply)."""
    workload = None
    consumer: dict = {}

    def producer_config(self) -> dict:
        return {}


class _ClosedPort:
    """A platform whose brokers are not there: real librdkafka clients only queue."""
    bootstrap_servers = proxied_bootstrap_servers = "127.0.0.1:1"


def test_an_interrupted_workload_closes_its_clients_before_it_returns(tmp_path):
    path = tmp_path / "history.jsonl"
    h = History(path)
    spec = WorkloadSpec(duration_s=60, rate=40, producers=2, consumers=1, keys=4)
    w = Workload(_ClosedPort(), _Profile(), h, "t", spec, group="g")
    timer = threading.Timer(1.5, _thread.interrupt_main)     # Ctrl-C while the load runs
    timer.start()
    t0 = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            w.run()
    finally:
        timer.cancel()
    h.close()                              # what the scenario does next
    time.sleep(0.5)
    assert time.monotonic() - t0 < 30
    assert h.late_writes == 0
    ops = load(path)
    closed = {o["process"] for o in ops if o["f"] == "client-bytes"}
    assert closed == {"producer-0", "producer-1", "consumer-0"}
    sends = [o for o in ops if o["f"] == "send"]
    invoked = {o["value"]["id"] for o in sends if o["type"] == "invoke"}
    completed = {o["value"]["id"] for o in sends if o["type"] != "invoke"}
    assert invoked and invoked == completed      # every unreported send ends as info on close
