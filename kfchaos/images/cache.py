"""Content-addressed cache for downloaded artifacts and built images.

Every artifact lives under ``cache_dir()/<kind>/<fingerprint>/`` and every image is
tagged ``chaos-harness/<name>:<fingerprint>``, where the fingerprint is a hash of
everything that went into it (versions, recipe files, parent image). Unchanged inputs
therefore mean nothing is downloaded or built twice.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterable

IMAGE_REPO = "chaos-harness"
LABEL = "io.chaos-harness.image"


class BuildError(RuntimeError):
    """One-line, user-facing error: what failed and how to fix it."""


def cache_dir() -> Path:
    root = Path(os.environ.get("CHAOS_CACHE_DIR", Path.home() / ".cache" / "kafka-chaos"))
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextlib.contextmanager
def exclusive(name: str):
    """Hold the machine-wide lock ``name`` in the cache directory while building: two
    processes (two test workers, two certifications) that need the same image or artifact
    build it once, the second finds it cached."""
    with open(cache_dir() / f".{name}.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def fingerprint(*parts: object, files: Iterable[Path] = ()) -> str:
    """Hash strings and file contents into a short, stable fingerprint."""
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode())
        h.update(b"\0")
    for f in sorted(Path(p) for p in files):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def progress(msg: str) -> None:
    logging.getLogger("chaos.images").info(msg)


def run(cmd: list[str], *, what: str, fix: str, cwd: Path | None = None,
        env: dict | None = None, log: Path | None = None, stdin=None) -> None:
    """Run a build step; on failure raise one clear line and keep the log for details."""
    started = time.monotonic()
    log_start = Path(log).stat().st_size if log and Path(log).exists() else 0
    out = open(log, "ab") if log else subprocess.DEVNULL
    try:
        proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})},
                              stdout=out, stderr=subprocess.STDOUT, stdin=stdin)
    except FileNotFoundError as exc:
        raise BuildError(f"{what} failed: {exc.filename} is not installed. {fix}") from None
    finally:
        if log:
            out.close()
    if proc.returncode != 0:
        where = f" (log: {log})" if log else ""
        missing = _missing_artifact(log, log_start)
        if missing:
            raise BuildError(f"{what} failed: {missing} is not in the repository{where}; "
                             "pick a release that exists (see search.maven.org or the project's download page)")
        raise BuildError(f"{what} failed with exit code {proc.returncode}{where}. {fix}")
    progress(f"{what}: done in {time.monotonic() - started:.0f}s")


def _missing_artifact(log: Path | None, start: int = 0) -> str | None:
    """The artifact Maven or pip said does not exist, from this step's part of the log."""
    if not log or not Path(log).exists():
        return None
    with open(log, "rb") as fh:
        fh.seek(start)
        text = fh.read()[-20000:].decode(errors="replace")
    m = (re.search(r"Could not find artifact (\S+)", text)
         or re.search(r"(\S+:jar:\S+) was not found in", text)            # Maven's cached miss
         or re.search(r"No matching distribution found for (\S+)", text))
    return m.group(1) if m else None


def image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path
