"""Render one run directory as a single self-contained ``report.html``.

:func:`render_report` loads ``run_dir/results.json`` as a
:class:`kfchaos.results.RunResult` (stored runs in the earlier layout included), reads
each scenario's history (``history.kfh`` or ``history.jsonl``) and ``schedule.json`` when
present, and writes ``run_dir/report.html`` from the jinja2 template ``templates/report.html.j2`` with
inline CSS and inline SVG only: no script, font, stylesheet or image is loaded from
anywhere.  It renders, in order:

* the header: profile (and its description), kind, seed, run id, the overall
  verdict in its colour, start/finish time (UTC), duration, bring-up time per
  component and the images used; an incomplete run says which scenarios have no
  result and why (interrupted);
* the exact re-run command (results.json ``command``) in a ``<code>`` block
  that selects whole on click;
* the contract table (``id="contract-table"``): one row per scenario, one
  column per contract, each cell ``held``/``violated``/``unknown`` coloured;
* per scenario: title, status, description, the error (if any), the
  timeline (fault windows shaded and labelled), throughput (ok sends and
  polled records per second) and latency (send invoke→ok p50/p99 per second)
  plots, the figures (labels and units from :mod:`kfchaos.figures`), each
  contract's verdict and reason, and up to 10 examples per anomaly type as tables;
* links to the container logs, junit.xml and allure-results when present.

Every text taken from the run is escaped (the templates autoescape).  A scenario
without a history (e.g. status ``error``) is shown with its error and no plots.
Files named in results.json are read only if they resolve inside the run directory
(:func:`kfchaos.report.source.confined`); others are ignored with a note.  Whatever
the run directory holds, :func:`render_report` either writes the report or raises
:class:`~kfchaos.report.source.ReportError` (one line, naming the file).
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from kfchaos.figures import FIGURES, fmt
from kfchaos.history_rotation import is_chunk_dir
from kfchaos.results import ContractResult, RunResult, ScenarioResult

from .ramp_view import ramp_view

from .buckets import bucket_size, bucketed
from .plots import line_plot_svg, timeline_svg
from .series import Series, series_from_path
from .source import ReportError, confined, is_file, load_run, one_line, read_head
from .templating import fmt_time, render, slug, verdict_class

__all__ = ["render_report", "render_html", "fmt_figure", "figure_label", "example_cell", "Cell",
           "contract_names", "verdict_class", "slug", "MAX_EXAMPLES", "ReportError"]

log = logging.getLogger("chaos.report")

MAX_EXAMPLES = 10
MAX_SCHEDULE_CHARS = 20_000


def fmt_figure(key: str, value: Any) -> str:
    """Figure ``key``'s value for people (``—`` when missing); see :func:`kfchaos.figures.fmt`."""
    f = FIGURES.get(key)
    return fmt(f.unit if f else "str", value)


def figure_label(key: str) -> str:
    """The registered label of figure ``key`` (the key itself if unregistered)."""
    f = FIGURES.get(key)
    return f.label if f else key


def contract_names(scenarios: list[ScenarioResult]) -> list[str]:
    """Every contract of the scenarios, in first-seen order."""
    names: list[str] = []
    for sc in scenarios:
        names += [c.contract for c in sc.contracts if c.contract not in names]
    return names


# -- anomaly examples ------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """One example table cell: its text and an optional tooltip."""
    text: str
    title: str | None = None


def _rel(t: Any, t0: int | None) -> str | None:
    if isinstance(t, int) and not isinstance(t, bool) and t0 is not None:
        return f"+{(t - t0) / 1e9:.3f}s"
    return None


def _client_event(e: dict, t0: int | None) -> str:
    """``epoch-bump at +12.345s (skipped sequence numbers)``, ``epoch-bumped ... pid 7001 epoch 1``."""
    at = _rel(e.get("time"), t0)
    what = e.get("reason") or e.get("detail") or (
        f"pid {e.get('pid')} epoch {e.get('epoch')}" if e.get("pid") is not None else "")
    return f"{e.get('event')}" + (f" at {at}" if at else "") + (f" ({what})" if what else "")


def example_cell(k: str, v: Any, t0: int | None) -> Cell:
    """Field ``k`` of an anomaly example, readable: monotonic times relative to the
    first op, wall clocks as UTC, fault-window refs and client events as text."""
    if k == "time" and _rel(v, t0):
        return Cell(_rel(v, t0), str(v))
    if k == "wall" and isinstance(v, (int, float)) and not isinstance(v, bool):
        return Cell(fmt_time(v), str(v))
    if k == "fault_windows" and isinstance(v, list) and all(isinstance(w, dict) for w in v):
        return Cell(", ".join(f"{w.get('fault')} ({w.get('fault_id')})" for w in v) or "none")
    if k == "client_events" and isinstance(v, list) and all(isinstance(e, dict) for e in v):
        return Cell("; ".join(_client_event(e, t0) for e in v) or "none")
    if isinstance(v, (dict, list)):
        s = json.dumps(v, separators=(",", ":"), default=str, sort_keys=True)
        return Cell(s if len(s) <= 400 else s[:399] + "…")
    return Cell("" if v is None else str(v))


def _anomalies(c: ContractResult, t0: int | None) -> list[dict]:
    """Per anomaly type of ``c``: count, and up to MAX_EXAMPLES examples as a table."""
    out = []
    for kind, a in c.anomalies.items():
        exs = a.get("examples")
        exs = [x if isinstance(x, dict) else {"value": x}
               for x in (exs[:MAX_EXAMPLES] if isinstance(exs, list) else [])]
        cols: list[str] = []
        for x in exs:
            cols += [str(k) for k in x if str(k) not in cols]
        rows = [[example_cell(col, x.get(col), t0) for col in cols] for x in exs]
        out.append({"contract": c.contract, "kind": kind, "count": a.get("count", len(exs)),
                    "shown": len(exs), "cols": cols, "rows": rows})
    return out


# -- scenario sections -------------------------------------------------------------
def _plots(s: Series) -> Markup:
    """The timeline, throughput and latency plots (SVG built and escaped in plots.py); a long
    history is plotted in buckets of several seconds (:mod:`kfchaos.report.buckets`)."""
    b = bucket_size(s.seconds)
    per = f", {b} s buckets" if b > 1 else ""
    return Markup("\n".join([
        timeline_svg(s),
        line_plot_svg(s, [("ok sends/s", bucketed(s.sends_ok, b, "mean"), "sends-ok"),
                          ("polled records/s", bucketed(s.polled, b, "mean"), "polled"),
                          ("failed+unknown sends/s", bucketed(s.sends_err, b, "mean"), "sends-err")],
                      f"Throughput{' (mean a second' + per + ')' if per else ''}", "per second", log=False, step=b),
        line_plot_svg(s, [("p50", bucketed(s.lat_p50, b, "median"), "p50"),
                          ("p99", bucketed(s.lat_p99, b, "max"), "p99")],
                      f"Send latency, invoke → ok (by invoke second{per}: median p50, worst p99)"
                      if per else "Send latency, invoke → ok (by invoke second)", "ms", step=b)]))


def _series_summary(s: Series) -> str:
    text = (f"{s.ops:,} ops over {s.duration_s:.1f} s; {sum(s.sends_ok):,} sends ok, "
            f"{sum(s.sends_err):,} failed or indeterminate; {sum(s.polled):,} records polled; "
            f"{len(s.faults)} fault window(s)")
    if s.malformed or s.out_of_range:
        text += (f"; left out: {s.malformed:,} malformed op(s), {s.out_of_range:,} op(s) timed "
                 "outside the plotted span")
    return text


def _history(run_dir: Path, sc: ScenarioResult, view: dict) -> Series | None:
    """Fill ``view`` with the history's plots or a note why there are none."""
    hist = sc.history
    path = confined(run_dir, hist) if hist else None
    if hist and path is None:
        log.warning("%s: history %r is outside the run directory; ignored", sc.name, hist)
        view["notes"].append(f"History path {hist} is outside the run directory; ignored.")
        return None
    if not (is_file(path) or is_chunk_dir(path)):
        view["notes"].append("No history recorded" + (f": {hist} missing." if hist else "."))
        return None
    try:
        series = series_from_path(path)
    except (OSError, ValueError, RecursionError) as e:
        log.warning("%s: history %s unreadable: %s", sc.name, hist, e)
        view["history_error"] = f"history {hist} unreadable: {one_line(e)}"
        return None
    if not series.ops:
        view["notes"].append("The history is empty.")
        return series
    view["summary"], view["plots"] = _series_summary(series), _plots(series)
    return series


def _schedule(run_dir: Path, sc: ScenarioResult, view: dict) -> None:
    if not sc.schedule:
        return
    path = confined(run_dir, sc.schedule)
    if path is None:
        log.warning("%s: schedule %r is outside the run directory; ignored", sc.name, sc.schedule)
        view["notes"].append(f"Schedule path {sc.schedule} is outside the run directory; ignored.")
    elif is_file(path):
        try:
            text, more = read_head(path, MAX_SCHEDULE_CHARS)
        except OSError as e:
            view["notes"].append(f"Schedule {sc.schedule} unreadable: {one_line(e)}")
            return
        view["schedule_text"] = text + ("\n…" if more else "")


def _figure_rows(sc: ScenarioResult) -> list[tuple[str, str, str]]:
    """(key, label, value) of the scenario's duration and every figure."""
    rows = [(k, figure_label(k), fmt_figure(k, v)) for k, v in sc.figures.items()
            if not (k == "ramp_steps" and ramp_view(sc.figures) is not None)]   # its own table
    if sc.duration_s is not None:
        rows.insert(0, ("duration_s", "scenario duration", fmt("s", sc.duration_s)))
    return rows


def scenario_view(run_dir: Path, sc: ScenarioResult) -> dict:
    """Everything the scenario section of the template shows."""
    view: dict[str, Any] = {"sc": sc, "slug": slug(sc.name), "notes": [], "history_error": None,
                            "plots": None, "summary": None, "schedule_text": None,
                            "figures": _figure_rows(sc), "ramp": ramp_view(sc.figures),
                            "by_contract": {c.contract: c for c in reversed(sc.contracts)}}
    series = _history(run_dir, sc, view)
    _schedule(run_dir, sc, view)
    t0 = series.t0 if series is not None else None
    view["anomalies"] = [a for c in sc.contracts for a in _anomalies(c, t0)]
    view["links"] = [p for p in (sc.history, sc.schedule)
                     if p and is_file(confined(run_dir, p))]
    return view


# -- header and page ---------------------------------------------------------------
def _numbers(d: Any) -> dict[str, Any]:
    return {str(k): v for k, v in d.items()} if isinstance(d, dict) else {}


def version_items(run: RunResult) -> list[tuple[str, str]]:
    """("kafka", "4.1.1"), ("flink", "2.2.0") of the run's platform, where known."""
    v = run.platform.get("versions") if isinstance(run.platform, dict) else None
    return [(k, str(v[k])) for k in ("kafka", "flink") if isinstance(v, dict) and v.get(k)]


def header_view(run: RunResult) -> dict:
    """The header's meta line, bring-up times and images."""
    started, finished = run.started, run.finished
    dur = f"{finished - started:.0f} s" if started is not None and finished is not None else "—"
    bring, images = _numbers(run.platform.get("bringup_seconds")), _numbers(run.platform.get("images"))
    meta = [("profile", run.profile), ("kind", run.kind), ("seed", run.seed), ("run", run.run_id),
            ("started", fmt_time(started)), ("finished", fmt_time(finished)), ("duration", dur)]
    meta += [(k, v) for k, v in version_items(run)]
    nums = [float(x) for x in bring.values() if isinstance(x, (int, float)) and not isinstance(x, bool)]
    if bring:
        # Components start in parallel phases: the platform reports its own total.
        total = bring.get("total")
        total = total if isinstance(total, (int, float)) else max(nums, default=0.0)
        meta.append(("bring-up", fmt("s", total)))
    return {"meta": meta, "bringup": [(k, fmt("s", v)) for k, v in bring.items()],
            "images": list(images.items())}


def _artifacts(run_dir: Path) -> list[str]:
    """Links to junit.xml, allure-results and the container logs, as far as they exist."""
    try:
        items = [p for p in ("junit.xml", "allure-results") if (run_dir / p).exists()]
        logs = run_dir / "logs"
        if logs.is_dir():
            items += [f"logs/{p.name}" for p in sorted(logs.glob("*.log"))]
    except OSError as e:
        log.warning("%s: cannot list the artifacts: %s", run_dir, e)
        return []
    return items


def render_html(run_dir: str | os.PathLike, run: RunResult | None = None) -> str:
    """The report for ``run_dir`` as an HTML string (``run`` defaults to its results.json)."""
    run_dir = Path(run_dir)
    run = run if run is not None else load_run(run_dir)
    return render("report.html.j2", run=run, overall=run.overall, header=header_view(run),
                  contracts=contract_names(run.scenarios),
                  scenarios=[scenario_view(run_dir, sc) for sc in run.scenarios],
                  artifacts=_artifacts(run_dir))


def render_report(run_dir: str | os.PathLike) -> Path:
    """Write ``run_dir/report.html`` and return its path, or raise :class:`ReportError`."""
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    out = run_dir / "report.html"
    try:
        html = render_html(run_dir, run)
    except Exception as e:   # the contract: a ReportError naming the file, whatever the input
        log.error("rendering %s failed", run_dir, exc_info=True)
        raise ReportError(f"{run_dir / 'results.json'}: cannot render: "
                          f"{type(e).__name__}: {one_line(e)}") from e
    try:
        tmp = out.with_name(".report.html.tmp")
        tmp.write_text(html, encoding="utf-8", errors="replace")
        tmp.replace(out)
    except OSError as e:
        raise ReportError(f"{out}: cannot write: {one_line(e.strerror or e)}") from None
    log.info("wrote %s", out)
    return out
