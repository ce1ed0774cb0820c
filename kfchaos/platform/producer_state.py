"""The producers of each partition of a topic and their open transactions, as Kafka's own
``kafka-transactions.sh describe-producers`` reports them, recorded as one
``open-transactions`` op.

Why: a transaction left open on a partition holds its last stable offset, so a
``read_committed`` reader of that partition sees nothing past the transaction's first
offset. A missing-output verdict of the exactly-once checker cites such a transaction
(:func:`kfchaos.checkers.exactly_once.open_transactions`) as a possible explanation.

The op (process ``harness``)::

    ok   {"topic": str, "partitions": [{"partition": int, "producers": [
             {"producer_id": int, "epoch": int|null, "last_sequence": int|null,
              "last_timestamp": int|null, "coordinator_epoch": int|null,
              "txn_start_offset": int|null}, ...]}, ...]}
    info the same, where a partition the tool could not describe has
         ``"producers": null`` and ``"error"``; or ``{"topic", "unavailable": reason}``
         when the target cannot run the tool at all (no broker container to run it in:
         Kubernetes; a kind without transactions or without Kafka's tools)

``txn_start_offset`` is the first offset of the producer's open transaction, null when it
has none. The tool runs in a broker container against the REPLICATION listener
(:func:`kfchaos.platform.reassign.bootstrap`) on the built-in platform, against the
target's ``tools_bootstrap_servers`` on an external one.
"""
from __future__ import annotations

import logging

F = "open-transactions"
TOOL = "transactions"
PROCESS = "harness"
log = logging.getLogger("chaos.platform")

# the tool's columns -> the op's fields
_COLUMNS = {"ProducerId": "producer_id", "ProducerEpoch": "epoch", "LatestCoordinatorEpoch": "coordinator_epoch",
            "LastSequence": "last_sequence", "LastTimestamp": "last_timestamp",
            "CurrentTransactionStartOffset": "txn_start_offset"}


def _int_or_none(text: str) -> int | None:
    """An integer column; ``None``/``-1`` (no open transaction, no sequence) is null."""
    try:
        n = int(text)
    except ValueError:
        return None
    return None if n < 0 else n


def parse_describe_producers(text: str) -> list[dict]:
    """The producers of the tool's table (a header line starting with ``ProducerId``, then one
    line per producer; log lines before the header are skipped). ValueError if there is no
    header: the tool did not answer with a table."""
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    head = next((i for i, cols in enumerate(lines) if cols and cols[0] == "ProducerId"), None)
    if head is None:
        raise ValueError(f"no producer table in the tool's output: {text.strip()[-300:]!r}")
    names = [_COLUMNS.get(c) for c in lines[head]]
    producers = []
    for cols in lines[head + 1:]:
        if len(cols) != len(names) or not cols[0].lstrip("-").isdigit():
            continue
        row = {name: _int_or_none(c) for name, c in zip(names, cols) if name is not None}
        row["producer_id"] = int(cols[0])
        producers.append(row)
    return producers


def tool_target(platform) -> tuple[str | None, str | None, str | None]:
    """(bootstrap, zone, None) where the transactions tool can run on ``platform``, or
    (None, None, reason) when it cannot."""
    flavor = getattr(platform, "flavor", None)
    reason = flavor.missing("transactions", "admin-tools") if flavor is not None else None
    if reason:
        return None, None, reason
    if not callable(getattr(platform, "run_tool", None)):
        return None, None, f"{type(platform).__name__} targets run no Kafka tool in a broker container"
    target = getattr(platform, "target", None)
    if target is not None and getattr(target, "kafka", None) is not None:
        return target.kafka.tools_bootstrap, None, None
    cfg, zones = getattr(platform, "cfg", None), list(getattr(platform, "zones", []) or [])
    if cfg is None or not zones or not hasattr(cfg, "replication_port"):
        return None, None, "no REPLICATION listener to run Kafka's transactions tool against"
    brokers = getattr(platform, "brokers", {}) or {}
    zone = next((z for z in zones if z in brokers and brokers[z].running()), zones[0])
    from kfchaos.platform.reassign import bootstrap
    return bootstrap(platform, zone), zone, None


def describe_partition(platform, bootstrap: str, zone: str | None, topic: str, partition: int) -> dict:
    """``{"partition", "producers"}`` of one partition, or ``{"partition", "producers": None,
    "error"}`` when the tool failed."""
    args = ["--bootstrap-server", bootstrap, "describe-producers", "--topic", topic, "--partition", str(partition)]
    try:
        code, out = platform.run_tool(TOOL, args, zone=zone)
        if code != 0:
            raise RuntimeError(f"exit {code}: {out.strip()[-300:]}")
        return {"partition": partition, "producers": parse_describe_producers(out)}
    except Exception as exc:       # a broker down, a tool error: this partition is unknown
        return {"partition": partition, "producers": None, "error": f"{type(exc).__name__}: {exc}"}


def record_open_transactions(history, platform, topic: str, partitions: list[int] | None,
                             unknown: str | None = None) -> dict:
    """Describe the producers of every partition of ``topic`` and record the ``open-transactions``
    op (ok when every partition answered, else info); returns the op. ``partitions`` None: the
    op is unknown because of ``unknown``. Never raises for the platform's sake (an explanation
    must not end a scenario)."""
    bootstrap, zone, reason = tool_target(platform) if partitions is not None else (None, None, unknown)
    if reason is not None:
        log.info(f"open transactions of {topic}: unknown: {reason}")
        return history.info(PROCESS, F, {"topic": topic, "unavailable": reason})
    parts = [describe_partition(platform, bootstrap, zone, topic, p) for p in sorted(partitions)]
    open_ = [(s["partition"], p["producer_id"]) for s in parts for p in s["producers"] or ()
             if p.get("txn_start_offset") is not None]
    if open_:
        log.info(f"open transactions on {topic} (partition, producer id): {open_}")
    complete = all(s["producers"] is not None for s in parts)
    return (history.ok if complete else history.info)(PROCESS, F, {"topic": topic, "partitions": parts})
