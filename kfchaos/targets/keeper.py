"""The keeper of a platform started by ``kfchaos platform up``: starts the built-in platform,
writes its target file, then waits; SIGTERM (``kfchaos platform down``) removes it.

    python -m kfchaos.targets.keeper --profile kafka-3az --dir platforms/<run> --run-id <run>

``state.json`` in the directory says ``starting``, ``up`` (with the keeper's pid) or
``failed`` (with the one-line error).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path


def _state(directory: Path, **fields) -> None:
    path = directory / "state.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**old, **fields}, indent=1))
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="kfchaos.targets.keeper")
    ap.add_argument("--profile", default="kafka-3az")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--run-id", required=True)
    ap.add_argument("--startup-timeout", type=float, help="seconds each component may take to be ready")
    args = ap.parse_args(argv)
    directory = Path(args.dir)
    from kfchaos.cli import setup_logging
    setup_logging()
    _state(directory, status="starting", run_id=args.run_id, pid=os.getpid(), profile=args.profile,
           started=time.time())
    platform = None
    from kfchaos.platform import cleanup
    cleanup.register(lambda: None)       # SIGTERM from now on unwinds into the cleanup below
    try:
        from kfchaos import profiles
        from kfchaos.platform.docker_engine import ensure_docker
        from kfchaos.platform.platform import Platform

        from .builtin import write_files
        prof = profiles.load(args.profile)
        prof.platform.images.update(profiles.images_from_env(os.environ.get("CHAOS_IMAGES")))
        if args.startup_timeout:
            prof.platform.startup_timeout = args.startup_timeout
        ensure_docker()
        platform = Platform(prof.platform, run_id=args.run_id, log_dir=directory / "logs")
        platform.start()
        target, env = write_files(platform, directory)
        _state(directory, status="up", target=str(target), env_file=str(env), ready=time.time())
        print(f"platform {args.run_id} up; target {target}", flush=True)
        while True:
            signal.pause()
    except KeyboardInterrupt:              # SIGTERM/SIGINT/SIGHUP arrive as Interrupted
        print(f"platform {args.run_id}: stopping", flush=True)
        return 0
    except Exception as exc:
        line = " ".join(f"{type(exc).__name__}: {exc}".split())[:600]
        try:
            from kfchaos.redact import redact
            line = redact(line)
        except ImportError:
            pass
        _state(directory, status="failed", error=line)
        print(f"error: {line}", file=sys.stderr, flush=True)
        return 2
    finally:
        if platform is not None:
            platform.stop()
            _state(directory, status="down", stopped=time.time())


if __name__ == "__main__":
    sys.exit(main())
