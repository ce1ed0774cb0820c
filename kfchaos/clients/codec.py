"""Message and op-value encoding shared by the recording clients.

Contract
--------
* A harness message value is UTF-8 JSON ``{"id", "key", "seq", "producer"}``
  (compact separators); its Kafka key is the UTF-8 key string.
* :func:`decode_value` turns message bytes into what histories record:
  ``None`` for a null value, the decoded dict for a JSON object, otherwise
  the text (``"hex:<hex>"`` when the bytes are not UTF-8).
* :func:`record_of` turns a consumed message into the history record dict
  ``{"partition", "offset", "key", "value"}``.
* Offsets maps in op values use *string* partition keys (JSON objects);
  :func:`offsets_to_json` / :func:`offsets_from_json` convert.
* Ids are ``"<prefix>-<n>"``; prefix defaults to the process name, which
  must therefore be unique per client instance within one history.
"""
from __future__ import annotations

import json
from typing import Any

__all__ = ["make_id", "encode_value", "decode_value", "decode_key", "record_of",
           "offsets_to_json", "offsets_from_json", "harness_value"]


def make_id(prefix: str, n: int) -> str:
    return f"{prefix}-{n}"


def harness_value(rid: str, key: str, seq: int, producer: str) -> dict:
    return {"id": rid, "key": key, "seq": seq, "producer": producer}


def encode_value(rid: str, key: str, seq: int, producer: str) -> bytes:
    return json.dumps(harness_value(rid, key, seq, producer),
                      separators=(",", ":")).encode("utf-8")


def decode_key(raw: bytes | str | None) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "hex:" + raw.hex()


def decode_value(raw: bytes | str | None) -> dict | str | None:
    if raw is None:
        return None
    if isinstance(raw, (bytes, bytearray)):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return "hex:" + bytes(raw).hex()
    else:
        text = raw
    if text[:1] == "{":
        try:
            val = json.loads(text)
        except ValueError:
            return text
        if isinstance(val, dict):
            return val
    return text


def record_of(msg: Any) -> dict:
    """History record of a consumed ``confluent_kafka.Message``."""
    return {"partition": msg.partition(), "offset": msg.offset(),
            "key": decode_key(msg.key()), "value": decode_value(msg.value())}


def offsets_to_json(offsets: dict[int, int | None]) -> dict[str, int | None]:
    return {str(int(p)): (None if o is None else int(o)) for p, o in sorted(offsets.items())}


def offsets_from_json(offsets: dict[str, Any] | None) -> dict[int, int | None]:
    return {int(p): (None if o is None else int(o)) for p, o in (offsets or {}).items()}
