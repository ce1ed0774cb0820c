#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine (root): system packages, the Python package,
# and a running Docker daemon. Everything else (images, jars, binaries) is built and cached
# by the harness on first use. Requires: Python 3.11, Java 17 + Maven, Go; Rust/cargo for
# the tansu profile and the compiled core (native/).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in docker.io debootstrap chromium openssh-server etcd-server; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)   # kubectl, for the Kubernetes tests
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing system packages (${need[*]}): run this as root or install them first" >&2
    exit 2
  fi
  echo "[setup] installing ${need[*]} ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || { echo "error: apt-get update failed: check Debian's package mirror" >&2; exit 2; }
  apt-get install -y -qq "${need[@]}" >/dev/null || { echo "error: apt-get install ${need[*]} failed" >&2; exit 2; }
fi

if ! python3 -c "import kfchaos, confluent_kafka, testcontainers, hypothesis, allure_pytest" >/dev/null 2>&1 \
   || [ pyproject.toml -nt .setup-stamp ]; then
  echo "[setup] installing the Python package (pip install -e .) ..." >&2
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e . >/dev/null \
    || { echo "error: pip install -e . failed: check that PyPI is reachable" >&2; exit 2; }
  touch .setup-stamp
fi

# The compiled core (native/: the history scan and the checkers ported to Rust), built into
# kfchaos/_native.abi3.so; cached: nothing to do while native/ is unchanged.
scripts/build_native.sh \
  || echo "[setup] warning: the compiled core was not built (above); the Python checkers run, tests/unit/test_native.py fails" >&2

export TESTCONTAINERS_RYUK_DISABLED=true
python3 -m kfchaos.platform.docker_engine >/dev/null

# The Kubernetes tests' control plane: kube-apiserver, kwok, controller-gen (Go module proxy),
# the Chaos Mesh, Flink operator and Strimzi CRDs; built once into the cache, nothing on later runs.
python3 -m kfchaos.targets.kubernetes.artifacts \
  || echo "[setup] warning: the Kubernetes test artifacts were not built (above); tests/integration/test_kubernetes.py will fail" >&2
