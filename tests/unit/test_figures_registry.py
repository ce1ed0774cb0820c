"""Every figure a scenario measures by a literal name is registered in kfchaos.figures
(an unregistered one makes its scenario end in an error at run time, after its load)."""
import re
from pathlib import Path

from kfchaos.figures import FIGURES

PACKAGE = Path(__file__).resolve().parents[2] / "kfchaos"
MEASURED = re.compile(r"\.measure\(\s*\"([a-z_0-9]+)\"")


def measured_names() -> dict[str, str]:
    """figure name -> the first file that measures it by a literal name"""
    out: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for name in MEASURED.findall(path.read_text()):
            out.setdefault(name, str(path.relative_to(PACKAGE)))
    return out


def test_the_scan_finds_the_scenarios_figures():
    names = measured_names()
    assert "saturated_first" in names and "preload_settle_s" in names, sorted(names)


def test_every_measured_figure_is_registered():
    missing = {n: f for n, f in measured_names().items() if n not in FIGURES}
    assert not missing, f"measured but not registered in kfchaos/figures.py: {missing}"
