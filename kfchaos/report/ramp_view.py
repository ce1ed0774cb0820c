"""The load ramp in the HTML report: one table row per step and an inline SVG bar chart.

:func:`ramp_view` turns a scenario's ``ramp_steps`` figure (:mod:`kfchaos.ramp`) into
``{"rows": [...], "svg": str}``, or ``None`` when the scenario has no ramp. Per step the
chart draws two bars, produce p99 and consume-lag p99 (ms, one linear scale), and marks a
step over budget; every text is escaped, styles come from the report's CSS classes.
"""
from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["ramp_view"]

W, H, LEFT, BOTTOM, TOP = 560, 190, 56, 34, 14
BAR = 22


def _e(x: object) -> str:
    return escape(str(x), quote=True)


def _ms(v: Any) -> str:
    return "—" if not isinstance(v, (int, float)) else f"{v:,.0f}"


def _rows(steps: list[dict]) -> list[list[str]]:
    return [[str(s.get("step")), f"{s.get('rate')}/s", str(s.get("consumers")), _ms(s.get("ok_per_s")),
             _ms(s.get("p99_ms")), _ms(s.get("lag_p99_ms")), str(s.get("saturated_first") or "—"),
             "yes" if s.get("within_budget") else f"no: {s.get('over_budget')}"] for s in steps]


def _svg(steps: list[dict]) -> str:
    vals = [v for s in steps for v in (s.get("p99_ms"), s.get("lag_p99_ms")) if isinstance(v, (int, float))]
    top = max(vals, default=1.0) or 1.0
    plot_h = H - TOP - BOTTOM
    slot = (W - LEFT - 10) / max(len(steps), 1)
    out = [f'<svg class="ramp" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" '
           f'aria-label="load ramp: produce p99 and consume lag p99 per step">',
           f'<text x="4" y="{TOP + 4}" class="axis">{_e(_ms(top))} ms</text>',
           f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - 10}" y2="{H - BOTTOM}" class="axis"/>']
    for i, s in enumerate(steps):
        x0 = LEFT + i * slot + slot / 2 - BAR
        for j, (key, cls) in enumerate((("p99_ms", "ramp-p99"), ("lag_p99_ms", "ramp-lag"))):
            v = s.get(key)
            h = 0 if not isinstance(v, (int, float)) else plot_h * v / top
            out.append(f'<rect x="{x0 + j * BAR:.1f}" y="{H - BOTTOM - h:.1f}" width="{BAR - 2}" '
                       f'height="{h:.1f}" class="{cls}"><title>{_e(key)}: {_e(_ms(v))} ms</title></rect>')
        label = f"{s.get('rate')}/s ×{s.get('consumers')}" + ("" if s.get("within_budget") else " (over)")
        out.append(f'<text x="{x0 + BAR:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle" class="axis">'
                   f'{_e(label)}</text>')
    out.append(f'<text x="{LEFT}" y="{H - 4}" class="legend">bars: produce p99 (left), consume lag p99 '
               f'(right)</text></svg>')
    return "".join(out)


def ramp_view(figures: dict) -> dict | None:
    steps = figures.get("ramp_steps")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, dict) for s in steps):
        return None
    return {"cols": ["step", "rate", "consumers", "ok sends/s", "produce p99 ms", "lag p99 ms",
                     "saturated first", "within budget"], "rows": _rows(steps), "svg": _svg(steps)}
