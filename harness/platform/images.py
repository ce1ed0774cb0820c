"""Which image runs each role, and how each kind of image is started.

Local images (chaos-harness/*) are built by ``harness.images.build``. A role can be
pointed at a public image by configuration (``images: {kafka: apache/kafka:4.1.1}``);
what such an image must provide is in the README ("Choosing public images").
"""
from __future__ import annotations

from harness.images.build import build_all
from harness.images.cache import IMAGE_REPO

ROLES = ("kafka", "flink", "minio", "toxiproxy")

PUBLIC_DEFAULTS = {
    "kafka": "apache/kafka:4.1.1",
    "flink": "flink:2.2.0-java17",
    "minio": "minio/minio:latest",
    "toxiproxy": "ghcr.io/shopify/toxiproxy:2.12.0",
}


def resolve_images(overrides: dict[str, str]) -> dict[str, str]:
    """role -> image: overrides as given (``public`` means the public default), the rest built here."""
    unknown = set(overrides) - set(ROLES)
    if unknown:
        raise ValueError(f"images: unknown role(s) {sorted(unknown)}; roles are {list(ROLES)}")
    chosen = {r: (PUBLIC_DEFAULTS[r] if img == "public" else img) for r, img in overrides.items() if img}
    to_build = tuple(r for r in ROLES if r not in chosen)
    built = build_all(to_build) if to_build else {}
    return {r: chosen.get(r) or built[r] for r in ROLES}


def is_local(image: str) -> bool:
    return image.startswith(IMAGE_REPO + "/")


def minio_command(image: str) -> list[str]:
    args = ["server", "/data", "--address", ":9000", "--console-address", ":9001"]
    return ["minio", *args] if is_local(image) else args


def toxiproxy_command(image: str) -> list[str]:
    args = ["-host=0.0.0.0", "-port=8474"]
    return ["toxiproxy-server", *args] if is_local(image) else args
