"""``summary.md``: a run's result as a CI step summary (Markdown), from the typed RunResult.

The overall verdict and exit code, a table scenario / status / contracts / duration, what
was left out and why, the first reason of every contract that did not hold, and the exact
re-run command. Every run directory gets one (``kfchaos.certify.render_all``); when
``GITHUB_STEP_SUMMARY`` names a file it is appended there too. Text from results is
escaped: it cannot break the table or inject HTML.

``eta_text`` is the progress figure of ``kfchaos certify`` ("scenario 3/12 ... ETA 6m 10s").
"""
from __future__ import annotations

import html
import logging
import os
from pathlib import Path

from kfchaos.results import RunResult, ScenarioResult

__all__ = ["render_summary", "write_summary", "eta_text", "duration_text"]

log = logging.getLogger("chaos.report")
REASON_CHARS = 300


def duration_text(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def eta_text(done: int, total: int, elapsed_s: float) -> str:
    """"ETA 6m 10s" for the scenarios not finished yet, from the mean duration of the
    ``done`` finished so far; "" before the first one finishes."""
    if done <= 0 or total <= done:
        return ""
    return f"ETA {duration_text(elapsed_s / done * (total - done))}"


def _cell(text) -> str:
    """Text for one table cell: no line break, no pipe, no HTML."""
    text = " ".join(str(text).split())
    return html.escape(text, quote=False).replace("|", "\\|")


def _code(text: str) -> str:
    """A fenced code block that the text cannot close."""
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text}\n{fence}"


def _status(s: ScenarioResult) -> str:
    if s.figures.get("not_applicable"):
        return "not applicable"
    return s.status if s.status == "held" else f"**{s.status}**"


def _contracts(s: ScenarioResult) -> str:
    if s.figures.get("not_applicable"):
        return _cell(s.figures["not_applicable"])
    cs = ", ".join(f"{c.contract}={c.verdict}" for c in s.contracts)
    if s.error:
        cs = f"{cs}; error: {s.error}" if cs else f"error: {s.error}"
    return _cell(cs or "-")


def render_summary(result: RunResult) -> str:
    overall = result.overall
    lines = [f"## Chaos certification of `{_cell(result.profile)}`: {overall.upper()}", ""]
    facts = [f"overall **{overall}** (exit code {result.exit_code})"]
    if result.kind:
        facts.append(f"kind {_cell(result.kind)}")
    if result.seed is not None:
        facts.append(f"seed {result.seed}")
    facts.append(f"{len(result.scenarios)} of {len(result.chosen)} scenarios finished")
    if result.started and result.finished and result.finished >= result.started:
        facts.append(duration_text(result.finished - result.started))
    lines.append(" · ".join(facts))
    if result.interrupted:
        lines += ["", f"Interrupted: {_cell(result.interrupted)}"]
    lines += ["", "| scenario | status | contracts | duration |", "|---|---|---|---|"]
    for s in result.scenarios:
        lines.append(f"| {_cell(s.name)} | {_status(s)} | {_contracts(s)} | {duration_text(s.duration_s)} |")
    for name in result.missing:
        lines.append(f"| {_cell(name)} | **no result** | the run ended before this scenario finished | |")
    if result.left_out:
        lines += ["", "Left out:", ""]
        lines += [f"- {_cell(n)}: {_cell(why)}" for n, why in result.left_out.items()]
    failed = [(s, c) for s in result.scenarios if not s.figures.get("not_applicable")
              for c in s.contracts if c.verdict != "held"]
    if failed:
        lines += ["", "Contracts that did not hold:", ""]
        for s, c in failed:
            reason = c.reason if len(c.reason) <= REASON_CHARS else c.reason[:REASON_CHARS] + "..."
            lines.append(f"- {_cell(s.name)} / {_cell(c.contract)}: {c.verdict}"
                         + (f": {_cell(reason)}" if reason else ""))
    if result.command:
        lines += ["", "Re-run:", "", _code(" ".join(str(result.command).split()))]
    return "\n".join(lines) + "\n"


def write_summary(result: RunResult, path: Path) -> Path:
    """``summary.md`` at ``path``; also appended to $GITHUB_STEP_SUMMARY when that is set."""
    text = render_summary(result)
    path = Path(path)
    path.write_text(text)
    step = os.environ.get("GITHUB_STEP_SUMMARY")
    if step:
        try:
            with open(step, "a") as fh:
                fh.write(text + "\n")
        except OSError as exc:
            log.warning("could not append to GITHUB_STEP_SUMMARY %s: %s", step, exc.strerror or exc)
    return path
