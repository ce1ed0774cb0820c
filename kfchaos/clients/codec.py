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
* Record size (``workload.record_bytes``): :func:`padded_encoder` pads the
  JSON value with a ``"pad"`` string of ``x`` so that the value is exactly
  the requested number of bytes (a value already that long or longer is sent
  as it is).  :func:`decode_value` never records the padding itself: a dict
  value's ``"pad"`` string becomes ``"size": <bytes of the whole value>``, so
  histories stay small and checkers see the same fields as without padding.
"""
from __future__ import annotations

import json
from typing import Any

from kfchaos.history import loads

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency
    _orjson = None

__all__ = ["make_id", "encode_value", "decode_value", "decode_key", "record_of",
           "offsets_to_json", "offsets_from_json", "harness_value", "padded_encoder", "PAD_FIELD"]

PAD_FIELD = "pad"
_PAD_OVERHEAD = len(',"pad":""')


def make_id(prefix: str, n: int) -> str:
    return f"{prefix}-{n}"


def harness_value(rid: str, key: str, seq: int, producer: str) -> dict:
    return {"id": rid, "key": key, "seq": seq, "producer": producer}


def encode_value(rid: str, key: str, seq: int, producer: str) -> bytes:
    value = {"id": rid, "key": key, "seq": seq, "producer": producer}
    if _orjson is not None and seq.__class__ is int and -(1 << 63) <= seq < (1 << 63):
        raw = _orjson.dumps(value)
        if raw.isascii():           # the standard library's bytes exactly (it escapes non-ASCII)
            return raw
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def padded_encoder(record_bytes: int | None):
    """The value encoder for values of ``record_bytes`` bytes (None or 0: :func:`encode_value`,
    unpadded).  The harness's fields come first and are unchanged; a ``"pad"`` field fills the
    rest, so the value is still one JSON object the checkers and the reference job read."""
    if not record_bytes:
        return encode_value
    size = int(record_bytes)
    fill = b"x" * size

    def encode(rid: str, key: str, seq: int, producer: str) -> bytes:
        raw = encode_value(rid, key, seq, producer)
        n = size - len(raw) - _PAD_OVERHEAD
        if n < 0:
            return raw
        return b"".join((raw[:-1], b',"pad":"', fill[:n], b'"}'))
    return encode


def decode_key(raw: bytes | str | None) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "hex:" + raw.hex()


_PAD_MARK = b',"pad":"'
_XS = b"x" * (1 << 20)       # padding is compared with this (memcmp), not counted


def _unpadded(raw: bytes) -> dict | None:
    """The harness value of a padded message without its padding (``"size"`` instead), or
    None when ``raw`` is not one (the general path decodes it)."""
    i = raw.find(_PAD_MARK)
    start, end = i + len(_PAD_MARK), len(raw) - 2
    if i < 0 or raw[end:] != b'"}' or raw[start:end] != _XS[:end - start]:
        return None
    try:
        val = loads(raw[:i] + b"}")
    except ValueError:
        return None
    if not isinstance(val, dict) or PAD_FIELD in val:
        return None
    val["size"] = len(raw)
    return val


def decode_value(raw: bytes | str | None) -> dict | str | None:
    if raw is None:
        return None
    if raw.__class__ is bytes and raw[-2:] == b'"}':
        val = _unpadded(raw)
        if val is not None:
            return val
    if isinstance(raw, (bytes, bytearray)):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return "hex:" + bytes(raw).hex()
    else:
        text = raw
    if text[:1] == "{":
        try:
            val = loads(text)
        except ValueError:
            return text
        if isinstance(val, dict):
            if isinstance(val.get(PAD_FIELD), str):
                del val[PAD_FIELD]
                val["size"] = len(raw.encode("utf-8") if isinstance(raw, str) else raw)
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
