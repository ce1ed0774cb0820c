"""Inline SVG plots for the HTML reports (no scripts, no external resources).

Renders, from a :class:`kfchaos.report.series.Series`:

* :func:`timeline_svg`: the scenario timeline: one shaded, labelled
  ``<rect class="fault-window">`` per fault window (fault-start invoke to
  fault-stop completion; stacked in lanes when they overlap, dashed when never
  stopped) and a marker per Flink lifecycle op (deploy, upgrade, rollback,
  restore; checkpoints as small ticks, failed ones in red);
* :func:`line_plot_svg`: a line plot of per-second values (gaps where a
  value is ``None``) over the same time axis, with every fault window shaded
  as ``<rect class="fault-shade">``, a legend, and a linear or log y axis.

All plots share the x scale (seconds since the first op) and the margins, so
stacked plots line up.  Every text is escaped; styling comes from the CSS
classes, which the report's stylesheet defines.
"""
from __future__ import annotations

import math
from html import escape
from typing import Sequence

from .series import Series

__all__ = ["timeline_svg", "line_plot_svg", "nice_step", "WIDTH"]

WIDTH = 1100
LEFT, RIGHT = 64, 24
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)


def _e(x: object) -> str:
    return escape(str(x), quote=True)


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def nice_step(span: float, target: int = 10) -> float:
    """A round tick step giving about ``target`` ticks over ``span`` seconds."""
    for s in _STEPS:
        if span / s <= target:
            return s
    return _STEPS[-1] * math.ceil(span / (_STEPS[-1] * target))


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * mag:
            return m * mag
    return 10 * mag


def _fmt_num(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:g}M"
    if v >= 1e4:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


class _X:
    """x scale: seconds [0, span] → pixels [LEFT, width - RIGHT]."""

    def __init__(self, span: float, width: int):
        self.span = max(span, 1.0)
        self.x0, self.x1 = LEFT, width - RIGHT

    def __call__(self, sec: float) -> float:
        sec = min(max(sec, 0.0), self.span)
        return self.x0 + (self.x1 - self.x0) * sec / self.span

    def axis(self, y: float) -> list[str]:
        out = [f'<line class="axis" x1="{self.x0}" y1="{_f(y)}" x2="{self.x1}" y2="{_f(y)}"/>']
        minutes = self.span > 1200          # a long run: ticks in whole minutes
        step = nice_step(self.span / 60) * 60 if minutes else nice_step(self.span)
        t = 0.0
        while t <= self.span + 1e-9:
            x = self(t)
            label = f"{_f(t / 60)}m" if minutes else f"{_f(t)}s"
            out.append(f'<line class="tick" x1="{_f(x)}" y1="{_f(y)}" x2="{_f(x)}" y2="{_f(y + 4)}"/>'
                       f'<text class="tick-label" x="{_f(x)}" y="{_f(y + 15)}" '
                       f'text-anchor="middle">{label}</text>')
            t += step
        return out


def _span(series: Series) -> float:
    return max(series.duration_s, float(series.seconds), 1.0)


def _window_title(w, a: float, b: float) -> str:
    tgt = f" on {w.target}" if w.target not in (None, "", [], {}) else ""
    state = " (never stopped)" if w.open else ""
    return f"{w.fault} [{w.fault_id}]{tgt}: {a:.1f}s to {b:.1f}s{state}"


def _lanes(windows: list[tuple[float, float, object]]) -> list[int]:
    ends: list[float] = []
    out = []
    for a, b, _ in windows:
        for i, e in enumerate(ends):
            if e <= a:
                ends[i] = b
                out.append(i)
                break
        else:
            ends.append(b)
            out.append(len(ends) - 1)
    return out


def fault_colour(fault: str) -> str:
    """The fault's colour from its package (one colour per fault family); unknown faults red."""
    from kfchaos.faults.registry import colour
    try:
        return colour(str(fault))
    except Exception:
        return "#cf222e"


def timeline_svg(series: Series, width: int = WIDTH) -> str:
    """The scenario timeline: fault windows in lanes, then Flink events, then
    producers' epoch bumps."""
    X = _X(_span(series), width)
    wins = series.window_secs()
    lanes = _lanes(wins)
    nl = max(lanes) + 1 if lanes else 1
    lane_h, top = 24, 8
    ev_y = top + nl * lane_h + 8
    pe_y = ev_y + (34 if series.events else 0)
    axis_y = pe_y + (24 if series.producer_events else 4)
    height = axis_y + 24
    out = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="100%" role="img" aria-label="timeline">']
    out.append(f'<text class="lane-label" x="{LEFT - 6}" y="{top + 16}" text-anchor="end">faults</text>')
    if not wins:
        out.append(f'<text class="muted" x="{LEFT + 8}" y="{top + 16}">no fault injected</text>')
    for (a, b, w), lane in zip(wins, lanes):
        x, xe = X(a), X(b)
        y = top + lane * lane_h
        cls = "fault-window open" if w.open else "fault-window"
        title = _e(_window_title(w, a, b))
        colour = fault_colour(w.fault)
        out.append(f'<g><title>{title}</title>'
                   f'<rect class="{cls}" data-fault="{_e(w.fault)}" data-fault-id="{_e(w.fault_id)}" '
                   f'style="fill:{colour};fill-opacity:.2;stroke:{colour}" '
                   f'x="{_f(x)}" y="{y}" width="{_f(max(xe - x, 2.0))}" height="{lane_h - 4}"/>')
        label = w.fault if w.target in (None, "", [], {}) else f"{w.fault} @ {w.target}"
        max_chars = int(max(xe - x, 0) / 6.5)
        if max_chars < 4:   # too narrow: put the label right of the window
            out.append(f'<text class="fault-label" x="{_f(xe + 3)}" y="{y + 14}">{_e(w.fault)}</text>')
        else:
            if len(label) > max_chars:
                label = label[:max_chars - 1] + "…"
            out.append(f'<text class="fault-label" x="{_f(x + 4)}" y="{y + 14}">{_e(label)}</text>')
        out.append("</g>")
    if series.events:
        out.append(f'<text class="lane-label" x="{LEFT - 6}" y="{ev_y + 12}" text-anchor="end">flink</text>')
    last_label_x = -1e9
    for ev in series.events:
        x = X(ev.sec)
        bad = ev.type in ("fail", "info", "invoke")
        cls = f"event event-{_e(ev.f)}{' event-bad' if bad else ''}"
        tip = _e(f"{ev.f} {ev.type} at {ev.sec:.1f}s")
        if ev.f == "checkpoint":
            out.append(f'<line class="{cls}" x1="{_f(x)}" y1="{ev_y + 14}" x2="{_f(x)}" '
                       f'y2="{ev_y + 24}"><title>{tip}</title></line>')
            continue
        out.append(f'<g><title>{tip}</title><path class="{cls}" d="M{_f(x)} {ev_y}l5 6l-5 6l-5 -6z"/>')
        if x - last_label_x > 70:
            out.append(f'<text class="event-label" x="{_f(x + 6)}" y="{ev_y + 10}">{_e(ev.f)}</text>')
            last_label_x = x
        out.append("</g>")
    if series.producer_events:
        out.append(f'<text class="lane-label" x="{LEFT - 6}" y="{pe_y + 12}" '
                   f'text-anchor="end">clients</text>')
    for ev in series.producer_events:
        x = X(ev.sec)
        v = ev.value if isinstance(ev.value, dict) else {}
        why = v.get("reason") or v.get("detail") or ""
        tip = _e(f"{v.get('process', '?')} {ev.f} at {ev.sec:.1f}s" + (f": {why}" if why else ""))
        out.append(f'<path class="producer-event" data-event="{_e(ev.f)}" '
                   f'd="M{_f(x)} {pe_y + 2}l5 10h-10z"><title>{tip}</title></path>')
    out.extend(X.axis(axis_y))
    out.append("</svg>")
    return "".join(out)


def _segments(vals: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    segs: list[list[tuple[int, float]]] = []
    cur: list[tuple[int, float]] = []
    for i, v in enumerate(vals):
        if v is None:
            if cur:
                segs.append(cur)
                cur = []
        else:
            cur.append((i, v))
    if cur:
        segs.append(cur)
    return segs


def line_plot_svg(series: Series, lines: Sequence[tuple[str, Sequence[float | None], str]],
                  title: str, unit: str, width: int = WIDTH, height: int = 230,
                  log: bool | None = None, step: int = 1) -> str:
    """Plot ``lines`` = ``[(label, values, css class), ...]``, one value every ``step``
    seconds (1: per second; more: buckets, :mod:`kfchaos.report.buckets`).

    ``log=None`` picks a log y axis when the positive values span more than
    two decades (latency spikes during faults would flatten everything else).
    """
    X = _X(_span(series), width)
    top, bottom = 26, height - 28
    vals = [v for _, vs, _ in lines for v in vs if v is not None]
    pos = [v for v in vals if v > 0]
    if log is None:
        log = bool(pos) and max(pos) / min(pos) > 100
    if log and pos:
        lo = 10 ** math.floor(math.log10(min(pos)))
        hi = 10 ** math.ceil(math.log10(max(pos)))
        hi = hi * 10 if hi <= lo else hi
        llo, lhi = math.log10(lo), math.log10(hi)

        def Y(v: float) -> float:
            v = max(v, lo)
            return bottom - (bottom - top) * (math.log10(v) - llo) / (lhi - llo)
        ticks = [10 ** k for k in range(int(llo), int(lhi) + 1)]
    else:
        log = False
        ymax = _nice_max(max(vals) if vals else 1.0)

        def Y(v: float) -> float:
            return bottom - (bottom - top) * v / ymax
        ticks = [ymax * k / 4 for k in range(5)]
    scale = "log" if log else "linear"
    out = [f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="100%" role="img" aria-label="{_e(title)}" data-scale="{scale}">',
           f'<text class="plot-title" x="{LEFT}" y="16">{_e(title)}'
           f'{" (log scale)" if log else ""}</text>']
    for a, b, w in series.window_secs():
        x, xe = X(a), X(b)
        out.append(f'<rect class="fault-shade" data-fault-id="{_e(w.fault_id)}" x="{_f(x)}" y="{top}" '
                   f'width="{_f(max(xe - x, 1.0))}" height="{bottom - top}">'
                   f'<title>{_e(_window_title(w, a, b))}</title></rect>')
    for t in ticks:
        y = Y(t)
        out.append(f'<line class="grid" x1="{LEFT}" y1="{_f(y)}" x2="{width - RIGHT}" y2="{_f(y)}"/>'
                   f'<text class="tick-label" x="{LEFT - 6}" y="{_f(y + 4)}" '
                   f'text-anchor="end">{_fmt_num(t)}</text>')
    out.append(f'<text class="unit-label" x="12" y="{_f((top + bottom) / 2)}" '
               f'transform="rotate(-90 12 {_f((top + bottom) / 2)})" text-anchor="middle">{_e(unit)}</text>')
    if not vals:
        out.append(f'<text class="muted" x="{LEFT + 8}" y="{_f((top + bottom) / 2)}">no data</text>')
    for label, vs, cls in lines:
        for seg in _segments(vs):
            pts = " ".join(f"{_f(X((i + 0.5) * step))},{_f(Y(v))}" for i, v in seg)
            if len(seg) == 1:
                i, v = seg[0]
                out.append(f'<circle class="line {_e(cls)}" cx="{_f(X((i + 0.5) * step))}" cy="{_f(Y(v))}" '
                           'r="1.5"/>')
            else:
                out.append(f'<polyline class="line {_e(cls)}" points="{pts}"/>')
    lx = width - RIGHT
    for label, _, cls in reversed(lines):
        tw = 7 * len(label) + 26
        lx -= tw
        out.append(f'<line class="line {_e(cls)}" x1="{lx}" y1="12" x2="{lx + 16}" y2="12"/>'
                   f'<text class="legend" x="{lx + 20}" y="16">{_e(label)}</text>')
    out.extend(X.axis(bottom))
    out.append("</svg>")
    return "".join(out)
