"""A run's results as Allure result files, for CI dashboards.

:func:`write_allure` writes into ``directory`` one ``<uuid>-result.json`` per scenario
(then one per chosen scenario without a result), in the test-result format of
``allure_commons.model2.TestResult`` (allure-python 2.x), empty fields left out as
its file logger does:

* ``uuid``; ``historyId`` and ``testCaseId`` (MD5 of ``fullName``, stable across runs);
* ``name`` = the scenario, ``fullName`` = ``chaos.<profile>#<scenario>``;
* ``status`` ``passed`` / ``failed`` (violated) / ``broken`` (error, unknown, no result)
  / ``skipped`` (not applicable), as :mod:`.outcome` decides; ``statusDetails``
  ``{message, trace}`` with the one-line message and the contract summary;
* ``stage`` ``finished``; ``description`` = the scenario's description;
* ``start`` / ``stop`` in epoch milliseconds: scenarios run one after another from the
  run's ``started``, each taking its ``duration_s`` (left out when unknown);
* ``labels``: ``suite`` = the profile, one ``feature`` per contract, ``framework``;
* ``parameters``: ``seed``, ``profile`` and the platform's ``kafka`` / ``flink`` releases
  where the run knows them;
* ``attachments``: the scenario's ``result.json`` as ``<uuid>-attachment.json``
  (copied from ``run_dir/<scenario>/result.json`` when ``run_dir`` is given and the
  file is there, else written from the typed result), and its history (the stored
  ``history.jsonl`` or ``history.kfh``, up to ``MAX_HISTORY_ATTACHMENT`` bytes) as
  ``<uuid>-history-attachment.<ext>``.

UUIDs derive from the run and the scenario, so writing the same run again replaces its
files instead of adding duplicates.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from kfchaos.results import RunResult, ScenarioResult

from .outcome import Outcome, outcomes
from .render import version_items
from .source import confined, is_file

__all__ = ["write_allure", "allure_result"]

_NAMESPACE = uuid.UUID("5b0f3f8e-6a43-4d0c-9a55-0c1d2e3f4a5b")


def _ms(epoch: Any) -> int | None:
    if isinstance(epoch, bool) or not isinstance(epoch, (int, float)) or epoch != epoch:
        return None
    return int(epoch * 1000) if abs(epoch) < 1e12 else None


def _timeline(run: RunResult) -> dict[str, tuple[int, int]]:
    """Scenario name -> (start, stop) in epoch ms: each scenario's own start where recorded,
    else back to back from ``run.started``."""
    t = _ms(run.started)
    out: dict[str, tuple[int, int]] = {}
    for sc in run.scenarios:
        own = _ms(sc.started) if isinstance(sc.started, (int, float)) else None
        t = own if own is not None else t
        if t is None:
            continue
        d = max(_ms(sc.duration_s) or 0, 0)
        out[sc.name] = (t, t + d)
        t += d
    return out


def _uuid(run: RunResult, name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, json.dumps([run.run_id, run.started, run.profile, name],
                                                  default=str)))


def _labels(run: RunResult, sc: ScenarioResult | None) -> list[dict[str, str]]:
    labels = [{"name": "suite", "value": str(run.profile)}, {"name": "framework", "value": "chaos"}]
    contracts = [c.contract for c in sc.contracts] if sc else []
    return labels + [{"name": "feature", "value": c} for c in dict.fromkeys(contracts)]


def _drop_empty(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v or v is False}


def allure_result(run: RunResult, o: Outcome, uid: str, times: tuple[int, int] | None) -> dict:
    """The Allure test result of outcome ``o`` (without attachments)."""
    full = f"chaos.{run.profile}#{o.name}"
    digest = hashlib.md5(full.encode("utf-8", "surrogatepass")).hexdigest()
    sc = o.scenario
    seed = sc.seed if sc is not None and sc.seed is not None else run.seed
    return _drop_empty({
        "uuid": uid, "historyId": digest, "testCaseId": digest, "fullName": full, "name": o.name,
        "status": o.allure_status, "stage": "finished",
        "statusDetails": _drop_empty({"message": o.message, "trace": o.detail if o.kind != "passed" else ""}),
        "description": sc.description if sc else "",
        "start": times[0] if times else None, "stop": times[1] if times else None,
        "labels": _labels(run, sc),
        "parameters": [{"name": "seed", "value": str(seed)}, {"name": "profile", "value": str(run.profile)},
                       *({"name": k, "value": v} for k, v in version_items(run))],
    })


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _attach(directory: Path, uid: str, sc: ScenarioResult, run_dir: Path | None) -> dict[str, str]:
    """Put the scenario's result.json next to the results; its attachment entry."""
    name = f"{uid}-attachment.json"
    src = confined(run_dir, f"{sc.name}/result.json") if run_dir is not None else None
    if is_file(src):
        shutil.copyfile(src, directory / name)
    else:
        _write(directory / name, json.dumps(sc.to_dict(), indent=1, default=str))
    return {"name": "result.json", "source": name, "type": "application/json"}


MAX_HISTORY_ATTACHMENT = 64 << 20


def _attach_history(directory: Path, uid: str, sc: ScenarioResult, run_dir: Path | None) -> dict[str, str] | None:
    """Copy the scenario's stored history next to the results; its attachment entry (None:
    no history, or larger than MAX_HISTORY_ATTACHMENT)."""
    src = confined(run_dir, sc.history) if run_dir is not None and sc.history else None
    if not is_file(src) or src.stat().st_size > MAX_HISTORY_ATTACHMENT:
        return None
    ext = "jsonl" if src.suffix == ".jsonl" else src.suffix.lstrip(".") or "bin"
    name = f"{uid}-history-attachment.{ext}"
    shutil.copyfile(src, directory / name)
    return {"name": src.name, "source": name,
            "type": "application/x-ndjson" if ext == "jsonl" else "application/octet-stream"}


def write_allure(run: RunResult, directory: Path, run_dir: Path | None = None) -> list[Path]:
    """Write one Allure result per scenario of ``run`` into ``directory`` (created if
    needed); returns the result files' paths. ``run_dir`` is where the scenarios'
    result.json files are (default: none, they are written from ``run``)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    times = _timeline(run)
    paths = []
    for o in outcomes(run):
        uid = _uuid(run, o.name)
        result = allure_result(run, o, uid, times.get(o.name))
        if o.scenario is not None:
            history = _attach_history(directory, uid, o.scenario, run_dir)
            result["attachments"] = [_attach(directory, uid, o.scenario, run_dir), *filter(None, [history])]
        path = directory / f"{uid}-result.json"
        _write(path, json.dumps(result, indent=1, default=str))
        paths.append(path)
    return paths
