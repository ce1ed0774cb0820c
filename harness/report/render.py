"""Render one run directory as a single self-contained ``report.html``.

:func:`render_report` reads ``run_dir/results.json`` (and each scenario's
``history.jsonl`` and ``schedule.json`` when present) and writes
``run_dir/report.html`` with inline CSS and inline SVG only: no script, font,
stylesheet or image is loaded from anywhere.  It renders, in order:

* the header: profile (and its description), kind, seed, run id, the overall
  verdict in its colour, start/finish time (UTC), duration, bring-up time per
  component and the images used;
* the exact re-run command (results.json ``command``) in a ``<code>`` block
  that selects whole on click;
* the contract table (``id="contract-table"``): one row per scenario, one
  column per contract, each cell ``held``/``violated``/``unknown`` coloured;
* per scenario: title, status, description, the error (if any), the
  timeline (fault windows shaded and labelled), throughput (ok sends and
  polled records per second) and latency (send invoke→ok p50/p99 per second)
  plots, the figures, each contract's verdict and reason, and up to 10
  examples per anomaly type as tables;
* links to the container logs, junit.xml and allure-results when present.

Every text taken from the run is escaped with :func:`html.escape`.  A scenario
without a history (e.g. status ``error``) is shown with its error and no plots.
"""
from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from .plots import line_plot_svg, timeline_svg
from .series import Series, series_from_path

__all__ = ["render_report", "load_results", "CSS", "FIGURES", "fmt_figure", "verdict_cell",
           "MAX_EXAMPLES"]

MAX_EXAMPLES = 10
VERDICTS = ("held", "violated", "unknown", "error")

#: figure key → (label, kind); kind drives :func:`fmt_figure`.
FIGURES: dict[str, tuple[str, str]] = {
    "lost": ("lost records", "int"),
    "duplicates": ("duplicates", "int"),
    "producer_epoch_bumps": ("producer epoch bumps", "int"),
    "recovery_s": ("recovery", "s"),
    "records_replayed": ("records replayed", "int"),
    "live_p99_ms_during_fault": ("live p99 during fault", "ms"),
    "baseline_p99_ms": ("baseline p99", "ms"),
    "throughput_ok_per_s": ("throughput (ok sends)", "rate"),
    "failed_checkpoints": ("failed checkpoints", "int"),
    "bytes_on_broker_disks": ("bytes on broker disks", "bytes"),
    "bytes_in_object_storage": ("bytes in object storage", "bytes"),
    "saturated_first": ("saturated first", "str"),
}

CSS = """
:root{--held:#1a7f37;--held-bg:#dafbe1;--viol:#cf222e;--viol-bg:#ffebe9;--unk:#9a6700;
--unk-bg:#fff8c5;--err:#8250df;--err-bg:#fbefff;--muted:#57606a;--line:#d0d7de}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;
margin:0 auto;max-width:1200px;padding:16px 24px;background:#fff}
h1{font-size:22px;margin:4px 0 8px}h2{font-size:18px;margin:0 0 4px}
h3{font-size:15px;margin:14px 0 6px}a{color:#0969da}
header .meta{display:flex;flex-wrap:wrap;gap:4px 20px;color:var(--muted)}
header .meta b{color:#1f2328;font-weight:600}
.banner{display:inline-block;padding:2px 12px;border-radius:12px;font-weight:700;
text-transform:uppercase;letter-spacing:.04em;border:1px solid}
.held{color:var(--held);background:var(--held-bg);border-color:var(--held)}
.violated{color:var(--viol);background:var(--viol-bg);border-color:var(--viol)}
.unknown{color:var(--unk);background:var(--unk-bg);border-color:var(--unk)}
.error{color:var(--err);background:var(--err-bg);border-color:var(--err)}
.na{color:var(--muted)}
pre.cmd{background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:8px 12px;
white-space:pre-wrap;word-break:break-all}
pre.cmd code{user-select:all;font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
table{border-collapse:collapse;margin:6px 0 10px}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
td.verdict{font-weight:600;text-align:center;border-color:var(--line)}
td.num{text-align:right;font-variant-numeric:tabular-nums}
table.examples td{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;max-width:420px;
overflow-wrap:anywhere}
section.scenario{border-top:2px solid var(--line);margin-top:22px;padding-top:12px}
.status{font-size:12px;padding:1px 8px;margin-left:8px;vertical-align:middle}
.description{white-space:pre-line;color:#333;margin:6px 0}
.muted{color:var(--muted);fill:var(--muted)}
pre.error-text{background:var(--err-bg);border:1px solid var(--err);padding:8px;white-space:pre-wrap}
.plots svg{display:block;margin:4px 0 8px;max-width:100%}
.cols{display:flex;flex-wrap:wrap;gap:8px 28px}
details pre{max-height:320px;overflow:auto;background:#f6f8fa;padding:8px;font-size:12px}
svg text{font:11px system-ui,sans-serif;fill:#1f2328}
svg .plot-title{font-size:13px;font-weight:600}
svg .tick-label,svg .unit-label,svg .lane-label{fill:var(--muted)}
svg .axis,svg .tick{stroke:#8c959f}svg .grid{stroke:#eaeef2}
svg .fault-window{fill:rgba(207,34,46,.18);stroke:var(--viol);stroke-width:1}
svg .fault-window.open{stroke-dasharray:4 3}
svg .fault-shade{fill:rgba(207,34,46,.09)}
svg .fault-label{font-size:11px;fill:#82071e}
svg .line{fill:none;stroke-width:1.6}svg circle.line{stroke-width:0}
svg .sends-ok{stroke:#0969da}svg circle.sends-ok{fill:#0969da}
svg .polled{stroke:#1a7f37}svg circle.polled{fill:#1a7f37}
svg .sends-err{stroke:#cf222e;stroke-dasharray:3 2}svg circle.sends-err{fill:#cf222e}
svg .p50{stroke:#0969da}svg circle.p50{fill:#0969da}
svg .p99{stroke:#bc4c00}svg circle.p99{fill:#bc4c00}
svg .event{fill:#8250df;stroke:#8250df}svg .event-bad{fill:#cf222e;stroke:#cf222e}
svg line.event{stroke-width:1.5}
svg .producer-event{fill:#bc4c00;stroke:#bc4c00}
"""


def _e(x: Any) -> str:
    return escape("" if x is None else str(x), quote=True)


def load_results(run_dir: str | Path) -> dict:
    """``run_dir/results.json`` as a dict (raises FileNotFoundError if absent)."""
    with open(Path(run_dir) / "results.json", encoding="utf-8") as fh:
        return json.load(fh)


def fmt_time(epoch: float | None) -> str:
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def fmt_figure(key: str, v: Any) -> str:
    """Plain-text rendering of figure ``key`` (``—`` when missing)."""
    if v is None:
        return "—"
    kind = FIGURES.get(key, ("", "str"))[1]
    try:
        if kind == "int":
            return f"{int(v):,}"
        if kind == "s":
            return f"{float(v):.1f} s"
        if kind == "ms":
            return f"{float(v):,.0f} ms" if float(v) >= 10 else f"{float(v):.2f} ms"
        if kind == "rate":
            return f"{float(v):,.0f}/s"
        if kind == "bytes":
            return fmt_bytes(float(v))
    except (TypeError, ValueError):
        pass
    return str(v)


def verdict_class(v: Any) -> str:
    return v if v in VERDICTS else "na"


def verdict_cell(v: Any, title: str | None = None, tag: str = "td") -> str:
    t = f' title="{_e(title)}"' if title else ""
    return f'<{tag} class="verdict {verdict_class(v)}"{t}>{_e(v if v else "—")}</{tag}>'


def slug(name: str) -> str:
    return "scenario-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "x")


def contract_names(scenarios: list[dict]) -> list[str]:
    names: list[str] = []
    for sc in scenarios:
        for c in sc.get("contracts") or []:
            if c.get("contract") not in names:
                names.append(c.get("contract"))
    return names


# -- sections ----------------------------------------------------------------
def _header(res: dict) -> str:
    overall = res.get("overall") or "unknown"
    started, finished = res.get("started"), res.get("finished")
    dur = f"{finished - started:.0f} s" if started is not None and finished is not None else "—"
    bring = (res.get("platform") or {}).get("bringup_seconds") or {}
    images = (res.get("platform") or {}).get("images") or {}
    meta = [("profile", res.get("profile")), ("kind", res.get("kind")), ("seed", res.get("seed")),
            ("run", res.get("run_id")), ("started", fmt_time(started)),
            ("finished", fmt_time(finished)), ("duration", dur)]
    if bring:
        # Components start in parallel phases: the platform reports its own total.
        total = bring.get("total") if isinstance(bring.get("total"), (int, float)) else max(
            (float(x) for x in bring.values() if isinstance(x, (int, float))), default=0.0)
        meta.append(("bring-up", f"{total:.1f} s"))
    out = ["<header>",
           f'<h1>Chaos run: {_e(res.get("profile"))} '
           f'<span class="banner {verdict_class(overall)}" id="overall">{_e(overall)}</span></h1>']
    if res.get("profile_description"):
        out.append(f'<p class="description">{_e(res["profile_description"])}</p>')
    out.append('<div class="meta">' + "".join(
        f"<span>{_e(k)}: <b>{_e(v)}</b></span>" for k, v in meta) + "</div>")
    out.append("<h3>Re-run</h3>")
    out.append(f'<pre class="cmd"><code id="rerun-command">{_e(res.get("command") or "")}'
               "</code></pre>")
    if bring or images:
        out.append('<div class="cols">')
        if bring:
            out.append("<table><tr><th>component</th><th>bring-up</th></tr>" + "".join(
                f'<tr><td>{_e(k)}</td><td class="num">{_e(fmt_figure("recovery_s", v))}</td></tr>'
                for k, v in bring.items()) + "</table>")
        if images:
            out.append("<table><tr><th>role</th><th>image</th></tr>" + "".join(
                f"<tr><td>{_e(k)}</td><td><code>{_e(v)}</code></td></tr>"
                for k, v in images.items()) + "</table>")
        out.append("</div>")
    out.append("</header>")
    return "\n".join(out)


def _contract_table(scenarios: list[dict]) -> str:
    names = contract_names(scenarios)
    out = ['<table id="contract-table"><thead><tr><th>scenario</th><th>status</th>']
    out += [f"<th>{_e(n)}</th>" for n in names]
    out.append("</tr></thead><tbody>")
    for sc in scenarios:
        by = {c.get("contract"): c for c in sc.get("contracts") or []}
        out.append(f'<tr data-scenario="{_e(sc.get("name"))}"><th>'
                   f'<a href="#{_e(slug(str(sc.get("name"))))}">{_e(sc.get("name"))}</a></th>')
        out.append(verdict_cell(sc.get("status"), sc.get("error")))
        for n in names:
            c = by.get(n)
            out.append(verdict_cell(c.get("verdict"), c.get("reason")) if c else
                       '<td class="verdict na">—</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _cell_value(k: str, v: Any, t0: int | None) -> str:
    if k == "time" and isinstance(v, int) and t0 is not None:
        return f'<span title="{_e(v)}">+{(v - t0) / 1e9:.3f}s</span>'
    if k == "wall" and isinstance(v, (int, float)):
        return f'<span title="{_e(v)}">{_e(fmt_time(v))}</span>'
    if k == "fault_windows" and isinstance(v, list) and all(isinstance(w, dict) for w in v):
        return _e(", ".join(f"{w.get('fault')} ({w.get('fault_id')})" for w in v) or "none")
    if k == "client_events" and isinstance(v, list) and all(isinstance(e, dict) for e in v):
        return _e("; ".join(_client_event(e, t0) for e in v) or "none")
    if isinstance(v, (dict, list)):
        s = json.dumps(v, separators=(",", ":"), default=str, sort_keys=True)
        return _e(s if len(s) <= 400 else s[:399] + "…")
    return _e(v)


def _client_event(e: dict, t0: int | None) -> str:
    """``epoch-bump at +12.345s (skipped sequence numbers)``, ``epoch-bumped ... pid 7001
    epoch 1``."""
    t = e.get("time")
    at = f" at +{(t - t0) / 1e9:.3f}s" if isinstance(t, int) and t0 is not None else ""
    what = e.get("reason") or e.get("detail") or (
        f"pid {e.get('pid')} epoch {e.get('epoch')}" if e.get("pid") is not None else "")
    return f"{e.get('event')}{at}" + (f" ({what})" if what else "")


def _examples(contract: dict, t0: int | None) -> str:
    out = []
    for kind, a in (contract.get("anomalies") or {}).items():
        a = a if isinstance(a, dict) else {"count": a}
        exs = [x if isinstance(x, dict) else {"value": x}
               for x in (a.get("examples") or [])[:MAX_EXAMPLES]]
        out.append(f'<h3>{_e(contract.get("contract"))}: {_e(kind)} '
                   f'<span class="muted">({_e(a.get("count", len(exs)))} found, '
                   f"{len(exs)} shown)</span></h3>")
        if not exs:
            continue
        cols: list[str] = []
        for x in exs:
            cols += [k for k in x if k not in cols]
        out.append(f'<table class="examples" data-anomaly="{_e(kind)}"><tr>'
                   + "".join(f"<th>{_e(c)}</th>" for c in cols) + "</tr>")
        for x in exs:
            out.append("<tr>" + "".join(f"<td>{_cell_value(c, x.get(c), t0)}</td>"
                                        for c in cols) + "</tr>")
        out.append("</table>")
    return "\n".join(out)


def _plots(s: Series) -> str:
    summary = (f"{s.ops:,} ops over {s.duration_s:.1f} s; {sum(s.sends_ok):,} sends ok, "
               f"{sum(s.sends_err):,} failed or indeterminate; {sum(s.polled):,} records polled; "
               f"{len(s.faults)} fault window(s)")
    return "\n".join([
        '<div class="plots">', f'<p class="muted">{_e(summary)}</p>',
        timeline_svg(s),
        line_plot_svg(s, [("ok sends/s", s.sends_ok, "sends-ok"),
                          ("polled records/s", s.polled, "polled"),
                          ("failed+unknown sends/s", s.sends_err, "sends-err")],
                      "Throughput", "per second", log=False),
        line_plot_svg(s, [("p50", s.lat_p50, "p50"), ("p99", s.lat_p99, "p99")],
                      "Send latency, invoke → ok (by invoke second)", "ms"),
        "</div>"])


def _contracts_box(contracts: list[dict]) -> str:
    if not contracts:
        return '<div><h3>Contracts</h3><p class="muted">No contract evaluated.</p></div>'
    rows = "".join(f'<tr><td>{_e(c.get("contract"))}</td>{verdict_cell(c.get("verdict"))}'
                   f'<td>{_e(", ".join(map(str, c.get("checkers") or [])))}</td>'
                   f'<td>{_e(c.get("reason"))}</td></tr>' for c in contracts)
    return ("<div><h3>Contracts</h3><table><tr><th>contract</th><th>verdict</th>"
            f"<th>checkers</th><th>reason</th></tr>{rows}</table></div>")


def _scenario(run_dir: Path, sc: dict) -> str:
    name = str(sc.get("name"))
    status = sc.get("status") or "unknown"
    out = [f'<section class="scenario" id="{_e(slug(name))}" data-scenario="{_e(name)}">',
           f'<h2>{_e(name)}<span class="banner status {verdict_class(status)}">{_e(status)}</span></h2>']
    if sc.get("title"):
        out.append(f"<div><b>{_e(sc['title'])}</b></div>")
    if sc.get("description"):
        out.append(f'<p class="description">{_e(str(sc["description"]).strip())}</p>')
    if sc.get("error"):
        out.append(f'<h3>Error</h3><pre class="error-text">{_e(sc["error"])}</pre>')
    series: Series | None = None
    hist = sc.get("history")
    if hist and (run_dir / hist).is_file():
        try:
            series = series_from_path(run_dir / hist)
        except (ValueError, KeyError, TypeError) as e:
            out.append(f'<pre class="error-text">history {_e(hist)} unreadable: {_e(e)}</pre>')
    else:
        out.append(f'<p class="muted">No history recorded{": " + _e(hist) + " missing" if hist else ""}.</p>')
    if series is not None:
        out.append(_plots(series) if series.ops else '<p class="muted">The history is empty.</p>')
    figs = sc.get("figures") or {}
    rows = [(FIGURES.get(k, (k, ""))[0], fmt_figure(k, v), k) for k, v in figs.items()]
    if sc.get("duration_s") is not None:
        rows.insert(0, ("scenario duration", fmt_figure("recovery_s", sc["duration_s"]), "duration_s"))
    out.append('<div class="cols"><div><h3>Figures</h3><table class="figures">' + "".join(
        f'<tr data-figure="{_e(k)}"><th>{_e(label)}</th><td class="num">{_e(val)}</td></tr>'
        for label, val, k in rows) + "</table></div>")
    contracts = sc.get("contracts") or []
    out.append(_contracts_box(contracts) + "</div>")
    t0 = series.t0 if series is not None else None
    for c in contracts:
        out.append(_examples(c, t0))
    links = [(p, p) for p in (hist, sc.get("schedule")) if p and (run_dir / p).is_file()]
    if links:
        out.append("<p>" + " · ".join(f'<a href="{_e(p)}">{_e(label)}</a>' for p, label in links)
                   + "</p>")
    sched = sc.get("schedule")
    if sched and (run_dir / sched).is_file():
        text = (run_dir / sched).read_text(encoding="utf-8", errors="replace")
        text = text if len(text) <= 20000 else text[:20000] + "\n…"
        out.append(f"<details><summary>fault schedule</summary><pre>{_e(text)}</pre></details>")
    out.append("</section>")
    return "\n".join(out)


def _artifacts(run_dir: Path) -> str:
    items = []
    logs = sorted((run_dir / "logs").glob("*.log")) if (run_dir / "logs").is_dir() else []
    for p in ("junit.xml", "allure-results"):
        if (run_dir / p).exists():
            items.append(f'<a href="{_e(p)}">{_e(p)}</a>')
    items += [f'<a href="logs/{_e(p.name)}">{_e(p.name)}</a>' for p in logs]
    if not items:
        return ""
    return '<section class="artifacts"><h2>Artifacts</h2><p>' + " · ".join(items) + "</p></section>"


def render_html(run_dir: str | Path, results: dict | None = None) -> str:
    """The report for ``run_dir`` as an HTML string."""
    run_dir = Path(run_dir)
    res = results if results is not None else load_results(run_dir)
    scenarios = res.get("scenarios") or []
    body = [_header(res), "<h2>Contracts</h2>", _contract_table(scenarios)]
    body += [_scenario(run_dir, sc) for sc in scenarios]
    body.append(_artifacts(run_dir))
    title = f"chaos report: {res.get('profile')} ({res.get('overall')})"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def render_report(run_dir: str | Path) -> Path:
    """Write ``run_dir/report.html``; returns its path."""
    run_dir = Path(run_dir)
    out = run_dir / "report.html"
    tmp = out.with_name(".report.html.tmp")
    tmp.write_text(render_html(run_dir), encoding="utf-8")
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m harness.report.render RUN_DIR...", file=sys.stderr)
        return 2
    for d in args:
        print(render_report(d))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
