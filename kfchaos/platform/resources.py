"""Container resource use during a load step, and which resource saturated first.

``ResourceSampler(platform)`` streams the Docker engine's stats of every platform container
(one thread each, one sample a second) between ``start()`` and ``stop()``. Each sample
becomes a ``Sample``: CPU cores used, memory bytes, block I/O and network bytes per second.

``saturation(samples, ceilings)`` is pure. A resource counts as saturated from the first of
``sustain`` consecutive samples at or above ``threshold`` (90 %) of its ceiling:

- ``cpu`` of a container: its CPU limit (NanoCpus) if it has one, else the host's cores;
- ``cpu`` of the ``host``: the machine's busy time from /proc/stat when the Docker engine is
  local (so the harness's own clients count too), else the sum over all containers, against
  the host's cores (on a small machine the host runs out before any one container does; the
  top containers are named);
- ``memory``: the container's memory limit;
- ``disk`` and ``network``: only when a ceiling is given (bytes/s), since a Docker bridge
  and a shared disk have no limit the engine reports.

``saturated_first`` is the earliest such resource, e.g. ``"cpu of host (2 cores; top kafka-a
0.9, flink-taskmanager 0.6)"``, or ``"none (highest: cpu of host at 71%)"`` when nothing
reached its ceiling. Peaks per container are kept for the report (``resources.json``).
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Iterable

THRESHOLD = 0.9
HOST = "host"   # the pseudo-container of /proc/stat samples
SUSTAIN = 2


@dataclass(frozen=True)
class Sample:
    container: str     # network host name, e.g. kafka-a
    t: float           # seconds since the sampler started
    cpu_cores: float
    mem_bytes: int
    disk_bps: float    # block I/O read + write, bytes per second since the previous sample
    net_bps: float     # network rx + tx, bytes per second since the previous sample


def _cpu_cores(s: dict[str, Any]) -> float:
    cur, pre = s.get("cpu_stats") or {}, s.get("precpu_stats") or {}
    d_cpu = (cur.get("cpu_usage", {}).get("total_usage", 0) - pre.get("cpu_usage", {}).get("total_usage", 0))
    d_sys = cur.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    cpus = cur.get("online_cpus") or len(cur.get("cpu_usage", {}).get("percpu_usage") or ()) or 1
    return max(0.0, d_cpu / d_sys * cpus) if d_sys > 0 and d_cpu > 0 else 0.0


def _io_bytes(s: dict[str, Any]) -> int:
    entries = (s.get("blkio_stats") or {}).get("io_service_bytes_recursive") or ()
    return sum(int(e.get("value", 0)) for e in entries if str(e.get("op", "")).lower() in ("read", "write"))


def _net_bytes(s: dict[str, Any]) -> int:
    return sum(int(n.get("rx_bytes", 0)) + int(n.get("tx_bytes", 0)) for n in (s.get("networks") or {}).values())


def samples_from_stats(name: str, stats: Iterable[dict[str, Any]], t0: float) -> list[Sample]:
    """Turn the engine's stats documents of one container (in order) into samples; the first
    document only sets the baseline for the byte rates."""
    out: list[Sample] = []
    prev: tuple[float, int, int] | None = None
    for s in stats:
        now = time.time() if "_t" not in s else s["_t"]
        io, net = _io_bytes(s), _net_bytes(s)
        if prev is not None and now > prev[0]:
            dt = now - prev[0]
            out.append(Sample(name, round(now - t0, 3), _cpu_cores(s),
                              int((s.get("memory_stats") or {}).get("usage", 0)),
                              max(0.0, (io - prev[1]) / dt), max(0.0, (net - prev[2]) / dt)))
        prev = (now, io, net)
    return out


def saturation(samples: list[Sample], ceilings: dict[str, dict[str, float]], host_cores: float,
               threshold: float = THRESHOLD, sustain: int = SUSTAIN,
               window: tuple[float, float] | None = None) -> dict[str, Any]:
    """Which resource reached ``threshold`` of its ceiling first (see the module docstring).

    ``ceilings``: container -> {"cpu": cores, "memory": bytes, "disk": B/s, "network": B/s}
    (missing keys: no ceiling). ``window``: only samples within (from, to) seconds count (the
    load step itself, not the set-up before it). Returns ``saturated_first`` (a sentence),
    ``saturated`` (every saturated resource with the time it started) and ``peaks``."""
    if window is not None:
        samples = [s for s in samples if window[0] <= s.t <= window[1]]
    series: dict[tuple[str, str], list[tuple[float, float]]] = {}
    by_time: dict[float, list[Sample]] = {}
    for s in sorted(samples, key=lambda x: x.t):
        lim = ceilings.get(s.container, {})
        for res, used in (("cpu", s.cpu_cores), ("memory", s.mem_bytes), ("disk", s.disk_bps),
                          ("network", s.net_bps)):
            cap = lim.get(res, host_cores if res == "cpu" else 0)
            if cap:
                series.setdefault((s.container, res), []).append((s.t, used / cap))
        by_time.setdefault(round(s.t), []).append(s)
    host: list[tuple[float, float]] = []
    tops: dict[float, str] = {}
    for sec in sorted(by_time):
        group = [x for x in by_time[sec] if x.container != HOST]
        if not group:
            continue
        host.append((float(sec), sum(x.cpu_cores for x in group) / host_cores))
        top = sorted(group, key=lambda x: -x.cpu_cores)[:2]
        tops[float(sec)] = ", ".join(f"{x.container} {x.cpu_cores:.1f}" for x in top)
    measured = sorted((s.t, s.cpu_cores / host_cores) for s in samples if s.container == HOST)
    series[("host", "cpu")] = measured or host

    saturated: list[dict[str, Any]] = []
    highest = ("", "", 0.0)
    for (name, res), points in series.items():
        run = 0
        for i, (t, frac) in enumerate(points):
            if frac > highest[2]:
                highest = (name, res, frac)
            run = run + 1 if frac >= threshold else 0
            if run >= sustain:
                start = points[i - sustain + 1][0]
                saturated.append({"container": name, "resource": res, "since_s": start,
                                  "fraction": round(frac, 3)})
                break
    saturated.sort(key=lambda x: (x["since_s"], x["container"] != "host"))
    if saturated:
        first = saturated[0]
        text = f"{first['resource']} of {first['container']}"
        if first["container"] == "host":
            near = min(tops, key=lambda k: abs(k - first["since_s"])) if tops else None
            text += f" ({host_cores:g} cores" + (f"; top {tops[near]}" if near is not None else "") + ")"
        text += f" at +{first['since_s']:.0f}s"
    else:
        text = (f"none (highest: {highest[1]} of {highest[0]} at {highest[2]:.0%})" if highest[0]
                else "none (no samples)")
    return {"saturated_first": text, "saturated": saturated, "peaks": peaks(samples)}


def peaks(samples: list[Sample]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for s in samples:
        p = out.setdefault(s.container, {"cpu_cores": 0.0, "mem_bytes": 0, "disk_bps": 0.0, "net_bps": 0.0})
        for k in p:
            p[k] = max(p[k], getattr(s, k))
    return {c: {k: round(v, 3) for k, v in p.items()} for c, p in out.items()}


def container_ceilings(attrs: dict[str, Any]) -> dict[str, float]:
    """CPU and memory limits from a container's inspect document (HostConfig)."""
    hc = attrs.get("HostConfig") or {}
    out: dict[str, float] = {}
    if hc.get("NanoCpus"):
        out["cpu"] = hc["NanoCpus"] / 1e9
    elif hc.get("CpuQuota") and hc.get("CpuPeriod"):
        out["cpu"] = hc["CpuQuota"] / hc["CpuPeriod"]
    if hc.get("Memory"):
        out["memory"] = float(hc["Memory"])
    return out


class ResourceSampler:
    """Samples every platform container's stats in the background between ``start()`` and
    ``stop()``; ``summary()`` then gives the saturation figures. Extra ceilings (disk/network bytes per second) may be given per
    container name or for all (``"*"``)."""

    def __init__(self, platform, extra_ceilings: dict[str, dict[str, float]] | None = None):
        self.platform = platform
        self.extra = extra_ceilings or {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._raw: dict[str, list[dict[str, Any]]] = {}
        self._ceilings: dict[str, dict[str, float]] = {}
        self.t0 = 0.0
        self._host: list[Sample] = []

    def start(self) -> "ResourceSampler":
        self.t0 = time.time()
        if _engine_is_local():
            th = threading.Thread(target=self._follow_host, daemon=True, name="stats-host")
            th.start()
            self._threads.append(th)
        for node in self.platform.nodes():
            if not node.running():
                continue
            c = node._c
            c.reload()
            self._ceilings[node.name] = {**container_ceilings(c.attrs), **self.extra.get("*", {}),
                                         **self.extra.get(node.name, {})}
            buf = self._raw.setdefault(node.name, [])
            th = threading.Thread(target=self._follow, args=(c, buf), daemon=True,
                                  name=f"stats-{node.name}")
            th.start()
            self._threads.append(th)
        return self

    def _follow(self, container, buf: list[dict[str, Any]]) -> None:
        try:
            for doc in container.stats(stream=True, decode=True):
                doc["_t"] = time.time()
                buf.append(doc)
                if self._stop.is_set():
                    return
        except Exception:   # the container stopped or was killed (a fault): its series ends
            return

    def _follow_host(self) -> None:
        prev = _proc_stat()
        while prev is not None and not self._stop.wait(1.0):
            cur = _proc_stat()
            if cur is None:
                return
            d_total, d_idle = cur[0] - prev[0], cur[1] - prev[1]
            if d_total > 0:
                cores = (d_total - d_idle) / d_total * (os.cpu_count() or 1)
                self._host.append(Sample(HOST, round(time.time() - self.t0, 3), cores, 0, 0.0, 0.0))
            prev = cur

    def samples(self) -> list[Sample]:
        return [s for name, docs in self._raw.items() for s in samples_from_stats(name, list(docs), self.t0)] \
            + list(self._host)

    def stop(self) -> None:
        self._stop.set()
        for th in self._threads:
            th.join(timeout=3)

    def summary(self, window_wall: tuple[float, float] | None = None) -> dict[str, Any]:
        """Saturation over ``window_wall`` (wall-clock from, to), or over everything sampled."""
        host_cores = engine_cores()
        window = (window_wall[0] - self.t0, window_wall[1] - self.t0) if window_wall else None
        out = saturation(self.samples(), self._ceilings, host_cores, window=window)
        out["window_s"] = window
        out["ceilings"] = self._ceilings
        out["host_cores"] = host_cores
        return out

    def __enter__(self) -> "ResourceSampler":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _proc_stat() -> tuple[int, int] | None:
    """(total, idle incl. iowait) jiffies of all CPUs, or None off Linux."""
    try:
        with open("/proc/stat") as fh:
            f = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(f[:8]), f[3] + (f[4] if len(f) > 4 else 0)


def _engine_is_local() -> bool:
    host = os.environ.get("DOCKER_HOST", "")
    return not host or host.startswith("unix://")


def engine_cores() -> float:
    """CPUs of the Docker engine's host (the machine the containers share)."""
    import docker
    try:
        return float(docker.from_env().info().get("NCPU") or os.cpu_count() or 1)
    except docker.errors.DockerException:
        return float(os.cpu_count() or 1)


def to_jsonable(samples: list[Sample]) -> list[dict[str, Any]]:
    return [asdict(s) for s in samples]
