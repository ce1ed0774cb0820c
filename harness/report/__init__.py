"""Human-readable reports of run directories.

* :func:`render_report` (``render.py``): ``run_dir/report.html``, one
  self-contained page per run (header, re-run command, contract table, and per
  scenario a timeline, throughput and latency plots, figures, anomaly examples);
* :func:`compare` (``compare.py``): ``compare.html`` + ``compare.md``, the
  verdicts and key figures of several runs side by side;
* :func:`compute_series` (``series.py``): per-second series from a history in
  one pass; ``plots.py`` turns them into inline SVG.
"""
from .compare import compare
from .render import render_report
from .series import Series, compute_series, series_from_path

__all__ = ["render_report", "compare", "compute_series", "series_from_path", "Series"]
