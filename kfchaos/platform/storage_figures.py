"""Where a platform keeps its bytes: on broker disks versus in object storage.

``storage_figures(platform)`` sums the disk usage (``du``, allocated blocks: Kafka's
preallocated sparse index files count for what they occupy, not their apparent 10 MiB)
of each running broker's data directories (the flavor's ``data_dirs``) and the sizes of every object in the flavor's buckets. The
figures compare architectures side by side: shared-nothing Kafka keeps everything on
broker disks (times the replication factor), tiered Kafka moves rolled segments to
object storage, Tansu and AutoMQ keep (almost) nothing on broker disks.
"""
from __future__ import annotations

from typing import Any


def broker_disk_bytes(platform) -> dict[str, int]:
    """Bytes under the data directories of each running broker, by zone."""
    out: dict[str, int] = {}
    for zone, node in platform.brokers.items():
        if not node.running():
            continue
        total = 0
        for d in platform.flavor.data_dirs:
            code, text = node.read(["sh", "-c", f"du -s --block-size=1 {d} 2>/dev/null || true"])
            first = text.split()
            if first and first[0].isdigit():
                total += int(first[0])
        out[zone] = total
    return out


def bucket_bytes(s3, bucket: str) -> tuple[int, int]:
    """(object count, total bytes) of one bucket; (0, 0) when it does not exist."""
    count = size = 0
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                count += 1
                size += int(obj["Size"])
    except s3.exceptions.NoSuchBucket:
        return 0, 0
    return count, size


def storage_figures(platform, detail: bool = False) -> dict[str, Any]:
    """``{"bytes_on_broker_disks": int, "bytes_in_object_storage": int}`` (with ``detail``,
    also per broker and per bucket)."""
    disks = broker_disk_bytes(platform)
    s3 = platform.s3_client()
    buckets = {b: bucket_bytes(s3, b) for b in platform.flavor.buckets(platform.cfg)}
    figures: dict[str, Any] = {"bytes_on_broker_disks": sum(disks.values()),
                               "bytes_in_object_storage": sum(size for _, size in buckets.values())}
    if detail:
        figures["brokers"] = disks
        figures["buckets"] = {b: {"objects": n, "bytes": size} for b, (n, size) in buckets.items()}
    return figures
