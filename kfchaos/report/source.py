"""Reading a run directory for the reports, safely.

Everything a report reads from a run directory goes through here:

* :func:`load_run`: ``run_dir/results.json`` as a :class:`kfchaos.results.RunResult`
  (old layouts included: ``RunResult.from_dict`` accepts them). A missing, unreadable,
  oversized or malformed file raises :class:`ReportError`, a ``ValueError`` whose
  message is one line naming the file; fields of the wrong type that a renderer
  can live without are replaced by empty values, with a warning on the
  ``chaos.report`` logger.
* :func:`confined`: a path named inside results.json (a scenario's ``history``
  or ``schedule``) resolved against the run directory; ``None`` when it resolves
  outside it (``..``, an absolute path, a symlink out), so a crafted results.json
  cannot make a report embed or link any other file.
* :func:`read_head`: at most ``limit`` characters of a confined text file.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from kfchaos.results import ContractResult, RunResult, ScenarioResult

__all__ = ["ReportError", "load_run", "confined", "is_file", "read_head", "one_line", "MAX_RESULTS_BYTES"]

log = logging.getLogger("chaos.report")

#: a results.json larger than this is refused (real ones are well under 10 MB)
MAX_RESULTS_BYTES = 256 << 20


class ReportError(ValueError):
    """A run directory cannot be reported on; the message is one line naming the file."""


def one_line(text: Any, limit: int = 300) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[:limit - 1] + "…"


def confined(run_dir: Path, rel: Any) -> Path | None:
    """``run_dir/rel`` resolved, if it is a string path that stays inside ``run_dir``."""
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        return None
    try:
        root = Path(run_dir).resolve()
        path = (root / rel).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    return path if path.is_relative_to(root) else None


def is_file(path: Path | None) -> bool:
    """``path`` is a regular file (False for None, or when the name cannot even be stat'ed)."""
    try:
        return path is not None and path.is_file()
    except (OSError, ValueError):
        return False


def read_head(path: Path, limit: int) -> tuple[str, bool]:
    """The first ``limit`` characters of text file ``path`` and whether there was more."""
    with open(path, "r", encoding="utf-8", errors="replace") as fh:
        text = fh.read(limit + 1)
    return text[:limit], len(text) > limit


def _read_json(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ReportError(f"{path}: not a regular file")
        if size > MAX_RESULTS_BYTES:
            raise ReportError(f"{path}: {size:,} bytes, more than a results.json can be "
                              f"({MAX_RESULTS_BYTES:,})")
        with open(path, "rb") as fh:
            return json.loads(fh.read())
    except ReportError:
        raise
    except FileNotFoundError:
        raise ReportError(f"{path}: not found; give a run directory (reports/<time>-<profile>)") from None
    except OSError as e:
        raise ReportError(f"{path}: cannot read: {one_line(e.strerror or e)}") from None
    except (ValueError, RecursionError) as e:
        raise ReportError(f"{path}: not valid JSON: {one_line(e)}") from None


def load_run(run_dir: str | os.PathLike) -> RunResult:
    """``run_dir/results.json`` as a RunResult, or :class:`ReportError`."""
    path = Path(run_dir) / "results.json"
    data = _read_json(path)
    if not isinstance(data, dict):
        raise ReportError(f"{path}: expected a JSON object, found {type(data).__name__}")
    if not isinstance(data.get("scenarios", []), (list, type(None))):
        raise ReportError(f"{path}: 'scenarios' is {type(data['scenarios']).__name__}, not a list")
    try:
        run = RunResult.from_dict(data)
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        raise ReportError(f"{path}: not a run's results: {type(e).__name__}: {one_line(e)}") from None
    _sanitize_run(run, path)
    return run


# -- type repair ---------------------------------------------------------------
def _fix(obj: Any, name: str, kind: type, empty: Any, where: str) -> None:
    value = getattr(obj, name)
    if value is not None and not isinstance(value, kind):
        log.warning("%s: %s is %s, not %s; ignored", where, name, type(value).__name__, kind.__name__)
        value = None
    if value is None:
        setattr(obj, name, empty() if callable(empty) else empty)


def _text(obj: Any, name: str, default: str | None) -> None:
    value = getattr(obj, name)
    if value is not None and not isinstance(value, str):
        setattr(obj, name, json.dumps(value, default=str) if isinstance(value, (dict, list)) else str(value))
    elif value is None and default is not None:
        setattr(obj, name, default)


def _number(obj: Any, name: str, where: str) -> None:
    value = getattr(obj, name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        log.warning("%s: %s is %s, not a number; ignored", where, name, type(value).__name__)
        setattr(obj, name, None)


def _sanitize_run(run: RunResult, path: Path) -> None:
    """Make every field a renderer touches the type the dataclasses declare."""
    where = str(path)
    for name in ("profile", "run_id", "kind", "profile_description", "command", "interrupted"):
        _text(run, name, "" if name == "profile_description" else None)
    _text(run, "profile", "?")
    for name in ("started", "finished"):
        _number(run, name, where)
    _fix(run, "platform", dict, dict, where)
    _fix(run, "left_out", dict, dict, where)
    _fix(run, "chosen", list, list, where)
    run.chosen = [str(c) for c in run.chosen]
    for i, sc in enumerate(run.scenarios):
        _sanitize_scenario(sc, f"{where}: scenarios[{i}]")


def _sanitize_scenario(sc: ScenarioResult, where: str) -> None:
    _text(sc, "name", "?")
    _text(sc, "status", "unknown")
    for name in ("title", "description"):
        _text(sc, name, "")
    _text(sc, "error", None)
    for name in ("history", "schedule"):
        if getattr(sc, name) is not None and not isinstance(getattr(sc, name), str):
            log.warning("%s: %s is %s, not a path; ignored", where, name, type(getattr(sc, name)).__name__)
            setattr(sc, name, None)
    _number(sc, "duration_s", where)
    _fix(sc, "figures", dict, dict, where)
    _fix(sc, "notes", dict, dict, where)
    _fix(sc, "wanted_contracts", list, list, where)
    sc.figures = {str(k): v for k, v in sc.figures.items()}
    sc.contracts = [c for c in sc.contracts if isinstance(c, ContractResult)]
    for c in sc.contracts:
        c.anomalies = {str(k): (a if isinstance(a, dict) else {"count": a})
                       for k, a in c.anomalies.items()}
        c.checkers = [str(x) for x in c.checkers]
        c.informational = [str(x) for x in c.informational]
