"""results.json of a run: the scenarios' result.json files gathered with the run's metadata."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from harness.contracts import overall


def aggregate(run_dir: Path, meta: dict[str, Any]) -> dict[str, Any]:
    run_dir = Path(run_dir)
    scenarios = []
    for f in sorted(run_dir.glob("*/result.json")):
        try:
            scenarios.append(json.loads(f.read_text()))
        except json.JSONDecodeError as exc:
            scenarios.append({"name": f.parent.name, "status": "error", "error": f"unreadable result.json: {exc}",
                              "contracts": [], "figures": {}})
    order = meta.get("order") or []
    scenarios.sort(key=lambda s: order.index(s["name"]) if s["name"] in order else len(order))
    statuses = [c["verdict"] for s in scenarios for c in s.get("contracts", [])]
    statuses += ["error" for s in scenarios if s.get("status") == "error"]
    results = {**{k: v for k, v in meta.items() if k != "order"}, "finished": time.time(),
               "overall": overall(statuses), "scenarios": scenarios}
    (run_dir / "results.json").write_text(json.dumps(results, indent=1, default=str))
    return results


def exit_code(results: dict[str, Any]) -> int:
    """0 every contract held, 1 one was violated, 2 unknown or an infrastructure error."""
    return {"held": 0, "violated": 1}.get(results.get("overall"), 2)
