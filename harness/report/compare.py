"""Compare several run directories side by side: ``compare.html`` and ``compare.md``.

:func:`compare` reads each run's ``results.json`` and writes one table to
``out_dir/compare.html`` (self-contained, inline CSS) and the same table as a
GitHub-flavoured Markdown table to ``out_dir/compare.md``:

* rows: one per (scenario, contract), scenarios in first-seen order across
  the runs, contracts in first-seen order within a scenario (a scenario with
  no contract in any run gets one row, contract ``—``, showing its status);
* one column group per run, labelled with its profile and run directory name:
  the contract's verdict, then that run's per-scenario figures: lost,
  duplicates, recovery_s, records_replayed, live p99 during fault, bytes on
  broker disks / in object storage, saturated_first.  Figures belong to the
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
re-run command).  All text is escaped (HTML: :func:`html.escape`; Markdown:
``|``, ``<``, ``>`` and line breaks).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from .render import CSS, fmt_figure, load_results, verdict_cell, verdict_class

__all__ = ["compare", "load_runs", "Run", "COLUMNS", "build_rows", "glance_rows", "glance_cell"]

MISSING = "—"
#: per-run columns after the verdict: (header, figure key(s))
COLUMNS: list[tuple[str, tuple[str, ...]]] = [
    ("lost", ("lost",)),
    ("duplicates", ("duplicates",)),
    ("recovery", ("recovery_s",)),
    ("records replayed", ("records_replayed",)),
    ("live p99 during fault", ("live_p99_ms_during_fault",)),
    ("broker disks / object storage", ("bytes_on_broker_disks", "bytes_in_object_storage")),
    ("saturated first", ("saturated_first",)),
    ("producer epoch bumps", ("producer_epoch_bumps",)),
]


@dataclass
class Run:
    dir: Path
    results: dict

    @property
    def label(self) -> str:
        return f"{self.results.get('profile')} ({self.dir.name})"

    def scenario(self, name: str) -> dict | None:
        for sc in self.results.get("scenarios") or []:
            if sc.get("name") == name:
                return sc
        return None


def load_runs(run_dirs: list[Path]) -> list[Run]:
    return [Run(Path(d), load_results(d)) for d in run_dirs]


def _figure_cells(sc: dict | None) -> list[str]:
    if sc is None:
        return [MISSING] * len(COLUMNS)
    figs = sc.get("figures") or {}
    out = []
    for _, keys in COLUMNS:
        vals = [fmt_figure(k, figs.get(k)) for k in keys]
        out.append(MISSING if all(v == MISSING for v in vals) else " / ".join(vals))
    return out


def scenario_names(runs: list[Run]) -> list[str]:
    """Every scenario of the runs, in first-seen order."""
    names: list[str] = []
    for r in runs:
        for sc in r.results.get("scenarios") or []:
            if sc.get("name") not in names:
                names.append(sc.get("name"))
    return names


def build_rows(runs: list[Run]) -> list[dict]:
    """One dict per table row: scenario, contract, first (first row of its
    scenario), nrows (rows of its scenario), verdicts (per run), reasons,
    figures (per run: list of cells), same (bool)."""
    rows: list[dict] = []
    for name in scenario_names(runs):
        scs = [r.scenario(name) for r in runs]
        contracts: list[str] = []
        for sc in scs:
            for c in (sc or {}).get("contracts") or []:
                if c.get("contract") not in contracts:
                    contracts.append(c.get("contract"))
        figures = [_figure_cells(sc) for sc in scs]
        block = []
        for contract in contracts or [None]:
            verdicts, reasons = [], []
            for sc in scs:
                if sc is None:
                    verdicts.append(MISSING)
                    reasons.append(None)
                    continue
                c = next((c for c in sc.get("contracts") or []
                          if c.get("contract") == contract), None) if contract else None
                if c is not None:
                    verdicts.append(c.get("verdict") or "unknown")
                    reasons.append(c.get("reason"))
                else:
                    st = sc.get("status")
                    verdicts.append(st if (contract is None or st == "error") and st else MISSING)
                    reasons.append(sc.get("error"))
            present = {v for v in verdicts if v != MISSING}
            block.append({"scenario": name, "contract": contract or MISSING, "verdicts": verdicts,
                          "reasons": reasons, "figures": figures,
                          "same": len(present) <= 1 and MISSING not in verdicts})
        for i, row in enumerate(block):
            row["first"], row["nrows"] = i == 0, len(block)
        rows.extend(block)
    return rows


def glance_cell(sc: dict | None) -> str:
    """One scenario of one run in a few words: its status, and what broke or how fast it recovered."""
    if sc is None:
        return MISSING
    status = sc.get("status") or "unknown"
    figs = sc.get("figures") or {}
    if figs.get("not_applicable"):
        return "not applicable"
    if status == "error":
        return f"error: {sc.get('error') or '?'}"
    if status == "violated":
        parts = []
        for c in sc.get("contracts") or []:
            if c.get("verdict") == "violated":
                info = set(c.get("informational") or ())
                an = ", ".join(f"{k} {a.get('count')}" for k, a in (c.get("anomalies") or {}).items()
                               if k not in info)
                parts.append(f"{c.get('contract')}" + (f" ({an})" if an else ""))
        return "violated: " + "; ".join(parts)
    if status == "unknown":
        unk = [c.get("contract") for c in sc.get("contracts") or [] if c.get("verdict") == "unknown"]
        return "unknown: " + ", ".join(str(u) for u in unk)
    rec = figs.get("recovery_s")
    # a recovery under 0.05 s means no client noticed the fault: say just "held"
    return f"held; recovery {fmt_figure('recovery_s', rec)}" if isinstance(rec, (int, float)) and rec >= 0.05 \
        else status


def glance_rows(runs: list[Run]) -> list[tuple[str, list[str]]]:
    return [(name, [glance_cell(r.scenario(name)) for r in runs]) for name in scenario_names(runs)]


# -- HTML ---------------------------------------------------------------------
_COMPARE_CSS = """
body{max-width:none}
table.compare{font-size:13px}
table.compare th.run{text-align:center;border-left:3px solid #8c959f}
table.compare td.group-start,table.compare th.group-start{border-left:3px solid #8c959f}
table.compare tr.differs th.contract,table.compare tr.differs td.same{background:#fff8c5}
table.compare td{white-space:nowrap}
"""


def _e(x: Any) -> str:
    return escape("" if x is None else str(x), quote=True)


def _html(runs: list[Run], rows: list[dict]) -> str:
    out = ["<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
           f"<title>chaos compare: {_e(', '.join(r.label for r in runs))}</title>",
           f"<style>{CSS}{_COMPARE_CSS}</style></head><body>",
           f"<h1>Comparison of {len(runs)} runs</h1>",
           "<table><tr><th>run</th><th>kind</th><th>seed</th><th>overall</th><th>command</th></tr>"]
    for r in runs:
        res = r.results
        out.append(f"<tr><td>{_e(r.label)}</td><td>{_e(res.get('kind'))}</td>"
                   f"<td>{_e(res.get('seed'))}</td>{verdict_cell(res.get('overall'))}"
                   f"<td><code>{_e(res.get('command'))}</code></td></tr>")
    out.append("</table>")
    out.append('<h2>At a glance</h2><table id="glance-table"><tr><th>scenario</th>'
               + "".join(f"<th>{_e(r.results.get('profile'))}</th>" for r in runs) + "</tr>")
    for name, cells in glance_rows(runs):
        out.append(f"<tr><th>{_e(name)}</th>" + "".join(
            f'<td class="verdict {verdict_class(c.split(":")[0].split(";")[0])}">{_e(c)}</td>' for c in cells)
            + "</tr>")
    out.append("</table><h2>Every contract and figure</h2>")
    span = 1 + len(COLUMNS)
    out.append('<table class="compare" id="compare-table"><colgroup><col><col></colgroup>')
    out += [f'<colgroup class="run" span="{span}"></colgroup>' for _ in runs]
    out.append('<colgroup><col></colgroup><thead><tr><th rowspan="2">scenario</th>'
               '<th rowspan="2">contract</th>')
    for r in runs:
        out.append(f'<th class="run" colspan="{span}">{_e(r.results.get("profile"))}<br>'
                   f'<small class="muted">{_e(r.dir.name)}</small></th>')
    out.append('<th rowspan="2">same</th></tr><tr>')
    for _ in runs:
        out.append('<th class="group-start">verdict</th>'
                   + "".join(f"<th>{_e(h)}</th>" for h, _ in COLUMNS))
    out.append("</tr></thead><tbody>")
    for row in rows:
        cls = "" if row["same"] else ' class="differs"'
        out.append(f'<tr{cls} data-scenario="{_e(row["scenario"])}" '
                   f'data-contract="{_e(row["contract"])}">')
        if row["first"]:
            out.append(f'<th rowspan="{row["nrows"]}">{_e(row["scenario"])}</th>')
        out.append(f'<th class="contract">{_e(row["contract"])}</th>')
        for i, _ in enumerate(runs):
            out.append(verdict_cell(row["verdicts"][i], row["reasons"][i])
                       .replace('class="verdict', 'class="group-start verdict', 1))
            if row["first"]:
                out += [f'<td class="num" rowspan="{row["nrows"]}">{_e(c)}</td>'
                        for c in row["figures"][i]]
        out.append(f'<td class="same">{"yes" if row["same"] else "no"}</td></tr>')
    out.append("</tbody></table>")
    out.append("</body></html>\n")
    return "\n".join(out)


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
        res = r.results
        out.append(f"- **{md_cell(r.label)}**: kind {md_cell(res.get('kind'))}, "
                   f"seed {md_cell(res.get('seed'))}, overall **{md_cell(res.get('overall'))}**; "
                   f"re-run: {md_code(res.get('command'))}")
    out += ["", "## At a glance", "", "| scenario | " + " | ".join(md_cell(r.results.get("profile")) for r in runs)
            + " |", "|" + "|".join(["---"] * (len(runs) + 1)) + "|"]
    for name, cells in glance_rows(runs):
        out.append("| " + " | ".join(md_cell(c) for c in [name, *[
            f"**{c}**" if c.startswith(("violated", "error")) else c for c in cells]]) + " |")
    out += ["", "## Every contract and figure", ""]
    header = ["scenario", "contract"]
    for r in runs:
        header.append(f"{r.label} verdict")
        header += [h for h, _ in COLUMNS]
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
    """Write ``out_dir/compare.html`` and ``out_dir/compare.md``; returns both paths."""
    runs = load_runs([Path(d) for d in run_dirs])
    rows = build_rows(runs)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, md_path = out_dir / "compare.html", out_dir / "compare.md"
    html_path.write_text(_html(runs, rows), encoding="utf-8")
    md_path.write_text(_markdown(runs, rows), encoding="utf-8")
    return html_path, md_path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print("usage: python -m harness.report.compare OUT_DIR RUN_DIR...", file=sys.stderr)
        return 2
    for p in compare([Path(a) for a in args[1:]], Path(args[0])):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
