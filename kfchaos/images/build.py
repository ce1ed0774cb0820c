"""Builds the platform images locally: kafka, kafka-tiered, mirror (MirrorMaker 2), tansu,
flink, minio, toxiproxy and zookeeper on the base image.

Inputs come only from package registries (Maven Central, PyPI, the Go module proxy,
the Rust crate registry, Debian). Each image is tagged by a fingerprint of its inputs, so a rebuild with
unchanged inputs is a no-op. ``ImageSet`` maps a role to the image to run; a role can
be pointed at a public image instead (see ``kfchaos.platform.config``).
"""
from __future__ import annotations

import os
import shutil
import time
import zipfile
from pathlib import Path

from . import versions as v
from .base import build_base
from .cache import (IMAGE_REPO, LABEL, BuildError, cache_dir, exclusive, fingerprint, fresh_dir, image_exists,
                    progress, run)

ASSETS = Path(__file__).parent / "assets"
RUN_UID = 1000


def _docker_build(tag: str, context: Path, dockerfile: str, what: str) -> str:
    (context / "Dockerfile").write_text(dockerfile)
    run(["docker", "build", "-q", "--label", f"{LABEL}={tag}", "-t", tag, str(context)],
        what=f"docker build of {tag}", log=context.parent / "docker-build.log",
        fix="check `docker info` and the log, then rerun")
    shutil.rmtree(context, ignore_errors=True)
    return tag


def _maven_copy(pom: Path, dest: Path, props: dict[str, str], transitive: bool) -> Path:
    """Resolve a pom's dependencies into dest once (cached by the pom and its properties)."""
    if dest.joinpath(".complete").exists():
        return dest
    fresh_dir(dest)
    cmd = ["mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
           f"-DoutputDirectory={dest}", "-DincludeScope=runtime"]
    cmd += [f"-D{k}={val}" for k, val in props.items()]
    if not transitive:
        cmd.append("-DexcludeTransitive=true")
    run(cmd, what=f"fetching {pom.parent.name} jars from Maven Central", log=dest.parent / "maven.log",
        fix="check that Maven Central is reachable (`mvn -v`, proxy settings) and retry")
    dest.joinpath(".complete").touch()
    return dest


def _go_binary(module: str, version: str, name: str) -> Path:
    out = cache_dir() / "go" / f"{name}-{version}"
    binary = next((p for p in out.glob("*") if p.is_file() and os.access(p, os.X_OK)), None) if out.exists() else None
    if binary:
        return binary
    out.mkdir(parents=True, exist_ok=True)
    progress(f"building {module}@{version} with go install (minutes on first run) ...")
    run(["go", "install", f"{module}@{version}"], what=f"go install {module}@{version}",
        env={"GOBIN": str(out), "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"},
        log=out.parent / f"{name}-build.log",
        fix="check that the Go toolchain is installed and the Go module proxy is reachable")
    return next(p for p in out.glob("*") if p.is_file())


def _cargo_binary(crate: str, version: str, features: tuple[str, ...], name: str) -> Path:
    """``cargo install`` a crate once into the cache (its target dir is cached too)."""
    root = cache_dir() / "cargo" / f"{name}-{version}-{'-'.join(features) or 'default'}"
    binary = root / "bin" / name
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    root.mkdir(parents=True, exist_ok=True)
    progress(f"building {crate} {version} with cargo install (10+ minutes on 2 cores on first run) ...")
    cmd = ["cargo", "install", crate, "--version", version, "--locked", "--root", str(root)]
    if features:
        cmd += ["--features", ",".join(features)]
    run(cmd, what=f"cargo install {crate}@{version}", env={"CARGO_TARGET_DIR": str(cache_dir() / "cargo" / "target")},
        log=root.parent / f"{name}-build.log",
        fix="check that the Rust toolchain (cargo) is installed and the crate registry is reachable")
    return binary


def _user_layer() -> str:
    return (f"RUN useradd --uid {RUN_UID} --create-home --shell /bin/sh chaos\n")


def _kafka_inputs(base: str, version: str | None = None) -> tuple[str, Path, dict[str, str]]:
    pom = ASSETS / "kafka" / "pom.xml"
    props = {"kafka.version": version or v.KAFKA_VERSION, "scala.binary": v.SCALA_BINARY,
             "log4j.version": v.LOG4J_VERSION}
    return fingerprint("kafka", base, props, files=[pom]), pom, props


def build_kafka(base: str, version: str | None = None) -> str:
    fp, pom, props = _kafka_inputs(base, version)
    tag = f"{IMAGE_REPO}/kafka:{fp}"
    if image_exists(tag):
        return tag
    libs = _maven_copy(pom, cache_dir() / "kafka" / fp / "libs", props, transitive=True)
    ctx = fresh_dir(cache_dir() / "kafka" / fp / "context")
    shutil.copytree(libs, ctx / "libs", ignore=shutil.ignore_patterns(".complete"))
    return _docker_build(tag, ctx, f"FROM {base}\n{_user_layer()}"
                         "COPY libs /opt/kafka/libs\n"
                         f"RUN mkdir -p /var/lib/kafka /etc/kafka && chown {RUN_UID} /var/lib/kafka\n"
                         "ENV KAFKA_HOME=/opt/kafka\n"
                         f"USER {RUN_UID}\nWORKDIR /opt/kafka\n", "kafka")


TIERED_PLUGIN_DIR = "/opt/kafka/plugins/tiered"
TIERED_RSM_SOURCE = ASSETS / "tiered-rsm" / "S3RemoteStorageManager.java"


def build_kafka_tiered(base: str, version: str | None = None) -> str:
    """The kafka image plus a KIP-405 RemoteStorageManager jar in its own plugin directory.

    The RSM is the harness's own (assets/tiered-rsm), compiled against the cached Kafka
    jars: it needs nothing but the JDK and Kafka's storage API.
    """
    kafka = build_kafka(base, version)
    tag = f"{IMAGE_REPO}/kafka-tiered:{fingerprint('kafka-tiered', kafka, files=[TIERED_RSM_SOURCE])}"
    if image_exists(tag):
        return tag
    fp, pom, props = _kafka_inputs(base, version)
    libs = _maven_copy(pom, cache_dir() / "kafka" / fp / "libs", props, transitive=True)
    work = cache_dir() / "kafka-tiered"
    ctx = fresh_dir(work / "context")
    classes = fresh_dir(work / "classes")
    log = work / "javac.log"
    run(["javac", "--release", "17", "-nowarn", "-d", str(classes), "-cp", f"{libs}/*", str(TIERED_RSM_SOURCE)],
        what="javac of the tiered-storage RemoteStorageManager", log=log,
        fix="install a JDK 17+ (`apt-get install openjdk-17-jdk-headless`) and retry")
    (ctx / "tiered").mkdir()
    run(["jar", "--create", "--file", str(ctx / "tiered" / "chaos-tiered-rsm.jar"), "-C", str(classes), "."],
        what="jar of the tiered-storage RemoteStorageManager", log=log, fix="install a JDK 17+ and retry")
    shutil.rmtree(classes, ignore_errors=True)
    return _docker_build(tag, ctx, f"FROM {kafka}\n"
                         f"COPY tiered {TIERED_PLUGIN_DIR}\n", "kafka-tiered")


MIRROR_POM = ASSETS / "mirror" / "pom.xml"


def build_mirror(base: str, version: str | None = None) -> str:
    """The kafka image of the same release plus MirrorMaker 2 (``connect-mirror`` and
    ``connect-mirror-client`` from Maven Central); the kafka image's libs already hold
    connect-runtime and its dependencies, so only the jars it lacks are added."""
    kafka = build_kafka(base, version)
    props = {"kafka.version": version or v.KAFKA_VERSION}
    tag = f"{IMAGE_REPO}/mirror:{fingerprint('mirror', kafka, props, files=[MIRROR_POM])}"
    if image_exists(tag):
        return tag
    fp, _, _ = _kafka_inputs(base, version)
    have = {p.name for p in (cache_dir() / "kafka" / fp / "libs").glob("*.jar")}
    jars = _maven_copy(MIRROR_POM, cache_dir() / "mirror" / fingerprint(props, files=[MIRROR_POM]) / "libs",
                       props, transitive=True)
    ctx = fresh_dir(cache_dir() / "mirror" / "context")
    (ctx / "libs").mkdir()
    for jar in jars.glob("*.jar"):
        if jar.name not in have:
            shutil.copy2(jar, ctx / "libs" / jar.name)
    return _docker_build(tag, ctx, f"FROM {kafka}\nCOPY libs /opt/kafka/libs\n", "mirror")


def build_tansu(base: str) -> str:
    fp = fingerprint("tansu", base, v.TANSU_CRATE, v.TANSU_VERSION, v.TANSU_FEATURES)
    tag = f"{IMAGE_REPO}/tansu:{fp}"
    if image_exists(tag):
        return tag
    binary = _cargo_binary(v.TANSU_CRATE, v.TANSU_VERSION, v.TANSU_FEATURES, "tansu")
    ctx = fresh_dir(cache_dir() / "tansu" / "context")
    shutil.copy2(binary, ctx / "tansu")
    return _docker_build(tag, ctx, f"FROM {base}\n{_user_layer()}"
                         "COPY tansu /usr/local/bin/tansu\n"
                         f"RUN mkdir -p /data && chown {RUN_UID} /data\n"
                         f"USER {RUN_UID}\nWORKDIR /data\n", "tansu")


def _flink_home(dest: Path, version: str, connector: str, s3_plugin: str, flavour: str = "sql") -> Path:
    """Assemble FLINK_HOME (bin, conf, lib, plugins) from the PyPI wheels and Maven jars; the
    Kafka connector in lib/ is the SQL uber-jar or, for ``flavour="plain"``, the plain
    connector with its runtime dependencies (``versions.FLINK_CONNECTOR_FLAVOUR``)."""
    if dest.joinpath(".complete").exists():
        return dest
    fresh_dir(dest)
    wheels = cache_dir() / "flink" / f"wheels-{version}"
    if not any(wheels.glob("apache[-_]flink[-_]libraries-*")) or not any(wheels.glob("apache_flink-*.whl")):
        wheels.mkdir(parents=True, exist_ok=True)
        progress(f"downloading apache-flink {version} wheels (300 MB) ...")
        run(["python3", "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels),
             f"apache-flink=={version}", f"apache-flink-libraries=={version}"],
            what=f"pip download of the Flink {version} wheels",
            fix="check that PyPI is reachable and has that release (`pip index versions apache-flink`)")
    keep = ("pyflink/bin/", "pyflink/conf/", "pyflink/lib/")
    drop = ("flink-scala", "flink-table", "flink-cep")
    for whl in wheels.glob("*.whl"):
        with zipfile.ZipFile(whl) as z:
            for name in z.namelist():
                if name.startswith(keep) and not name.endswith("/") and not any(d in name for d in drop):
                    target = dest / name[len("pyflink/"):]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(z.read(name))
    # some releases ship no wheel of the libraries, and their source archive is named with hyphens
    for sdist in wheels.glob("apache[-_]flink[-_]libraries-*.tar.gz"):
        _flink_sdist_jars(sdist, dest, drop)
    for script in (dest / "bin").iterdir():
        script.chmod(0o755)
    pom = _flink_extras_pom(flavour)
    props = {"flink.version": s3_plugin, "connector.version": connector}     # the pom's flink.version: the plugin
    key = fingerprint(pom.read_text()) if version == v.FLINK_VERSION else fingerprint(pom.read_text(), props)
    extras = _maven_copy(pom, cache_dir() / "flink" / f"extras-{key}", props, transitive=flavour == "plain")
    for jar in extras.glob("*.jar"):
        if "s3-fs-presto" in jar.name:
            (dest / "plugins" / "s3-fs-presto").mkdir(parents=True, exist_ok=True)
            shutil.copy2(jar, dest / "plugins" / "s3-fs-presto" / jar.name)
        else:
            shutil.copy2(jar, dest / "lib" / jar.name)
    (dest / "log").mkdir(exist_ok=True)
    dest.joinpath(".complete").touch()
    return dest


def _flink_sdist_jars(sdist: Path, dest: Path, drop: tuple[str, ...]) -> None:
    """lib/ and bin/ of FLINK_HOME from the apache-flink-libraries source archive (its deps/)."""
    import tarfile
    with tarfile.open(sdist) as t:
        for m in t.getmembers():
            parts = m.name.split("/")
            if m.isfile() and len(parts) == 4 and parts[1] == "deps" and parts[2] in ("lib", "bin", "conf") \
                    and not any(d in m.name for d in drop):
                target = dest / parts[2] / parts[3]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(t.extractfile(m).read())


def _flink_extras_pom(flavour: str) -> Path:
    """The pom of the jars the wheels lack: the SQL connector's, or the plain connector's."""
    return ASSETS / "flink" / ("pom.xml" if flavour == "sql" else "pom-plain-connector.xml")


def flink_image_tag(base: str, version: str | None = None) -> str:
    """The tag of the flink image of ``version`` (built or not)."""
    version = version or v.FLINK_VERSION
    ver = v.platform_versions({"flink": version})
    flavour = ver["flink_connector_flavour"]
    parts = ("flink", base, version, ver["flink_kafka_connector"])
    # the SQL flavour's fingerprint is what it always was (its images stay cached)
    fp = fingerprint(*parts, files=[_flink_extras_pom(flavour)]) if flavour == "sql" else \
        fingerprint(*parts, flavour, files=[_flink_extras_pom(flavour)])
    return f"{IMAGE_REPO}/flink:{fp}"


def build_flink(base: str, version: str | None = None) -> str:
    version = version or v.FLINK_VERSION
    ver = v.platform_versions({"flink": version})
    connector, s3_plugin = ver["flink_kafka_connector"], ver["flink_s3_plugin"]
    flavour = ver["flink_connector_flavour"]
    tag = flink_image_tag(base, version)
    fp = tag.rsplit(":", 1)[1]
    if image_exists(tag):
        return tag
    home = _flink_home(cache_dir() / "flink" / fp / "home", version, connector, s3_plugin, flavour)
    ctx = fresh_dir(cache_dir() / "flink" / fp / "context")
    shutil.copytree(home, ctx / "flink", ignore=shutil.ignore_patterns(".complete"))
    return _docker_build(tag, ctx, f"FROM {base}\n{_user_layer()}"
                         f"COPY --chown={RUN_UID} flink /opt/flink\n"
                         "ENV FLINK_HOME=/opt/flink\n"
                         f"USER {RUN_UID}\nWORKDIR /opt/flink\n", "flink")


def build_zookeeper(base: str) -> str:
    """Apache ZooKeeper's server jars from Maven Central (Flink's high-availability service)."""
    pom = ASSETS / "zookeeper" / "pom.xml"
    props = {"zookeeper.version": v.ZOOKEEPER_VERSION}
    fp = fingerprint("zookeeper", base, props, files=[pom])
    tag = f"{IMAGE_REPO}/zookeeper:{fp}"
    if image_exists(tag):
        return tag
    libs = _maven_copy(pom, cache_dir() / "zookeeper" / fp / "libs", props, transitive=True)
    ctx = fresh_dir(cache_dir() / "zookeeper" / fp / "context")
    (ctx / "libs").mkdir()
    for jar in libs.glob("*.jar"):      # only this platform's native transport
        if "tcnative-boringssl" not in jar.name and not jar.name.endswith(("osx-x86_64.jar", "aarch_64.jar")):
            shutil.copy2(jar, ctx / "libs" / jar.name)
    return _docker_build(tag, ctx, f"FROM {base}\n{_user_layer()}"
                         "COPY libs /opt/zookeeper/libs\n"
                         f"RUN mkdir -p /data && chown {RUN_UID} /data\n"
                         f"USER {RUN_UID}\nWORKDIR /data\n", "zookeeper")


def build_go_image(base: str, name: str, module: str, version: str, binary_name: str) -> str:
    tag = f"{IMAGE_REPO}/{name}:{fingerprint(name, base, module, version)}"
    if image_exists(tag):
        return tag
    binary = _go_binary(module, version, name)
    ctx = fresh_dir(cache_dir() / name / "context")
    shutil.copy2(binary, ctx / binary_name)
    return _docker_build(tag, ctx, f"FROM {base}\n{_user_layer()}"
                         f"COPY {binary_name} /usr/local/bin/{binary_name}\n"
                         f"RUN mkdir -p /data && chown {RUN_UID} /data\n"
                         f"USER {RUN_UID}\n", name)


def build_all(only: tuple[str, ...] = ("kafka", "flink", "minio", "toxiproxy"),
              versions: dict[str, str] | None = None) -> dict[str, str]:
    """Build (or find in the cache) every image; returns role -> image tag. ``versions``:
    the Kafka and Flink releases (``versions.platform_versions``; default: the pinned ones)."""
    started = time.monotonic()
    ver = v.platform_versions(versions)
    with exclusive("images"):
        tags = _build_roles(only, ver)
    progress(f"all images ready in {time.monotonic() - started:.1f}s")
    return tags


def _build_roles(only: tuple[str, ...], ver: dict[str, str]) -> dict[str, str]:
    base = build_base()
    tags = {"base": base}
    builders = {
        "kafka": lambda: build_kafka(base, ver["kafka"]),
        "kafka-tiered": lambda: build_kafka_tiered(base, ver["kafka"]),
        "mirror": lambda: build_mirror(base, ver["kafka"]),
        "tansu": lambda: build_tansu(base),
        "flink": lambda: build_flink(base, ver["flink"]),
        "minio": lambda: build_go_image(base, "minio", v.MINIO_MODULE, v.MINIO_VERSION, "minio"),
        "toxiproxy": lambda: build_go_image(base, "toxiproxy", v.TOXIPROXY_MODULE, v.TOXIPROXY_VERSION,
                                            "toxiproxy-server"),
        "zookeeper": lambda: build_zookeeper(base),
    }
    for role in only:
        t0 = time.monotonic()
        tags[role] = builders[role]()
        progress(f"{role}: {tags[role]} ({time.monotonic() - t0:.1f}s)")
    return tags


if __name__ == "__main__":
    try:
        for role, tag in build_all().items():
            print(f"{role}\t{tag}")
    except BuildError as exc:
        raise SystemExit(f"error: {exc}")
