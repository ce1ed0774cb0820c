"""Pure parts of the recording clients: value codec and error classification."""
import json

import pytest
from confluent_kafka import KafkaError, KafkaException

from kfchaos.clients import (classify_commit, classify_produce, decode_value, encode_value,
                             error_str, offsets_from_json, offsets_to_json, record_of)
from kfchaos.clients.codec import decode_key, make_id


def test_encode_decode_roundtrip():
    raw = encode_value("p0-1", "k1", 3, "producer-0")
    assert json.loads(raw) == {"id": "p0-1", "key": "k1", "seq": 3, "producer": "producer-0"}
    assert decode_value(raw) == json.loads(raw)
    assert b" " not in raw
    assert make_id("p0", 123) == "p0-123"


@pytest.mark.parametrize("raw,expected", [
    (None, None),
    (b"plain text", "plain text"),
    (b"{not json", "{not json"),
    (b"[1,2]", "[1,2]"),
    (b"\xff\xfe", "hex:fffe"),
    ('{"id":"x"}', {"id": "x"}),
])
def test_decode_value_variants(raw, expected):
    assert decode_value(raw) == expected


def test_decode_key_and_offsets_json():
    assert decode_key(None) is None and decode_key(b"k") == "k" and decode_key(b"\xff") == "hex:ff"
    assert offsets_to_json({2: 5, 0: None}) == {"0": None, "2": 5}
    assert offsets_from_json({"0": 1, "3": None}) == {0: 1, 3: None}
    assert offsets_from_json(json.loads(json.dumps(offsets_to_json({1: 7})))) == {1: 7}


class FakeMsg:
    def partition(self):
        return 2

    def offset(self):
        return 41

    def key(self):
        return b"k3"

    def value(self):
        return encode_value("p1-9", "k3", 0, "producer-1")


def test_record_of_message():
    assert record_of(FakeMsg()) == {"partition": 2, "offset": 41, "key": "k3",
                                    "value": {"id": "p1-9", "key": "k3", "seq": 0,
                                              "producer": "producer-1"}}


@pytest.mark.parametrize("code,expected", [
    (KafkaError._MSG_TIMED_OUT, "info"),
    (KafkaError.REQUEST_TIMED_OUT, "info"),
    (KafkaError._TRANSPORT, "info"),
    (KafkaError.NOT_ENOUGH_REPLICAS, "info"),
    (KafkaError._PURGE_INFLIGHT, "info"),
    (KafkaError._PURGE_QUEUE, "info"),
    (KafkaError._QUEUE_FULL, "fail"),
    (KafkaError.MSG_SIZE_TOO_LARGE, "fail"),
    (KafkaError._UNKNOWN_TOPIC, "fail"),
    (KafkaError.TOPIC_AUTHORIZATION_FAILED, "fail"),
    (KafkaError.INVALID_RECORD, "fail"),
])
def test_classify_produce(code, expected):
    assert classify_produce(KafkaError(code)) == expected
    assert classify_produce(KafkaException(KafkaError(code))) == expected
    assert classify_produce(code) == expected


def test_fatal_and_retriable_produce_errors_are_unknown():
    assert classify_produce(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE, fatal=True)) == "info"
    assert classify_produce(KafkaError(KafkaError._FATAL, fatal=True)) == "info"
    assert classify_produce(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART, retriable=True)) \
        == "info"


@pytest.mark.parametrize("code,expected", [
    (KafkaError.REBALANCE_IN_PROGRESS, "fail"),
    (KafkaError.ILLEGAL_GENERATION, "fail"),
    (KafkaError.UNKNOWN_MEMBER_ID, "fail"),
    (KafkaError._NO_OFFSET, "fail"),
    (KafkaError.REQUEST_TIMED_OUT, "info"),
    (KafkaError._TIMED_OUT, "info"),
    (KafkaError._TRANSPORT, "info"),
])
def test_classify_commit(code, expected):
    assert classify_commit(KafkaError(code, retriable=True)) == expected


def test_error_str():
    s = error_str(KafkaException(KafkaError(KafkaError._MSG_TIMED_OUT)))
    assert s.startswith("_MSG_TIMED_OUT") and "timed out" in s
    assert error_str("x") == "x"
