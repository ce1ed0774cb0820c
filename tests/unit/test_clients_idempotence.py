"""Idempotent-producer events from librdkafka's eos debug lines, and how the
checkers attach them to the writes they may have duplicated.

The log lines are librdkafka 2.16's formats (src/rdkafka_idempotence.c,
src/rdkafka_request.c) as confluent-kafka hands them to a logger."""
import logging

from kfchaos.checkers import duplicate, lost, ordering
from kfchaos.checkers.synth import Builder
from kfchaos.clients import idempotence
from kfchaos.history import History

BUMP = ("[thrd:main]: Beginning partition drain in state Assigned for PID{Id:7001,Epoch:0} "
        "epoch bump for 1 partition(s) with in-flight requests: skipped sequence numbers")
RESET = ("[thrd:main]: Beginning partition drain for PID{Invalid} reset for 2 partition(s) "
         "with in-flight requests: unknown producer id")
BUMPED = "[thrd:main]: All partitions drained, bumped epoch to PID{Id:7001,Epoch:1}"
ERRSEQ = ("[thrd:kafka-b:9102/2]: ProduceRequest for orders-in [0] with 3 message(s) failed "
          "due to skipped sequence numbers (PID{Id:7001,Epoch:0}, base seq 2703 > next seq "
          "2701) caused by previous failed request (NOT_LEADER_OR_FOLLOWER, actions Refresh,"
          "MsgNotPersisted, base seq 2701..2702, base msgid 4630, 2ms ago): recovering and "
          "retrying")


def test_pid_assignment_and_replacement_are_parsed():
    assert idempotence.parse_line("GETPID", "Acquired PID{Id:0,Epoch:0}") == \
        {"event": "pid-assigned", "pid": 0, "epoch": 0}
    ev = idempotence.parse_line(
        "GETPID", "Acquired PID{Id:12,Epoch:0} (previous PID{Id:7,Epoch:32767})")
    assert ev == {"event": "pid-assigned", "pid": 12, "epoch": 0,
                  "previous": {"pid": 7, "epoch": 32767}}
    assert idempotence.parse_line("GETPID", "127.0.0.1:9092/1: Acquiring ProducerId") is None


def test_epoch_bump_lines_are_parsed():
    strip = idempotence._strip_thread
    assert idempotence.parse_line("DRAIN", strip(BUMP)) == {
        "event": "epoch-bump", "reason": "skipped sequence numbers", "pid": 7001, "epoch": 0}
    assert idempotence.parse_line("DRAIN", strip(RESET)) == {
        "event": "pid-reset", "reason": "unknown producer id"}
    assert idempotence.parse_line("DRAIN", strip(BUMPED)) == \
        {"event": "epoch-bumped", "pid": 7001, "epoch": 1}
    ev = idempotence.parse_line("ERRSEQ", strip(ERRSEQ))
    assert ev["event"] == "skipped-sequence" and ev["topic"] == "orders-in" \
        and ev["partition"] == 0 and ev["detail"].startswith("ProduceRequest for orders-in")
    # a drain for a leader change is not an epoch bump
    assert idempotence.parse_line(
        "DRAIN", "t [0] beginning partition drain: wait for outstanding requests") is None
    assert idempotence.parse_line(
        "IDEMPSTATE", "Idempotent producer state change Assigned -> FatalError")["event"] \
        == "fatal"


def test_install_adds_eos_and_keeps_the_callers_level_and_contexts():
    conf = idempotence.install({"bootstrap.servers": "x", "log_level": 0}, History(), "p")
    assert conf["debug"] == "eos" and conf["log_level"] == 7
    assert isinstance(conf["logger"], idempotence.IdempotenceLog)
    conf = idempotence.install({"debug": "msg,eos"}, History(), "p")
    assert conf["debug"] == "msg,eos"


class _Sink(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[int, str]] = []

    def emit(self, record):
        self.lines.append((record.levelno, record.getMessage()))


def _logger(name):
    lg = logging.getLogger(name)
    lg.setLevel(logging.DEBUG)
    lg.propagate = False
    sink = _Sink()
    lg.handlers[:] = [sink]
    return lg, sink


def test_log_records_events_and_forwards_only_what_the_caller_asked_for():
    lg, sink = _logger("test.idempotence.quiet")
    h = History()
    conf = idempotence.install({"logger": lg, "log_level": 4}, h, "producer-1")
    log = conf["logger"]
    fmt = "%s [%s] %s"
    log.log(logging.DEBUG, fmt, "DRAIN", "rdkafka#producer-1", BUMP)
    log.log(logging.DEBUG, fmt, "DRAIN", "rdkafka#producer-1", BUMPED)
    log.log(logging.DEBUG, fmt, "IDEMPSTATE", "rdkafka#producer-1",
            "[thrd:main]: Idempotent producer state change WaitPID -> Assigned")
    log.log(logging.INFO, fmt, "CONFWARN", "rdkafka#producer-1", "[thrd:app]: info line")
    log.log(logging.WARNING, fmt, "GETPID", "rdkafka#producer-1", "[thrd:main]: x: retrying")
    evs = [o for o in h.ops if o["f"] == "client-event"]
    assert [(o["process"], o["type"], o["value"]["event"]) for o in evs] == \
        [("producer-1", "info", "epoch-bump"), ("producer-1", "info", "epoch-bumped")]
    # log_level 4 (warning): the debug lines asked for only by the harness and the
    # info line stay out of the caller's logger
    assert sink.lines == [(logging.WARNING, "GETPID [rdkafka#producer-1] [thrd:main]: x: retrying")]
    assert log.events == 2


def test_log_after_the_history_closed_is_dropped():
    h = History()
    log = idempotence.install({}, h, "p")["logger"]
    h.close()
    log.log(logging.DEBUG, "%s [%s] %s", "DRAIN", "n", BUMPED)   # no exception
    assert log.events == 0


def _duplicated_write(with_bump: bool) -> Builder:
    """producer-1's write "a" lands at offset 0, is retried and lands again at 2."""
    b = Builder()
    b.op("producer-1", "invoke", "send", {"topic": "t", "key": "k", "id": "a", "seq": 0})
    b.op("producer-1", "info", "client-event", {"event": "pid-assigned", "pid": 7001, "epoch": 0})
    if with_bump:
        b.op("producer-1", "info", "client-event",
             {"event": "epoch-bump", "reason": "skipped sequence numbers", "pid": 7001, "epoch": 0})
        b.op("producer-1", "info", "client-event", {"event": "epoch-bumped", "pid": 7001, "epoch": 1})
    b.op("producer-1", "ok", "send",
         {"topic": "t", "key": "k", "id": "a", "seq": 0, "partition": 0, "offset": 2})
    b.send("b", o=1, process="producer-0")
    b.op("producer-1", "info", "client-event", {"event": "epoch-bumped", "pid": 7001, "epoch": 2})
    b.final([(0, 0, "a"), (0, 1, "b"), (0, 2, "a")])
    return b


def test_duplicate_example_names_the_epoch_bump_during_the_write():
    v = duplicate.check(_duplicated_write(True).ops)
    assert v.valid == "invalid" and v.counts() == {"duplicate": 1}
    ex = v.anomalies["duplicate"].examples[0]
    assert [e["event"] for e in ex["client_events"]] == ["epoch-bump", "epoch-bumped"]
    assert ex["client_events"][1]["epoch"] == 1          # the bump after the ack is not in it
    assert "librdkafka issue #4953" in ex["likely_cause"]


def test_duplicate_without_an_epoch_bump_carries_no_client_events():
    v = duplicate.check(_duplicated_write(False).ops)
    ex = v.anomalies["duplicate"].examples[0]
    assert v.counts() == {"duplicate": 1}
    assert "client_events" not in ex and "likely_cause" not in ex


def test_client_events_do_not_change_any_verdict_of_a_valid_history():
    b = Builder()
    b.op("producer-0", "info", "client-event", {"event": "pid-assigned", "pid": 1, "epoch": 0})
    b.send("a", o=0).send("b", o=1)
    b.op("producer-0", "info", "client-event", {"event": "epoch-bumped", "pid": 1, "epoch": 1})
    b.poll([(0, 0, "a"), (0, 1, "b")])
    b.final([(0, 0, "a"), (0, 1, "b")])
    for check in (duplicate.check, lost.check, ordering.check):
        assert check(b.ops).valid == "valid"


def test_epoch_bumps_are_counted_and_become_a_figure():
    from kfchaos.contracts import verdict_figures as figures
    with_bump = duplicate.check(_duplicated_write(True).ops)
    assert with_bump.stats["producer-epoch-bumps"] == 2          # to epoch 1, then to 2
    assert figures({"duplicate": with_bump})["producer_epoch_bumps"] == 2
    b = Builder()                     # three requests start one drain; a new id replaces one
    for _ in range(3):
        b.op("producer-0", "info", "client-event", {"event": "epoch-bump", "reason": "x"})
    b.op("producer-0", "info", "client-event", {"event": "epoch-bumped", "pid": 1, "epoch": 1})
    b.op("producer-0", "info", "client-event",
         {"event": "pid-assigned", "pid": 4, "epoch": 0, "previous": {"pid": 1, "epoch": 1}})
    assert duplicate.check(b.ops).stats["producer-epoch-bumps"] == 2
    b = Builder()
    b.send("a", o=0)
    b.final([(0, 0, "a")])
    unrecorded = duplicate.check(b.ops)                          # a run from before
    assert unrecorded.stats["producer-epoch-bumps"] is None
    assert figures({"duplicate": unrecorded})["producer_epoch_bumps"] is None
