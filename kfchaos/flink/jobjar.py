"""Builds the reference Flink job (``kfchaos/flink/job/``) into a content-addressed cached jar.

The job's Maven project (``pom.xml`` and ``src/``) ships inside the package as package
data, so an installed wheel can build it on first use as a source checkout does.
``build_job_jar()`` hashes ``pom.xml`` and every file under ``src/``; the jar lives at
``${CHAOS_CACHE_DIR:-~/.cache/kafka-chaos}/flink-job/<hash>/job.jar``. Maven (``mvn -q -B
package``, default local repository ``~/.m2``) runs only when no jar exists for the current
hash, in a scratch copy of the sources under the cache (``<hash>/build/``): the package
directory may be read-only (site-packages) and is never written to.

Two jar flavours match the two ways a Flink image carries the Kafka connector
(``versions.FLINK_CONNECTOR_FLAVOUR``). ``sql``: the cluster's lib/ holds
``flink-sql-connector-kafka``, whose kafka-clients is relocated, so the jar is the shade
plugin's output with our references rewritten to the relocated package (the pinned release
and every release whose SQL connector Maven Central serves). ``plain``: lib/ holds
``flink-connector-kafka`` and an unrelocated kafka-clients (Flink 1.20), so the jar is the
same build's unshaded jar (``target/original-chaos-flink-job.jar``, the classes as compiled).
One ``mvn package`` makes both; the flavour is part of the cache key of a non-pinned release.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from kfchaos.images.cache import exclusive

__all__ = [
    "ENTRY_CLASS", "JobJarBuildError", "job_project_dir", "source_hash", "jar_digest", "cached_jar_path",
    "build_job_jar",
]

ENTRY_CLASS = "harness.job.ExactlyOnceJob"
_BUILT_JAR = Path("target") / "chaos-flink-job.jar"
#: the jar the shade plugin leaves unrelocated: the ``plain`` flavour
_UNSHADED_JAR = Path("target") / "original-chaos-flink-job.jar"


class JobJarBuildError(RuntimeError):
    """One line: what failed and how to fix it."""


log = logging.getLogger("chaos.flink-job")


def job_project_dir() -> Path:
    """The reference job's Maven project: ``job/`` beside this module (package data, so it is
    there in a source checkout and in an installed wheel alike)."""
    return Path(__file__).resolve().parent / "job"


def _cache_root() -> Path:
    return Path(os.environ.get("CHAOS_CACHE_DIR") or Path.home() / ".cache" / "kafka-chaos")


def _source_files(project: Path) -> list[Path]:
    files = [project / "pom.xml"]
    src = project / "src"
    if src.is_dir():
        files += [p for p in src.rglob("*") if p.is_file()]
    return sorted(files, key=lambda p: p.relative_to(project).as_posix())


def source_hash(project: Path | None = None) -> str:
    """sha256 over pom.xml and src/** (relative path + content of each file)."""
    project = Path(project) if project else job_project_dir()
    if not (project / "pom.xml").is_file():
        raise JobJarBuildError(f"no pom.xml in {project}: the reference Flink job's Maven project is missing; "
                               "reinstall the package (its wheel ships kfchaos/flink/job/)")
    h = hashlib.sha256()
    for f in _source_files(project):
        rel = f.relative_to(project).as_posix().encode()
        data = f.read_bytes()
        h.update(len(rel).to_bytes(4, "big") + rel)
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def cached_jar_path(digest: str | None = None, project: Path | None = None) -> Path:
    digest = digest or source_hash(project)
    return _cache_root() / "flink-job" / digest / "job.jar"


def _last_error_line(output: str) -> str:
    """The most telling line of Maven's output: the first [ERROR] with content."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("[ERROR]") and len(ln) > len("[ERROR] ") and "-> [Help" not in ln:
            return ln[len("[ERROR] "):].strip()
    return lines[-1] if lines else "(no output)"


def build_job_jar(*, force: bool = False, project: Path | None = None, mvn: str | None = None,
                  quiet: bool = False, timeout: float = 900, flink_version: str | None = None) -> Path:
    """Return the path of the job jar for the current sources, building it if needed.

    ``flink_version``: compile against that Flink release and its Kafka connector (the
    cluster's; default the pinned one, whose jar keeps its historical cache path).

    Progress goes to the ``chaos.flink-job`` logger unless ``quiet``. Raises
    :class:`JobJarBuildError` (one line) when Maven is missing, the build fails or produces no jar.
    """
    project = Path(project) if project else job_project_dir()
    props = _version_properties(flink_version)
    flavour = props.pop("flavour", "sql")
    digest = jar_digest(source_hash(project), props, flavour)
    target = cached_jar_path(digest)

    def say(msg: str) -> None:
        if not quiet:
            log.info(msg)

    if target.is_file() and not force:
        say(f"using cached jar {target}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # one Maven build at a time per machine (they share ~/.m2 and the scratch copy)
    with exclusive("flink-job-build"):
        if target.is_file() and not force:
            say(f"using cached jar {target} (built by another process)")
            return target
        return _build(project, digest, target, say, mvn, timeout, props,
                      _UNSHADED_JAR if flavour == "plain" else _BUILT_JAR)


def jar_digest(sources: str, props: dict[str, str], flavour: str = "sql") -> str:
    """The cache key of a jar: the sources' hash for the pinned release; with its Maven
    properties for another, and its connector flavour unless ``sql`` (so the jars cached
    before flavours existed keep their paths)."""
    if not props:
        return sources
    key = repr(sorted(props.items())) + ("" if flavour == "sql" else f" flavour={flavour}")
    return hashlib.sha256((sources + key).encode()).hexdigest()


def _version_properties(flink_version: str | None) -> dict[str, str]:
    """Maven properties for a Flink release other than the pinned one (none for the pinned),
    plus ``flavour``: which jar of the build matches the release's connector."""
    from kfchaos.images import versions
    if not flink_version or flink_version == versions.FLINK_VERSION:
        return {}
    v = versions.platform_versions({"flink": flink_version})
    return {"flink.version": v["flink"], "flink.kafka.connector.version": v["flink_kafka_connector"],
            "flavour": v["flink_connector_flavour"]}


def _build(project: Path, digest: str, target: Path, say, mvn: str | None, timeout: float,
           props: dict[str, str] | None = None, artifact: Path = _BUILT_JAR) -> Path:
    mvn = mvn or shutil.which("mvn")
    if not mvn:
        raise JobJarBuildError(
            "cannot build the Flink job jar: `mvn` is not on PATH; install Maven 3.8+ "
            "and a JDK 17 (e.g. `apt-get install maven openjdk-17-jdk-headless`)")
    say(f"building {project.name} (sources {digest[:12]}) with `mvn -q -B package` ...")
    t0 = time.monotonic()
    work = _scratch_copy(project, target.parent / "build")
    try:
        defines = [f"-D{k}={v}" for k, v in (props or {}).items()]
        proc = subprocess.run([mvn, "-q", "-B", "package", *defines], cwd=work, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise JobJarBuildError(
            f"Flink job build timed out after {timeout:.0f}s in {work}; run `mvn -B package` "
            "there to see where it hangs (often dependency downloads)") from None
    output = (proc.stdout or "") + "\n" + (proc.stderr or "")
    if proc.returncode != 0:
        raise JobJarBuildError(
            f"Flink job build failed (mvn exit {proc.returncode}): {_last_error_line(output)} "
            f"-- run `mvn -B package` in {work} for the full log and fix the sources/pom in {project}")
    built = work / artifact
    if not built.is_file():
        raise JobJarBuildError(
            f"Flink job build succeeded but {built} is missing; check <finalName> in "
            f"{project / 'pom.xml'}")
    # copy then rename, so a concurrent reader never sees a half-written jar
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".jar.tmp")
    os.close(fd)
    shutil.copyfile(built, tmp)
    os.replace(tmp, target)
    shutil.rmtree(work, ignore_errors=True)
    say(f"built {target} in {time.monotonic() - t0:.1f}s")
    return target


def _scratch_copy(project: Path, work: Path) -> Path:
    """A fresh copy of the project's pom.xml and src/ to build in (never the package directory)."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for f in _source_files(project):
        dest = work / f.relative_to(project)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)
    return work
