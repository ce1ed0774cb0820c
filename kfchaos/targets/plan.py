"""The dry run: what certifying a target would do, touching nothing.

``plan(target, profile, scenarios)`` returns lines: per scenario, its faults, whether
each applies (with the reason when not), the nodes it would act on and the exact
commands (docker / ssh / iptables / tc / Toxiproxy API). No connection is opened: node
capabilities are those the actuator types declare (discovery may find fewer), and peer
addresses appear as ``<ip of NODE>``.

The faults of a scenario are read from the ``FaultSpec(...)`` calls in its module (and a
module-level ``MENU`` of a random schedule); targets computed at run time appear with
their placeholder (``zone:<zone>``) and are shown for each zone.
"""
from __future__ import annotations

import ast
import inspect
import re
from importlib import import_module

from kfchaos.faults.base import FaultSpec

from .actuators import create
from .flavor import TargetFlavor, touches
from .schema import Target

TAG = "chaos-<run>-<fault>-<id>"


def scenario_faults(name: str) -> list[tuple[str, str, dict]]:
    """(fault, target with placeholders, literal params) of the FaultSpec calls in a scenario's module."""
    from kfchaos.scenarios import MODULES, REGISTRY
    scenario = REGISTRY[name]
    module = next(import_module(f"kfchaos.scenarios.{m}") for m in MODULES
                  if import_module(f"kfchaos.scenarios.{m}").SCENARIO is scenario)
    tree = ast.parse(inspect.getsource(module))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "FaultSpec" and node.args:
            fault = node.args[0].value if isinstance(node.args[0], ast.Constant) else None
            if fault is None:
                continue
            found.append((fault, _text(node.args[1]) if len(node.args) > 1 else "", {}))
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "MENU" for t in node.targets):
            try:
                found += [(f, "", {"from_menu": True}) for f in ast.literal_eval(node.value)]
            except ValueError:
                pass
    return found


def _text(node) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else f"<{ast.unparse(v.value)}>"
                       for v in node.values)
    return f"<{ast.unparse(node)}>"


def _expand(target: Target, fault: str, tgt: str) -> list[str]:
    if "<" not in tgt:
        return [tgt]
    if tgt.startswith("zone:"):
        return [f"zone:{z}" for z in target.zones]
    if fault in ("kill", "pause", "freeze", "clean-restart", "disk-full") and tgt.startswith("leader:"):
        return ["random"]           # the leader is known at run time: any broker may be chosen
    return [re.sub(r"<[^>]*>", "x", tgt)]


def _spec(fault: str, tgt: str, target: Target) -> FaultSpec:
    params = {}
    if fault == "partition" and tgt.startswith("zone:"):
        zone = tgt[5:]
        params = {"groups": [[zone], [z for z in target.zones if z != zone]]}
    return FaultSpec(fault, tgt, params=params)


def commands(target: Target, acts: dict, spec: FaultSpec) -> list[str]:
    """The commands a fault would run: injection, then heal."""
    t = touches(target, spec)
    f, out = spec.fault, []
    if target.kubernetes is not None:           # Chaos Mesh resources instead of iptables/tc
        from .kubernetes.faults import plan_lines
        made = plan_lines(target, spec)
        if made is not None:
            return made
    for name in t.nodes:
        a = acts[name]
        if f in ("kill", "flink-kill"):
            out += [a.command("kill", "SIGKILL"), a.command("start")]
        elif f == "pause":
            out += [a.command("signal", "SIGSTOP"), a.command("signal", "SIGCONT")]
        elif f == "freeze":
            out += [a.command("pause"), a.command("resume")]
        elif f in ("clean-restart", "rolling-restart"):
            out += [a.command("stop", "60"), a.command("start")]
        elif f == "disk-full":
            out += [a.command("exec", "sh -c 'fallocate -l <free bytes> /var/lib/kafka/chaos-fill'"),
                    a.command("exec", "rm -f /var/lib/kafka/chaos-fill")]
        elif f in ("partition", "isolate-zone", "one-way", "isolate-object-storage", "zone-loss"):
            peers = _peers(target, spec, name)
            match = "-m statistic --mode random --probability <p> " if f == "zone-loss" else ""
            for ip in peers[:2]:
                out.append(a.command("exec", f"iptables -w -A INPUT -s {ip} {match}-m comment --comment {TAG} -j DROP"))
                if f not in ("one-way", "zone-loss"):
                    out.append(a.command("exec", f"iptables -w -A OUTPUT -d {ip} -m comment --comment {TAG} -j DROP"))
            if len(peers) > 2:
                out.append(f"  ... the same for {len(peers) - 2} more peers ({', '.join(peers[2:])})")
            out.append(a.command("exec", f"sh -c \"iptables -w -S | grep -- '--comment {TAG} ' | sed 's/^-A /-D /' "
                                         "| xargs -L1 iptables -w\"   # heal"))
        elif f == "zone-bandwidth":
            out += [a.command("exec", "tc qdisc add dev eth0 root tbf rate <rate> burst 32kbit latency 400ms"),
                    a.command("exec", "tc qdisc del dev eth0 root")]
    for zone in t.toxiproxy_zones:
        api = target.toxiproxy.api.get(zone, "<toxiproxy api of zone " + zone + ">")
        proxies = ("repl-/ctrl-" + zone + "-<peer>" if f == "zone-latency" else f"{f.split('-')[0]}-{zone}")
        verb = ("POST {api}/proxies/{p} {{\"enabled\": false}}" if f.endswith("-down")
                else "POST {api}/proxies/{p}/toxics {{\"name\": \"chaos-...\", ...}}")
        out.append(verb.format(api=api, p=proxies))
        out.append(f"DELETE {api}/proxies/{proxies}/toxics/chaos-...   # heal" if not f.endswith("-down")
                   else f"POST {api}/proxies/{proxies} {{\"enabled\": true}}   # heal")
    return out


def _peers(target: Target, spec: FaultSpec, name: str) -> list[str]:
    node = target.node(name)
    if spec.fault == "isolate-object-storage":
        return [f"<ip of {n.name}>" for n in target.with_role("object-store")]
    if spec.fault == "partition":
        groups = spec.params.get("groups") or []
    else:
        zone = (spec.target or "zone:c").removeprefix("zone:")
        groups = [[zone], [z for z in target.zones if z != zone]]
    mine = next((g for g in groups if node.zone in g), [])
    return [f"<ip of {n.name}>" for n in target.nodes
            if n.zone and n.zone not in mine and n.role != "object-store" and any(n.zone in g for g in groups)]


def plan(target: Target, profile=None, scenarios: list[str] | None = None) -> list[str]:
    """Lines describing what certifying ``target`` with ``scenarios`` would do (touches nothing)."""
    from kfchaos.scenarios import REGISTRY
    acts = {n.name: create(n.name, n.actuator, n.role, n.bounded_disk) for n in target.nodes}
    flavor = TargetFlavor(target, lambda name: acts[name].declared())
    names = list(scenarios or REGISTRY)
    lines = [f"target {target.name} ({target.source}): zones {', '.join(target.zones)}; "
             f"bootstrap {target.kafka.bootstrap_servers} ({target.kafka.security.protocol})"
             + (f"; profile {profile.name}" if profile is not None else "")]
    for n in target.nodes:
        caps = [c for c, why in acts[n.name].declared().items() if why is None]
        lines.append(f"  node {n.name}: {n.role}{' zone ' + n.zone if n.zone else ''}, {acts[n.name].describe()}"
                     f"{'' if target.touchable(n.name) else ' (not touchable)'}; can: {', '.join(caps) or '-'}")
    lines.append(f"  limits: at most {target.limits.max_nodes_per_fault} node(s) per fault")
    if target.kafka.tools_classpath:
        how = ("PLAINTEXT" if target.kafka.security.protocol == "PLAINTEXT" else
               f"{target.kafka.security.protocol}, client properties on standard input (--command-config /dev/stdin)")
        lines.append(f"  Kafka tools: on a broker node, to {target.kafka.tools_bootstrap} with {how}")
    for name in names:
        s = REGISTRY[name]
        why = s.not_applicable(flavor, None)
        if why:
            lines.append(f"scenario {name}: not applicable: {why}")
            continue
        faults = scenario_faults(name)
        lines.append(f"scenario {name}: {s.title}" + ("" if faults else " (no fault)"))
        for fault, tgt, extra in faults:
            for i, expanded in enumerate(_expand(target, fault, tgt)):
                spec = _spec(fault, expanded, target)
                label = spec.label() + (" (may be drawn by the random schedule)" if extra.get("from_menu") else "")
                reason = flavor.fault_not_applicable(spec)
                if reason:
                    lines.append(f"  fault {label}: not applicable: {reason}")
                    continue
                t = touches(target, spec)
                lines.append(f"  fault {label}: {t.capability or 'toxiproxy/client'}; nodes: "
                             f"{', '.join(t.nodes) or '-'}; at once: {t.at_once}")
                if i == 0:          # the other zones' commands have the same form
                    lines += [f"    $ {c}" for c in commands(target, acts, spec)]
    return lines

