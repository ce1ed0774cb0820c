"""A run's results as JUnit XML, for CI dashboards.

:func:`write_junit` writes, with :mod:`xml.etree.ElementTree` from the standard
library, one ``<testsuites>`` holding one ``<testsuite>`` named after the run's
profile; in it one ``<testcase>`` per scenario (``name`` = the scenario,
``classname`` = ``chaos.<profile>``, ``time`` = its ``duration_s``), then one per
chosen scenario without a result.  A testcase holds, as :mod:`.outcome` decides:

* ``<failure message=... type="violated">`` with the contract summary, when a
  contract was violated;
* ``<error message=... type="error"|"unknown"|"no-result">`` when the harness failed,
  the verdict is unknown, or the scenario has no result, so a JUnit consumer never
  reads an undecided scenario as a pass;
* ``<skipped message="not applicable: ..."/>`` only when the scenario's
  ``not_applicable`` figure says it does not apply to the platform;
* nothing when every contract held.

The suite carries the run's profile, seed, run id, overall verdict and re-run command
as ``<properties>``.  Characters XML 1.0 cannot carry are replaced by ``?``.
"""
from __future__ import annotations

import os
import re
import socket
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kfchaos.results import RunResult

from .outcome import Outcome, outcomes

__all__ = ["write_junit", "junit_tree"]

_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(value: Any) -> str:
    """``value`` as text XML 1.0 can carry."""
    return _NOT_XML.sub("?", "" if value is None else str(value))


def _seconds(v: Any) -> str:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")
    return f"{max(float(v), 0.0):.3f}" if ok else "0.000"


def _timestamp(epoch: Any) -> str | None:
    if isinstance(epoch, bool) or not isinstance(epoch, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return None


def _testcase(suite: ET.Element, classname: str, o: Outcome) -> None:
    sc = o.scenario
    case = ET.SubElement(suite, "testcase", name=_x(o.name), classname=_x(classname),
                         time=_seconds(sc.duration_s if sc else None))
    if o.kind == "failure":
        ET.SubElement(case, "failure", message=_x(o.message), type="violated").text = _x(o.detail)
    elif o.kind == "error":
        kind = "no-result" if sc is None else ("error" if sc.status == "error" else "unknown")
        el = ET.SubElement(case, "error", message=_x(o.message), type=kind)
        el.text = _x(o.detail or o.message)
    elif o.kind == "skipped":
        ET.SubElement(case, "skipped", message=_x(o.message))
    if sc is not None and sc.seed is not None:
        ET.SubElement(case, "system-out").text = _x(f"seed {sc.seed}")


def junit_tree(run: RunResult) -> ET.ElementTree:
    """The JUnit document of ``run`` (see the module docstring)."""
    outs = outcomes(run)
    count = {k: sum(o.kind == k for o in outs) for k in ("failure", "error", "skipped")}
    total = sum(float(_seconds(o.scenario.duration_s)) for o in outs if o.scenario)
    root = ET.Element("testsuites", name="chaos", tests=str(len(outs)), failures=str(count["failure"]),
                      errors=str(count["error"]), skipped=str(count["skipped"]), time=f"{total:.3f}")
    suite = ET.SubElement(root, "testsuite", name=_x(run.profile), tests=str(len(outs)),
                          failures=str(count["failure"]), errors=str(count["error"]),
                          skipped=str(count["skipped"]), time=f"{total:.3f}",
                          hostname=_x(socket.gethostname()))
    if _timestamp(run.started):
        suite.set("timestamp", _timestamp(run.started))
    props = ET.SubElement(suite, "properties")
    for name, value in (("profile", run.profile), ("seed", run.seed), ("run_id", run.run_id),
                        ("overall", run.overall), ("command", run.command),
                        ("interrupted", run.interrupted)):
        if value is not None:
            ET.SubElement(props, "property", name=name, value=_x(value))
    for o in outs:
        _testcase(suite, f"chaos.{run.profile}", o)
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(run: RunResult, path: Path) -> Path:
    """Write ``run`` as JUnit XML to ``path`` (atomically); returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    junit_tree(run).write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)
    return path
