"""Base image: a Debian minbase rootfs (debootstrap) with a JRE and network tools.

Built with ``debootstrap --variant=minbase`` and turned into an image with
``docker import``; the Debian mirror is the one this machine's apt already uses.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from . import versions
from .cache import BuildError, cache_dir, fingerprint, fresh_dir, image_exists, progress, run, IMAGE_REPO, LABEL

APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))


def debian_mirror() -> str:
    """The first Debian archive URL configured for apt on this machine."""
    files: list[Path] = []
    for p in APT_SOURCES:
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.suffix in (".list", ".sources"))
        elif p.exists():
            files.append(p)
    for f in files:
        for line in f.read_text().splitlines():
            line = line.strip()
            if line.startswith("#"):
                continue
            m = re.match(r"^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)", line)
            if m and "security" not in m.group(1) and m.group(1).startswith("http"):
                return m.group(1)
    raise BuildError("no Debian mirror found in /etc/apt/sources.list*: add your mirror there "
                     "or set images.base to an image you can pull")


def base_tag() -> str:
    return f"{IMAGE_REPO}/base:{fingerprint('base', versions.DEBIAN_SUITE, versions.BASE_PACKAGES)}"


def build_base() -> str:
    tag = base_tag()
    if image_exists(tag):
        return tag
    if not shutil.which("debootstrap"):
        run(["apt-get", "install", "-y", "-q", "debootstrap"], what="installing debootstrap",
            fix="run `apt-get update` and retry, or install debootstrap by hand")
    work = cache_dir() / "base"
    rootfs = fresh_dir(work / "rootfs")
    log = work / "build.log"
    log.write_text("")
    progress(f"building {tag} with debootstrap (about 1 min) ...")
    run(["debootstrap", "--variant=minbase", f"--include={','.join(versions.BASE_PACKAGES)}",
         versions.DEBIAN_SUITE, str(rootfs), debian_mirror()],
        what="debootstrap of the base rootfs", log=log,
        fix="check that Debian's mirror is reachable (`apt-get update`), then retry")
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for f in (rootfs / junk).glob("*"):
            if f.is_file():
                f.unlink()
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    try:
        run(["docker", "import", "--change", f"LABEL {LABEL}=base",
             "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "--change", "ENV LANG=C.UTF-8", "-", tag],
            what="docker import of the base rootfs", stdin=tar.stdout, log=log,
            fix="check that the Docker daemon is running (`docker info`)")
    finally:
        tar.wait()
    shutil.rmtree(rootfs, ignore_errors=True)
    return tag
