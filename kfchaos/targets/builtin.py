"""``kfchaos platform up|down``: the built-in container platform on its own, and a target
file for it.

``up`` starts a small keeper process (:mod:`kfchaos.targets.keeper`) in its own session.
The keeper starts ``kfchaos.platform.platform.Platform`` and stays alive, so the run's
containers keep an owner that lives: the command's own exit does not remove them, and
``kfchaos clean`` (which removes runs whose owner died) leaves them alone. If the keeper is
killed, the containers become a dead run that ``kfchaos clean`` removes. ``down`` sends the
keeper SIGTERM; it removes every container and network of its run and exits.

The directory of a platform (``platforms/<run id>/`` unless given) holds ``target.yaml``,
``credentials.env`` (mode 0600: the object store's keys, named by the target file's
``*_env`` fields and never written into it), ``keeper.log`` and ``state.json``.

Least privilege: MinIO's keys are its root keys, random per platform; MinIO listens on
127.0.0.1 only and dies with the platform. A user scoped to the Flink bucket would need
MinIO's signed admin API; with a per-platform MinIO on loopback that would not narrow
who can reach it, so it was not done.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

log = logging.getLogger("chaos.targets")
ACCESS_ENV, SECRET_ENV = "CHAOS_S3_ACCESS_KEY", "CHAOS_S3_SECRET_KEY"
#: the admin principal of a platform with platform.security (SASL_SSL)
USERNAME_ENV, PASSWORD_ENV = "CHAOS_KAFKA_USERNAME", "CHAOS_KAFKA_PASSWORD"


class PlatformUpError(RuntimeError):
    """``platform up``/``down`` failed; one line."""


def platforms_dir() -> Path:
    return Path(os.environ.get("CHAOS_PLATFORMS_DIR", "platforms"))


@dataclass
class Up:
    directory: Path
    run_id: str
    target: Path
    env_file: Path
    keeper_pid: int

    def export_line(self) -> str:
        return f"set -a; . {self.env_file}; set +a"


def target_document(platform) -> dict:
    """The target file of a started built-in Platform (no secret in it)."""
    from kfchaos.platform.config import INTERNAL_PORT, S3_PORT, TOXIPROXY_API_PORT, broker_host
    cfg, zones = platform.cfg, list(platform.zones)

    def docker(node) -> dict:
        return {"type": "docker", "container": node.container_name}
    nodes = [{"name": n.name, "role": "broker+controller", "zone": z, "broker_id": cfg.node_id(z),
              "data_dir": platform.flavor.data_dirs[0], "actuator": docker(platform.brokers[z])}
             for z in zones for n in [platform.brokers[z]]]
    nodes += [{"name": platform.toxiproxies[z].name, "role": "toxiproxy", "zone": z,
               "actuator": docker(platform.toxiproxies[z])} for z in zones]
    nodes.append({"name": platform.minio.name, "role": "object-store", "actuator": docker(platform.minio)})
    nodes.append({"name": platform.flink_jobmanager.name, "role": "jobmanager", "zone": cfg.flink_zone,
                  "actuator": docker(platform.flink_jobmanager)})
    nodes += [{"name": n.name, "role": "taskmanager", "zone": cfg.flink_zone, "actuator": docker(n)}
              for n in platform.flink_taskmanagers]
    kafka = {"bootstrap_servers": platform.bootstrap_servers,      # the EXTERNAL listeners, on 127.0.0.1
             "proxied_bootstrap_servers": platform.proxied_bootstrap_servers,
             "internal_bootstrap_servers": ",".join(f"{broker_host(z)}:{INTERNAL_PORT}" for z in zones)}
    if "admin-tools" in platform.capabilities:
        kafka["tools_classpath"] = platform.flavor.tool_libs
    sec = getattr(platform, "security", None)
    if sec is not None:     # CA, client certificate and key live in the run's private temp dir while it runs
        from kfchaos.platform.security import ADMIN, SECURE_PORT
        kafka["tools_bootstrap_servers"] = ",".join(f"{broker_host(z)}:{SECURE_PORT}" for z in zones)
        kafka["security"] = {"protocol": sec.settings.protocol, "ca_file": str(sec.ca_file)}
        if sec.mutual_tls:
            kafka["security"].update(cert_file=str(sec.cert_file(ADMIN)), key_file=str(sec.key_file(ADMIN)))
        else:
            kafka["security"].update(sasl_mechanism=sec.settings.mechanism, username_env=USERNAME_ENV,
                                     password_env=PASSWORD_ENV)
    return {
        "name": f"builtin-{platform.run_id}",
        "description": f"the built-in {cfg.kind} platform of run {platform.run_id} (kfchaos platform up)",
        "zones": zones,
        "kafka": kafka,
        "flink": {"rest_url": platform.flink_rest_url, "zone": cfg.flink_zone},
        "s3": {"endpoint": platform.s3_endpoint, "bucket": cfg.flink.bucket, "region": "us-east-1",
               "access_key_env": ACCESS_ENV, "secret_key_env": SECRET_ENV},
        "toxiproxy": {"api": {z: f"http://127.0.0.1:{platform.toxiproxies[z].host_port(TOXIPROXY_API_PORT)}"
                              for z in zones},
                      "replication_port_base": cfg.replication_port(zones[0]) - cfg.node_id(zones[0]),
                      "controller_port_base": cfg.controller_port(zones[0]) - cfg.node_id(zones[0]),
                      "s3_port": S3_PORT},
        "nodes": nodes,
        "limits": {"max_nodes_per_fault": len(zones)},
    }


def write_files(platform, directory: Path) -> tuple[Path, Path]:
    """target.yaml (no secrets) and credentials.env (0600, created with that mode)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "target.yaml"
    target.write_text("# written by `kfchaos platform up`; credentials are in credentials.env (mode 0600)\n"
                      + yaml.safe_dump(target_document(platform), sort_keys=False))
    env = directory / "credentials.env"
    fd = os.open(env, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"{ACCESS_ENV}={platform.s3_access_key}\n{SECRET_ENV}={platform.s3_secret_key}\n")
        if getattr(platform, "security", None) is not None and platform.security.passwords:
            f.write(f"{USERNAME_ENV}=admin\n{PASSWORD_ENV}={platform.security.passwords['admin']}\n")
    os.chmod(env, 0o600)
    return target, env


def load_env_file(path: Path) -> dict[str, str]:
    """The variables of a credentials.env (for tests and tools that cannot source it)."""
    out = {}
    for line in Path(path).read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            out[key.strip()] = value.strip()
    return out


def platform_up(profile: str = "kafka-3az", directory: Path | None = None, timeout: float = 1200.0,
                startup_timeout: float | None = None) -> Up:
    """Start the built-in platform in a keeper process; return when its target file is written
    (``startup_timeout``: seconds each component may take, instead of the profile's)."""
    import secrets as _secrets
    run_id = f"{time.strftime('%H%M%S')}-{_secrets.token_hex(3)}"
    directory = Path(directory or platforms_dir() / run_id).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / "keeper.log"
    env = {**os.environ, "TESTCONTAINERS_RYUK_DISABLED": "true"}
    with open(log_path, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "kfchaos.targets.keeper", "--profile", profile,
                                 "--dir", str(directory), "--run-id", run_id,
                                 *(["--startup-timeout", str(startup_timeout)] if startup_timeout else [])],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env)
    log.info("platform %s: keeper pid %d starting it (log %s)", run_id, proc.pid, log_path)
    state = directory / "state.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state.exists() and json.loads(state.read_text()).get("status") == "up":
            return Up(directory, run_id, directory / "target.yaml", directory / "credentials.env", proc.pid)
        if proc.poll() is not None:
            raise PlatformUpError(f"platform up failed: {_last_error(directory, log_path)}")
        time.sleep(1.0)
    os.kill(proc.pid, signal.SIGTERM)
    raise PlatformUpError(f"platform up: not ready after {timeout:.0f}s; see {log_path}")


def _last_error(directory: Path, log_path: Path) -> str:
    state = directory / "state.json"
    if state.exists():
        err = json.loads(state.read_text()).get("error")
        if err:
            return err
    lines = [ln for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
    return (lines[-1] if lines else "the keeper exited without a word") + f" (log: {log_path})"


def resolve_directory(where: str | Path | None) -> Path:
    """A platform directory from a directory, its target.yaml, or nothing (the only one up)."""
    if where:
        p = Path(where)
        p = p.parent if p.is_file() else p
        if not (p / "state.json").exists():
            raise PlatformUpError(f"{where}: no platform started by `kfchaos platform up` there (no state.json); "
                                  "give its directory or target.yaml")
        return p
    up = [d for d in platforms_dir().glob("*") if (d / "state.json").exists()
          and json.loads((d / "state.json").read_text()).get("status") == "up"]
    if len(up) != 1:
        raise PlatformUpError(f"{len(up)} platforms are up under {platforms_dir()}: name one "
                              f"({', '.join(str(d) for d in up) or 'none'})")
    return up[0]


def platform_down(where: str | Path | None = None, timeout: float = 180.0) -> list[str]:
    """Stop the keeper (which removes its containers); remove what is left; delete credentials.env."""
    from kfchaos.platform import cleanup
    directory = resolve_directory(where)
    state = json.loads((directory / "state.json").read_text())
    run_id, pid = state["run_id"], state.get("pid")
    if pid and _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.5)
    removed = cleanup.remove_run(run_id)        # anything the keeper could not remove
    (directory / "credentials.env").unlink(missing_ok=True)
    state.update(status="down", stopped=time.time())
    (directory / "state.json").write_text(json.dumps(state, indent=1))
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:        # a zombie child of this process: reap it
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True
