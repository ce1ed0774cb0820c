#!/usr/bin/env bash
# Builds the compiled core (the Rust crate under native/, PyO3 abi3, by maturin) and puts the
# extension where the package imports it: kfchaos/_native.abi3.so (git-ignored; found by every
# import of this checkout's kfchaos, nothing installed elsewhere). Does nothing when the module
# is newer than every source of the crate. Needs cargo (rustup) and maturin (from PyPI,
# installed here when missing). Without the module the Python checkers run, and the native
# equivalence tests fail saying so.
set -euo pipefail
cd "$(dirname "$0")/.."
so=kfchaos/_native.abi3.so
if [ -f "$so" ] && [ -z "$(find native/src native/Cargo.toml native/Cargo.lock native/pyproject.toml -newer "$so" -print -quit)" ]; then
  exit 0
fi
command -v cargo >/dev/null 2>&1 || { echo "error: cargo not found: install Rust (https://rustup.rs) to build the compiled core in native/" >&2; exit 2; }
if ! python3 -m maturin --version >/dev/null 2>&1; then
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "maturin>=1.5,<2" >/dev/null \
    || { echo "error: pip install maturin failed: check that PyPI is reachable" >&2; exit 2; }
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "[setup] building the compiled core (native/, cargo --release -j 2) ..." >&2
python3 -m maturin build --quiet --release -j 2 -m native/Cargo.toml -o "$out" --compatibility linux >&2 \
  || { echo "error: building native/ failed (above)" >&2; exit 2; }
python3 - "$out" "$so" <<'PY'
import glob, sys, zipfile
wheel, = glob.glob(f"{sys.argv[1]}/*.whl")
with zipfile.ZipFile(wheel) as z:
    name, = [n for n in z.namelist() if n.endswith("_native.abi3.so")]
    data = z.read(name)
tmp = sys.argv[2] + ".tmp"
with open(tmp, "wb") as fh:
    fh.write(data)
import os
os.replace(tmp, sys.argv[2])
PY
python3 -c "import kfchaos._native" || { echo "error: the built kfchaos/_native.abi3.so does not import" >&2; exit 2; }
