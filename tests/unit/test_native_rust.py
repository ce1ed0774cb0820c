"""The compiled core's own Rust tests (the fixed-form scanner against serde_json, every
one-byte change of the writer's lines) run with the suite: `cargo test` in native/."""
import re
import shutil
import subprocess
from pathlib import Path

NATIVE = Path(__file__).resolve().parents[2] / "native"


def test_the_compiled_cores_rust_tests_pass():
    cargo = shutil.which("cargo")
    assert cargo, "cargo not found: scripts/setup.sh needs Rust (https://rustup.rs) to build native/"
    proc = subprocess.run([cargo, "test", "--release", "-j", "2", "--quiet"], cwd=NATIVE,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    ran = [int(n) for n in re.findall(r"test result: ok\. (\d+) passed", proc.stdout)]
    assert ran and ran[0] > 0, proc.stdout[-2000:]          # the library's tests ran
