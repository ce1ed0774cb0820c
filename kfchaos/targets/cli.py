"""Command-line entry points of external targets, for ``kfchaos.cli`` to wire.

    kfchaos platform up [--profile P] [--dir D]     start the built-in platform, write D/target.yaml
    kfchaos platform down [D | D/target.yaml]       remove it
    chaos target check FILE                       load, discover, health gate (touches nothing)
    chaos target plan FILE [--scenario S ...]     the dry run
    chaos target clean FILE [--run RUN_ID]        heal what a crashed run left

Every function returns an exit code (0 ok, 2 error) and prints errors as one line.
"""
from __future__ import annotations

import sys
from pathlib import Path

EXIT_ERROR = 2


def _err(msg: str) -> int:
    print(f"error: {' '.join(str(msg).split())}", file=sys.stderr)
    return EXIT_ERROR


def load_platform(path: str | Path, run_id: str | None = None, log_dir: Path | None = None):
    """An ExternalPlatform from a target file (not started: ``certify`` calls ``start()``)."""
    from .external import ExternalPlatform
    from .schema import load_target
    return ExternalPlatform(load_target(path), run_id=run_id, log_dir=log_dir)


def dry_run_plan(target_path: str | Path, profile=None, scenarios: list[str] | None = None) -> list[str]:
    from .plan import plan
    from .schema import load_target
    return plan(load_target(target_path, require_env=False), profile, scenarios)


def clean_target(path: str | Path, run_id: str | None = None) -> list[str]:
    from .clean import clean_target as clean
    return clean(path, run_id)


def cmd_platform_up(args) -> int:
    from .builtin import PlatformUpError, platform_up
    try:
        up = platform_up(getattr(args, "profile", None) or "kafka-3az", getattr(args, "dir", None),
                         startup_timeout=getattr(args, "startup_timeout", None))
    except PlatformUpError as exc:
        return _err(exc)
    print(f"platform {up.run_id} is up (keeper pid {up.keeper_pid})\ntarget: {up.target}\n"
          f"credentials: {up.env_file} (mode 0600); load them with:\n  {up.export_line()}\n"
          f"remove it with: kfchaos platform down {up.directory}")
    return 0


def cmd_platform_down(args) -> int:
    from .builtin import PlatformUpError, platform_down
    try:
        removed = platform_down(getattr(args, "where", None))
    except PlatformUpError as exc:
        return _err(exc)
    print(f"removed {len(removed)} leftover containers/networks" if removed else "platform removed")
    return 0


def cmd_target_check(args) -> int:
    from .discovery import DiscoveryError
    from .schema import TargetError
    try:
        platform = load_platform(args.target)
        platform.start()
    except (TargetError, DiscoveryError) as exc:
        return _err(exc)
    try:
        d = platform.discovered
        print(f"target {platform.target.name}: brokers {d.zone_ids} (zone: id), Flink {d.flink_version} with "
              f"{len(d.taskmanagers)} TaskManagers, {d.slots_available} free slots; healthy")
        for name, caps in platform.node_capabilities().items():
            can = [c for c, why in caps.items() if why is None]
            print(f"  {name}: {', '.join(can) or '-'}")
    finally:
        platform.stop()
    return 0


def cmd_target_plan(args) -> int:
    from .schema import TargetError
    profile = None
    try:
        if getattr(args, "profile", None):
            from kfchaos import profiles
            profile = profiles.load(args.profile)
        print("\n".join(dry_run_plan(args.target, profile, getattr(args, "scenario", None))))
    except (TargetError, ValueError, KeyError) as exc:
        return _err(exc)
    return 0


def cmd_target_clean(args) -> int:
    from .schema import TargetError
    try:
        print("\n".join(clean_target(args.target, getattr(args, "run", None))))
    except TargetError as exc:
        return _err(exc)
    return 0


def cmd_target_preflight(args) -> int:
    """Kubernetes targets: context, Chaos Mesh CRDs, selectors and zones; exit 2 with one line if not."""
    from .kubernetes.preflight import PreflightError, preflight
    from .schema import TargetError, load_target
    try:
        target = load_target(args.target, require_env=False)
        if target.kubernetes is None:
            return _err(f"{args.target}: has no kubernetes section; preflight checks Kubernetes targets")
        print("\n".join(preflight(target)))
    except (TargetError, PreflightError) as exc:
        return _err(exc)
    print("preflight passed")
    return 0


def add_arguments(subparsers) -> None:
    """Add ``platform`` and ``target`` to the ``chaos`` subcommands (each sets ``fn``)."""
    p = subparsers.add_parser("platform", help="start or remove the built-in platform on its own")
    ps = p.add_subparsers(dest="platform_cmd", required=True)
    up = ps.add_parser("up", help="start it and write a target file for it")
    up.add_argument("--profile", default="kafka-3az")
    up.add_argument("--dir", help="where to write target.yaml (default platforms/<run id>)")
    up.add_argument("--startup-timeout", type=float, help="seconds each component may take (default: the profile's)")
    up.set_defaults(fn=cmd_platform_up)
    down = ps.add_parser("down", help="remove a platform started by `platform up`")
    down.add_argument("where", nargs="?", help="its directory or target.yaml (default: the only one up)")
    down.set_defaults(fn=cmd_platform_down)
    t = subparsers.add_parser("target", help="check, plan or clean an external target")
    ts = t.add_subparsers(dest="target_cmd", required=True)
    c = ts.add_parser("check", help="load, discover and check the health of a target (touches nothing)")
    c.add_argument("target")
    c.set_defaults(fn=cmd_target_check)
    pl = ts.add_parser("plan", help="what a certification would do (dry run)")
    pl.add_argument("target")
    pl.add_argument("--profile")
    pl.add_argument("--scenario", action="append")
    pl.set_defaults(fn=cmd_target_plan)
    pf = ts.add_parser("preflight", help="Kubernetes targets: context, Chaos Mesh CRDs, selectors and zones")
    pf.add_argument("target")
    pf.set_defaults(fn=cmd_target_preflight)
    cl = ts.add_parser("clean", help="heal what a crashed run left on a target")
    cl.add_argument("target")
    cl.add_argument("--run", help="only this run's rules")
    cl.set_defaults(fn=cmd_target_clean)
