"""``kfchaos clean --target FILE``: heal what a crashed run left on an external target.

- iptables rules whose comment carries the harness's tag (``chaos-<run id>-...``; with a
  run id only that run's) are deleted on every reachable node;
- Toxiproxy toxics named ``chaos-...`` are removed;
- a container the harness froze (docker pause) is unpaused, a process it stopped
  (SIGSTOP, state T) gets SIGCONT;
- what it cannot decide is reported, not changed: a node that is down (with the command
  that starts it), a disabled Toxiproxy proxy, a root qdisc (tc) on a node.
Nodes outside ``limits.touchable`` are only inspected.
"""
from __future__ import annotations

import logging

from ..platform import exec_read
from .actuators import ActuatorError, create, iptables_sweep_script
from .schema import load_target

log = logging.getLogger("chaos.targets")


def clean_target(path, run_id: str | None = None) -> list[str]:
    """Sweep the target described by ``path``; returns one line per thing done or left."""
    target = load_target(path, require_env=False)
    prefix = f"chaos-{run_id}-" if run_id else "chaos-"
    lines: list[str] = []
    for n in target.nodes:
        if n.actuator.type == "kubernetes":      # its faults are Chaos Mesh resources, swept below
            continue
        act = create(n.name, n.actuator, n.role, n.bounded_disk)
        touch = target.touchable(n.name)
        try:
            act.connect()
            status = act.status()
        except (ActuatorError, Exception) as exc:
            lines.append(f"{n.name}: not reachable, not cleaned ({exc})")
            continue
        try:
            if status == "paused" and touch:
                if act.kind == "docker":
                    act.resume()
                    lines.append(f"{n.name}: unpaused the container")
            if status == "running" and act.process_state().startswith("T") and touch:
                act.signal("SIGCONT")
                lines.append(f"{n.name}: sent SIGCONT to its stopped process")
            if status in ("exited", "dead", "removed"):
                lines.append(f"{n.name}: is {status}; start it with `{act.command('start')}` if a run left it so")
                continue
            code, out = act.exec(["sh", "-c", iptables_sweep_script(prefix)], user="root" if touch else "",
                                 check=False) if touch else (0, "")
            deleted = [ln for ln in out.splitlines() if ln.startswith("deleted:")]
            if deleted:
                lines.append(f"{n.name}: deleted {len(deleted)} iptables rules tagged {prefix}*")
            _, qd = exec_read.read(act.exec, ["sh", "-c", "tc qdisc show 2>/dev/null | grep -E ' (tbf|netem) ' || true"])
            if qd.strip():
                lines.append(f"{n.name}: has a tbf/netem qdisc ({qd.strip()[:80]}); remove it with "
                             "`tc qdisc del dev <dev> root` if a run left it")
        except Exception as exc:
            lines.append(f"{n.name}: cleaning failed: {type(exc).__name__}: {exc}")
        finally:
            act.close()
    lines += _clean_toxiproxies(target)
    if target.kubernetes is not None:
        from .kubernetes.clean import clean as clean_kubernetes
        lines += clean_kubernetes(target, run_id)
    return lines or [f"nothing to clean on {target.name}"]


def _clean_toxiproxies(target) -> list[str]:
    from kfchaos.platform.toxiproxy import ToxiproxyClient
    lines = []
    for zone, url in target.toxiproxy.api.items():
        api = ToxiproxyClient(url)
        try:
            proxies = api.proxies()
        except Exception as exc:
            lines.append(f"toxiproxy {zone} ({url}): not reachable ({exc})")
            continue
        for p in proxies.values():
            for t in p.toxics:
                if t.name.startswith("chaos-"):
                    api.remove_toxic(p.name, t.name)
                    lines.append(f"toxiproxy {zone}: removed toxic {t.name} from {p.name}")
            if not p.enabled:
                lines.append(f"toxiproxy {zone}: proxy {p.name} is disabled; enable it with "
                             f"`curl -X POST -d '{{\"enabled\": true}}' {url}/proxies/{p.name}` if a run left it so")
    return lines
