"""Compare several run directories side by side: ``compare.html`` and ``compare.md``.

:func:`compare` loads each run's ``results.json`` as a :class:`kfchaos.results.RunResult`
and writes one table to ``out_dir/compare.html`` (self-contained, inline CSS, from the
jinja2 template ``templates/compare.html.j2``) and the same table as a GitHub-flavoured
Markdown table to ``out_dir/compare.md``:

* rows: one per (scenario, contract), scenarios in first-seen order across
  the runs, contracts in first-seen order within a scenario (a scenario with
  no contract in any run gets one row, contract ``—``, showing its status);
* one column group per run, labelled with its profile and run directory name:
  the contract's verdict, then that run's per-scenario figures (:data:`COLUMNS`:
  lost, duplicates, recovery, records replayed, live p99 during fault, bytes on
  broker disks / in object storage, saturated first, producer epoch bumps), headed
  by the labels of :mod:`kfchaos.figures`.  Figures belong to the
  scenario, so the HTML spans them over the scenario's rows and the Markdown
  gives them on the scenario's first row only;
* a scenario missing from a run shows ``—`` in all of that run's cells; a
  contract missing from a run that has the scenario shows the scenario
  status (e.g. ``error``) or ``—``;
* a last column ``same`` says whether all runs that have the row agree.

Above it, an "at a glance" table: one row per scenario, one column per run, each cell
the scenario's status with the anomalies of its violated contracts (``violated:
durability (lost 3)``), or ``held; recovery 3.5 s`` (:func:`glance_cell`).

Above the tables both files list the runs (label, kind, seed, overall verdict,
re-run command).  All text is escaped (HTML: the template autoescapes; Markdown:
``|``, ``<``, ``>`` and line breaks).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfchaos.figures import figure
from kfchaos.results import RunResult, ScenarioResult

from .render import version_items
from .source import ReportError, load_run, one_line
from .templating import render, verdict_class

__all__ = ["compare", "load_runs", "Run", "COLUMNS", "column_header", "build_rows", "glance_rows",
           "glance_cell", "md_cell", "md_code"]

log = logging.getLogger("chaos.report")

MISSING = "—"
#: per-run columns after the verdict: the figure key(s) shown in each; headers are the
#: figures' registered labels (:func:`column_header`)
COLUMNS: list[tuple[str, ...]] = [
    ("lost",),
    ("duplicates",),
    ("recovery_s",),
    ("records_replayed",),
    ("live_p99_ms_during_fault",),
    ("bytes_on_broker_disks", "bytes_in_object_storage"),
    ("saturated_first",),
    ("producer_epoch_bumps",),
    ("cross_zone_bytes", "cross_zone_bytes_per_mb_produced", "object_storage_traffic_bytes"),
]


def column_header(keys: tuple[str, ...]) -> str:
    """A column's header: its figures' labels, ``" / "``-joined."""
    return " / ".join(figure(k).label for k in keys)


@dataclass
class Run:
    dir: Path
    result: RunResult

    @property
    def label(self) -> str:
        return f"{self.result.profile} ({self.dir.name})"

    @property
    def versions(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in version_items(self.result))

    def scenario(self, name: str) -> ScenarioResult | None:
        return next((sc for sc in self.result.scenarios if sc.name == name), None)


def load_runs(run_dirs: list[Path]) -> list[Run]:
    """Each run directory's results (:class:`ReportError` if one cannot be read)."""
    return [Run(Path(d), load_run(d)) for d in run_dirs]


def _figure_cells(sc: ScenarioResult | None) -> list[str]:
    if sc is None:
        return [MISSING] * len(COLUMNS)
    out = []
    for keys in COLUMNS:
        vals = [figure(k).fmt(sc.figures.get(k)) for k in keys]
        out.append(MISSING if all(v == MISSING for v in vals) else " / ".join(vals))
    return out


def scenario_names(runs: list[Run]) -> list[str]:
    """Every scenario of the runs, in first-seen order."""
    names: list[str] = []
    for r in runs:
        names += [sc.name for sc in r.result.scenarios if sc.name not in names]
    return names


def _verdict(sc: ScenarioResult | None, contract: str | None) -> tuple[str, str | None]:
    """One run's verdict cell of a (scenario, contract) row, and its tooltip."""
    if sc is None:
        return MISSING, None
    c = next((c for c in sc.contracts if c.contract == contract), None) if contract else None
    if c is not None:
        return c.verdict or "unknown", c.reason
    st = sc.status
    return (st if (contract is None or st == "error") and st else MISSING), sc.error


def build_rows(runs: list[Run]) -> list[dict]:
    """One dict per table row: scenario, contract, first (first row of its
    scenario), nrows (rows of its scenario), verdicts (per run), reasons,
    figures (per run: list of cells), same (bool)."""
    rows: list[dict] = []
    for name in scenario_names(runs):
        scs = [r.scenario(name) for r in runs]
        contracts: list[str] = []
        for sc in scs:
            contracts += [c.contract for c in (sc.contracts if sc else []) if c.contract not in contracts]
        figures = [_figure_cells(sc) for sc in scs]
        block = []
        for contract in contracts or [None]:
            verdicts, reasons = zip(*(_verdict(sc, contract) for sc in scs))
            present = {v for v in verdicts if v != MISSING}
            block.append({"scenario": name, "contract": contract or MISSING, "verdicts": list(verdicts),
                          "reasons": list(reasons), "figures": figures,
                          "same": len(present) <= 1 and MISSING not in verdicts})
        for i, row in enumerate(block):
            row["first"], row["nrows"] = i == 0, len(block)
        rows.extend(block)
    return rows


def _violations(sc: ScenarioResult) -> str:
    parts = []
    for c in sc.contracts:
        if c.verdict == "violated":
            info = set(c.informational)
            an = ", ".join(f"{k} {a.get('count') if isinstance(a, dict) else a}"
                           for k, a in c.anomalies.items() if k not in info)
            parts.append(c.contract + (f" ({an})" if an else ""))
    return "violated: " + "; ".join(parts)


def glance_cell(sc: ScenarioResult | dict | None) -> str:
    """One scenario of one run in a few words: its status, and what broke or how fast it
    recovered. A dict is read as a stored ``result.json``."""
    if sc is None:
        return MISSING
    if isinstance(sc, dict):
        sc = ScenarioResult.from_dict(sc)
    if sc.figures.get("not_applicable"):
        return "not applicable"
    if sc.status == "error":
        return f"error: {sc.error or '?'}"
    if sc.status == "violated":
        return _violations(sc)
    if sc.status == "unknown":
        return "unknown: " + ", ".join(c.contract for c in sc.contracts if c.verdict == "unknown")
    rec = sc.figures.get("recovery_s")
    # a recovery under 0.05 s means no client noticed the fault: say just "held"
    held = isinstance(rec, (int, float)) and not isinstance(rec, bool) and rec >= 0.05
    return f"held; recovery {figure('recovery_s').fmt(rec)}" if held else sc.status


def glance_rows(runs: list[Run]) -> list[tuple[str, list[str]]]:
    return [(name, [glance_cell(r.scenario(name)) for r in runs]) for name in scenario_names(runs)]


# -- HTML ---------------------------------------------------------------------
def _glance_class(text: str) -> str:
    return verdict_class(text.split(":")[0].split(";")[0])


def _html(runs: list[Run], rows: list[dict]) -> str:
    glance = [(name, [(c, _glance_class(c)) for c in cells]) for name, cells in glance_rows(runs)]
    return render("compare.html.j2", runs=runs, rows=rows, glance=glance,
                  headers=[column_header(keys) for keys in COLUMNS])


# -- Markdown -------------------------------------------------------------------
def md_cell(x: Any) -> str:
    """Text safe inside a GitHub table cell (one line, no raw pipes or tags)."""
    s = "" if x is None else str(x)
    s = s.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(s.split())


def md_code(x: Any) -> str:
    """An inline code span showing ``x`` verbatim on one line (outside tables)."""
    s = " ".join(str(x or "").split())
    longest, n = 0, 0
    for ch in s:
        n = n + 1 if ch == "`" else 0
        longest = max(longest, n)
    fence = "`" * (longest + 1)
    return f"{fence} {s} {fence}" if s.startswith("`") or s.endswith("`") else f"{fence}{s}{fence}"


def _markdown(runs: list[Run], rows: list[dict]) -> str:
    out = [f"# Comparison of {len(runs)} runs", ""]
    for r in runs:
        res = r.result
        versions = "".join(f"{k} {md_cell(v)}, " for k, v in version_items(res))
        out.append(f"- **{md_cell(r.label)}**: kind {md_cell(res.kind)}, {versions}"
                   f"seed {md_cell(res.seed)}, overall **{md_cell(res.overall)}**; "
                   f"re-run: {md_code(res.command)}")
    out += ["", "## At a glance", "", "| scenario | " + " | ".join(md_cell(r.result.profile) for r in runs)
            + " |", "|" + "|".join(["---"] * (len(runs) + 1)) + "|"]
    for name, cells in glance_rows(runs):
        out.append("| " + " | ".join(md_cell(c) for c in [name, *[
            f"**{c}**" if c.startswith(("violated", "error")) else c for c in cells]]) + " |")
    out += ["", "## Every contract and figure", ""]
    header = ["scenario", "contract"]
    for r in runs:
        header.append(f"{r.label} verdict")
        header += [column_header(keys) for keys in COLUMNS]
    header.append("same")
    out.append("| " + " | ".join(md_cell(h) for h in header) + " |")
    out.append("|" + "|".join(["---"] * len(header)) + "|")
    for row in rows:
        cells = [row["scenario"] if row["first"] else "", row["contract"]]
        for i, _ in enumerate(runs):
            v = row["verdicts"][i]
            cells.append(f"**{v}**" if v in ("violated", "error") else v)
            cells += row["figures"][i] if row["first"] else [""] * len(COLUMNS)
        cells.append("yes" if row["same"] else "**no**")
        out.append("| " + " | ".join(md_cell(c) for c in cells) + " |")
    out += ["", "Figures are per scenario and appear on its first row; "
            f"{MISSING} means the run has no such scenario or value.", ""]
    return "\n".join(out)


def compare(run_dirs: list[Path], out_dir: Path) -> tuple[Path, Path]:
    """Write ``out_dir/compare.html`` and ``out_dir/compare.md``; returns both paths.

    Raises :class:`ReportError` (one line, naming the file) if a run's results.json
    cannot be read or an output cannot be written; never anything else."""
    runs = load_runs([Path(d) for d in run_dirs])
    out_dir = Path(out_dir)
    try:
        rows = build_rows(runs)
        html, md = _html(runs, rows), _markdown(runs, rows)
    except Exception as e:   # the contract: a ReportError naming the files, whatever the input
        log.error("comparing %s failed", ", ".join(map(str, run_dirs)), exc_info=True)
        raise ReportError(f"{', '.join(str(Path(d) / 'results.json') for d in run_dirs)}: cannot "
                          f"compare: {type(e).__name__}: {one_line(e)}") from e
    html_path, md_path = out_dir / "compare.html", out_dir / "compare.md"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        html_path.write_text(html, encoding="utf-8", errors="replace")
        md_path.write_text(md, encoding="utf-8", errors="replace")
    except OSError as e:
        raise ReportError(f"{out_dir}: cannot write the comparison: {one_line(e.strerror or e)}") from None
    log.info("wrote %s and %s", html_path, md_path)
    return html_path, md_path
