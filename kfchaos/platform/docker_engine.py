"""Makes sure a Docker daemon answers: installs Debian's docker.io and starts dockerd if needed."""
from __future__ import annotations

import logging
import os
import shutil
import subprocess

import docker
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

log = logging.getLogger("chaos.platform")


class DockerUnavailable(RuntimeError):
    pass


def _answers() -> bool:
    try:
        docker.from_env(timeout=5).ping()
        return True
    except Exception:
        return False


def ensure_docker(install: bool = True, timeout: float = 60.0) -> None:
    """Return when the daemon answers; otherwise install/start it, or raise one clear line."""
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    if _answers():
        return
    if os.environ.get("DOCKER_HOST"):
        raise DockerUnavailable(f"the Docker daemon at DOCKER_HOST={os.environ['DOCKER_HOST']} does not answer: "
                                "start it or unset DOCKER_HOST")
    if not shutil.which("dockerd"):
        if not install or os.geteuid() != 0:
            raise DockerUnavailable("no Docker daemon answers and dockerd is not installed: "
                                    "run `apt-get install -y docker.io` as root (or install Docker), then retry")
        log.info("[docker] installing docker.io from Debian ...")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "docker.io"]):
            if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
                raise DockerUnavailable(f"`{' '.join(cmd)}` failed: check that Debian's package mirror is "
                                        "reachable, or install Docker by hand")
    if os.geteuid() != 0:
        raise DockerUnavailable("no Docker daemon answers: start it (`sudo dockerd &` or your service manager)")
    log.info("[docker] starting dockerd in the background ...")
    with open("/var/log/chaos-dockerd.log", "ab") as out:
        subprocess.Popen(["dockerd"], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    retrying = Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(0.5), retry=retry_if_result(lambda ok: not ok))
    try:
        retrying(_answers)
    except RetryError:
        raise DockerUnavailable(f"dockerd did not answer within {timeout:.0f}s: "
                                "see /var/log/chaos-dockerd.log") from None


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        ensure_docker()
        print("docker: ready")
    except DockerUnavailable as exc:
        raise SystemExit(f"error: {exc}")
