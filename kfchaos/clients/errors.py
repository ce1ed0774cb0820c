"""Classification of Kafka client errors into history outcomes.

Contract
--------
A completion is ``fail`` only when the error proves the operation did *not*
take effect; anything that might have taken effect is ``info`` (unknown).

* produce / delivery reports (:func:`classify_produce`): ``fail`` for errors
  raised before the record could reach a broker or rejected by validation
  (local queue full, unknown topic/partition, invalid argument, record too
  large, invalid record, authorization) unless flagged fatal; ``info`` for
  everything else -- message timeouts, request timeouts, transport errors,
  purges (a purged queued message may be a retry of a written batch), fatal
  idempotence errors and other retriable errors.
* offset commits (:func:`classify_commit`): ``fail`` for rejections by the
  group coordinator (rebalance in progress, illegal generation, unknown or
  fenced member, nothing to commit, authorization, too-large metadata);
  ``info`` otherwise (timeouts, coordinator moves, transport).

Both accept a ``confluent_kafka.KafkaError``, a ``KafkaException`` wrapping
one, or a bare error code.
"""
from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, KafkaException

__all__ = ["classify_produce", "classify_commit", "error_str", "error_code",
           "PRODUCE_DEFINITE", "COMMIT_DEFINITE"]

K = KafkaError
PRODUCE_DEFINITE = frozenset({
    K._QUEUE_FULL, K._UNKNOWN_TOPIC, K._UNKNOWN_PARTITION,
    K._INVALID_ARG, K.MSG_SIZE_TOO_LARGE, K.RECORD_LIST_TOO_LARGE, K.INVALID_RECORD,
    K.INVALID_REQUIRED_ACKS, K.TOPIC_AUTHORIZATION_FAILED,
    K.CLUSTER_AUTHORIZATION_FAILED, K.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
})
COMMIT_DEFINITE = frozenset({
    K.REBALANCE_IN_PROGRESS, K.ILLEGAL_GENERATION, K.UNKNOWN_MEMBER_ID,
    K.FENCED_INSTANCE_ID, K._NO_OFFSET, K.OFFSET_METADATA_TOO_LARGE,
    K.GROUP_AUTHORIZATION_FAILED, K.TOPIC_AUTHORIZATION_FAILED,
    K.INVALID_COMMIT_OFFSET_SIZE, K._ASSIGNMENT_LOST, K._INVALID_ARG,
})


def _err(e: Any) -> KafkaError | int:
    if isinstance(e, KafkaException) and e.args:
        return e.args[0]
    return e


def error_code(e: Any) -> int | None:
    e = _err(e)
    if isinstance(e, KafkaError):
        return e.code()
    return e if isinstance(e, int) else None


def error_str(e: Any) -> str:
    e = _err(e)
    if isinstance(e, KafkaError):
        return f"{e.name()}: {e.str()}"
    return str(e)


def classify_produce(e: Any) -> str:
    """'fail' (definitely not written) or 'info' (maybe written)."""
    e = _err(e)
    if isinstance(e, KafkaError) and e.fatal():
        return "info"
    return "fail" if error_code(e) in PRODUCE_DEFINITE else "info"


def classify_commit(e: Any) -> str:
    """'fail' (commit rejected) or 'info' (may have been committed)."""
    return "fail" if error_code(_err(e)) in COMMIT_DEFINITE else "info"
