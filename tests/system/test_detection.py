"""A representative subset of the detection matrix (kfchaos/detection.py), against the real
platform: a weakened profile must be caught by its contract in its scenario. The whole matrix,
each entry with its safe twin (the same scenario on kafka-3az must not fire), is
benchmarks/detection_matrix.py; the default certification (`./run.sh certify`) runs the
twins of every entry here."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kfchaos.detection import MATRIX
from kfchaos.results import RunResult

pytestmark = [pytest.mark.platform, pytest.mark.scenario]
ROOT = Path(__file__).resolve().parents[2]
# The CI budget runs one entry, the first: the unsafe profile losing acknowledged writes in
# isolated-leader (durability, the contract the product exists for). The whole matrix, every
# entry with its safe twin, is benchmarks/detection_matrix.py.
SUBSET = [MATRIX[0].name]


@pytest.mark.parametrize("name", SUBSET)
def test_weakened_profile_is_caught(name, tmp_path):
    entry = next(e for e in MATRIX if e.name == name)
    proc = subprocess.run([sys.executable, "-m", "kfchaos.cli", "certify", "--profile", entry.weak,
                           "--scenario", entry.scenario, "--seed", "7", "--reports", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    sys.stderr.write(proc.stderr[-3000:])
    run_dir = next(p for p in tmp_path.iterdir() if p.is_dir() and not p.is_symlink())
    run = RunResult.from_dict(json.loads((run_dir / "results.json").read_text()))
    assert entry.fires(run), run.summary_table()
    assert proc.returncode == 1
    result = run.scenarios[0]
    contract = next(c for c in result.contracts if c.contract == entry.contract)
    assert contract.anomalies and all(a["examples"] for a in contract.anomalies.values()), contract
    if entry.contract == "durability":     # a lost write names where it was and the fault it fell in
        lost = contract.anomalies["lost"]
        assert lost["count"] > 0 and {"partition", "offset", "id"} <= set(lost["examples"][0])
        assert lost["examples"][0]["fault_windows"], lost["examples"][0]


def test_matrix_has_an_entry_per_contract():
    from kfchaos.contracts import CONTRACTS
    from kfchaos.profiles import load
    from kfchaos.scenarios import get
    assert {e.contract for e in MATRIX} == set(CONTRACTS)
    from kfchaos.migrate.cutover import MODES
    from kfchaos.migrate.jobmove import START_MODES
    from kfchaos.migrate.rehearsal import NAME, check_pair
    for e in MATRIX:
        assert load(e.safe) and load(e.weak)
        if e.is_migration:             # a weakened rehearsal: kfchaos migrate --from source --to weak
            assert e.scenario == NAME and e.cutover in MODES and e.job_start in START_MODES
            check_pair(load(e.source), load(e.weak))
        else:
            assert get(e.scenario)
