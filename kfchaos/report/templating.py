"""The jinja2 environment of the HTML reports (``kfchaos/report/templates/*.j2``).

Autoescaping is on for every template: any value a template prints is HTML-escaped
unless it is :class:`markupsafe.Markup` (only the inline SVG plots, built and escaped
in ``plots.py``, are). ``None`` prints as nothing, and an undefined name is an error.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

__all__ = ["environment", "render", "verdict_class", "fmt_time", "slug", "VERDICTS", "TEMPLATES"]

TEMPLATES = Path(__file__).with_name("templates")
VERDICTS = ("held", "violated", "unknown", "error")


def verdict_class(v: Any) -> str:
    """The CSS class of a verdict or status: itself if known, else ``na``."""
    return v if v in VERDICTS else "na"


def fmt_time(epoch: Any) -> str:
    """Epoch seconds as ``YYYY-MM-DD HH:MM:SS UTC`` (``—`` if missing or absurd)."""
    if isinstance(epoch, bool) or not isinstance(epoch, (int, float)):
        return "—"
    try:
        return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return "—"


def slug(name: Any) -> str:
    """An HTML id for a scenario section."""
    return "scenario-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", str(name)).strip("-") or "x")


def _finalize(value: Any) -> Any:
    return "" if value is None else value


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(verdict_class=verdict_class, fmt_time=fmt_time, slug=slug)
    return env


def render(template: str, **context: Any) -> str:
    """Render ``templates/<template>`` with ``context``."""
    return environment().get_template(template).render(**context)
