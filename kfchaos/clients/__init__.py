"""Recording Kafka clients (confluent-kafka) that append to a History.

Contract
--------
Every client records the operation vocabulary of :mod:`kfchaos.history`:
``send`` (RecordingProducer), ``txn`` (TransactionalProducer), ``poll``,
``commit``, ``assign``, ``revoke`` (RecordingConsumer) and ``final-read``
(:func:`final_read`).  Clients take a bootstrap string such as
``"127.0.0.1:39092"`` and a history (anything with ``invoke/ok/fail/info/
append``), follow open / invoke / close, and never raise for an operation
whose outcome they can record instead.
"""
from .codec import decode_value, encode_value, offsets_from_json, offsets_to_json, record_of
from .consumer import RecordingConsumer
from .errors import classify_commit, classify_produce, error_str
from .final_read import final_read, records_read
from .producer import RecordingProducer
from .transactional import TransactionalProducer

__all__ = ["RecordingProducer", "TransactionalProducer", "RecordingConsumer", "final_read", "records_read",
           "encode_value", "decode_value", "record_of", "offsets_to_json",
           "offsets_from_json", "classify_produce", "classify_commit", "error_str"]
