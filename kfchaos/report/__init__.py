"""Human-readable and CI reports of run directories, all from typed results
(:mod:`kfchaos.results`) with figure labels and units from :mod:`kfchaos.figures`.

* :func:`render_report` (``render.py``): ``run_dir/report.html``, one
  self-contained page per run (header, re-run command, contract table, and per
  scenario a timeline, throughput and latency plots, figures, anomaly examples),
  from the jinja2 templates in ``templates/``;
* :func:`compare` (``compare.py``): ``compare.html`` + ``compare.md``, the
  verdicts and key figures of several runs side by side;
* :func:`write_junit` (``junit.py``) and :func:`write_allure` (``allure.py``): a
  RunResult as JUnit XML and as Allure result files;
* :func:`compute_series` (``series.py``): per-second series from a history in
  one pass; ``plots.py`` turns them into inline SVG.

Reading a run directory never raises anything but :class:`ReportError` (a
``ValueError`` whose one-line message names the file); see ``source.py``.
Diagnostics go to the ``chaos.report`` logger.
"""
from .allure import write_allure
from .compare import compare
from .junit import write_junit
from .render import render_report
from .series import Series, compute_series, series_from_path
from .source import ReportError, load_run

__all__ = ["render_report", "compare", "write_junit", "write_allure", "load_run", "ReportError",
           "compute_series", "series_from_path", "Series"]
