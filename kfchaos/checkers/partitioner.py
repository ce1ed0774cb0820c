"""Kafka's default partitioner for keyed records: which partition a key goes to.

Contract: :func:`partition_for_key` is what the Java producer's built-in partitioner gives a
record with a key and no explicit partition -- the 32-bit murmur2 hash of the key's bytes
(seed ``0x9747b28c``), made non-negative by clearing the sign bit, modulo the number of
partitions. The reference Flink job writes its output with the input's key and no
partitioner of its own, so this names the output partition a missing record would be on.
The unit tests check the hash against the reference values Kafka's own tests use.

Written here rather than imported: the project's client (confluent-kafka) hashes inside
librdkafka and exposes no function for it, and the one maintained Python implementation
sits inside kafka-python, a second whole Kafka client, for twenty lines.
"""
from __future__ import annotations

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2`` of ``data``: a signed 32-bit integer."""
    n = len(data)
    h = (0x9747B28C ^ n) & _MASK
    whole = n - n % 4
    for i in range(0, whole, 4):
        k = (int.from_bytes(data[i:i + 4], "little") * _M) & _MASK
        k = ((k ^ (k >> 24)) * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = data[whole:]
    for shift in range(len(tail) - 1, -1, -1):      # the 1 to 3 bytes left, last first
        h ^= tail[shift] << (8 * shift)
    if tail:
        h = (h * _M) & _MASK
    h = ((h ^ (h >> 13)) * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h >= 1 << 31 else h


def partition_for_key(key: str | bytes, partitions: int) -> int:
    """The partition of ``partitions`` the default partitioner gives ``key`` (a str is UTF-8)."""
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    return (murmur2(raw) & 0x7FFFFFFF) % partitions
