"""External targets: certify a platform the harness did not start.

A target file (YAML, :mod:`harness.targets.schema`) names the brokers, Flink, object
storage and optional per-zone Toxiproxies of a running platform, and for each node how
the harness may act on it (an actuator: ``docker`` or ``ssh``, :mod:`harness.targets.actuators`).
:class:`harness.targets.external.ExternalPlatform` exposes the surface of
``harness.platform.platform.Platform`` that faults, workloads and scenarios use, backed
by those actuators. :mod:`harness.targets.plan` prints what a run would do without
touching anything; :mod:`harness.targets.builtin` starts the built-in container platform
on its own and writes a target file for it (``kfchaos platform up|down``).
"""
from .schema import Target, TargetError, load_target

__all__ = ["Target", "TargetError", "load_target"]
