"""Which image runs each role, and how each kind of image is started.

Local images (chaos-harness/*) are built by ``kfchaos.images.build``. A role can be
pointed at a public image by configuration (``images: {kafka: apache/kafka:4.1.1}``);
what such an image must provide is in the README ("Choosing public images").
"""
from __future__ import annotations

from kfchaos.images import versions
from kfchaos.images.build import build_all
from kfchaos.images.cache import IMAGE_REPO
from kfchaos.platform import flavors

ROLES = ("kafka", "flink", "minio", "toxiproxy")
BROKER_ROLES = flavors.broker_image_roles()   # one of them replaces kafka, per platform kind
NOT_BUILT = flavors.public_only_roles()        # public image only, never built here

PUBLIC_DEFAULTS = versions.PUBLIC_DEFAULTS


def resolve_images(overrides: dict[str, str], roles: tuple[str, ...] = ROLES,
                   versions: dict[str, str] | None = None) -> dict[str, str]:
    """role -> image for ``roles``: overrides as given (``public`` means the public default), the
    rest built here for ``versions`` (roles in NOT_BUILT get their public default)."""
    unknown = set(overrides) - set(ROLES) - set(BROKER_ROLES)
    if unknown:
        raise ValueError(f"images: unknown role(s) {sorted(unknown)}; roles are {list(ROLES + BROKER_ROLES)}")
    chosen = {r: (PUBLIC_DEFAULTS[r] if img == "public" else img) for r, img in overrides.items() if img}
    chosen.update({r: PUBLIC_DEFAULTS[r] for r in roles if r in NOT_BUILT and r not in chosen})
    to_build = tuple(r for r in roles if r not in chosen)
    built = build_all(to_build, versions) if to_build else {}
    return {r: chosen.get(r) or built[r] for r in roles}


def is_local(image: str) -> bool:
    return image.startswith(IMAGE_REPO + "/")


def minio_command(image: str) -> list[str]:
    args = ["server", "/data", "--address", ":9000", "--console-address", ":9001"]
    return ["minio", *args] if is_local(image) else args


def zookeeper_command(image: str) -> list[str] | None:
    """A standalone ZooKeeper server on 2181 with its data in /data (public images: their own)."""
    if not is_local(image):
        return None
    return ["java", "-Xmx256m", "-Dzookeeper.admin.enableServer=false", "-Dzookeeper.4lw.commands.whitelist=ruok,srvr",
            "-cp", "/opt/zookeeper/libs/*", "org.apache.zookeeper.server.ZooKeeperServerMain", "2181", "/data"]


def toxiproxy_command(image: str) -> list[str]:
    args = ["-host=0.0.0.0", "-port=8474"]
    return ["toxiproxy-server", *args] if is_local(image) else args
