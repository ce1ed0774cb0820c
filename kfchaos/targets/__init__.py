"""External targets: certify a platform the harness did not start.

A target file (YAML, :mod:`kfchaos.targets.schema`) names the brokers, Flink, object
storage and optional per-zone Toxiproxies of a running platform, and for each node how
the harness may act on it (an actuator: ``docker`` or ``ssh``, :mod:`kfchaos.targets.actuators`).
:class:`kfchaos.targets.external.ExternalPlatform` exposes the surface of
``kfchaos.platform.platform.Platform`` that faults, workloads and scenarios use, backed
by those actuators. :mod:`kfchaos.targets.plan` prints what a run would do without
touching anything; :mod:`kfchaos.targets.builtin` starts the built-in container platform
on its own and writes a target file for it (``kfchaos platform up|down``).
"""
from .schema import Target, TargetError, load_target

__all__ = ["Target", "TargetError", "load_target"]
