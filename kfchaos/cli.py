"""`kfchaos` (or `python -m kfchaos.cli`): certify a platform profile, re-check and report stored runs, compare runs.

    kfchaos certify --profile kafka-3az [--scenario kill-leader ...] [--seed N] [--scenarios DIR]
    kfchaos certify --soak 1h [--soak-period 60s] [--soak-chunk 10m]   a soak run (see README "Soak runs")
    kfchaos migrate --from A --to B [--fault kill:target] [--seed N] [--mirror exactly-once]   rehearse a migration from profile A to profile B
    kfchaos analyze RUN_DIR        recompute every verdict from the stored histories, no cluster
    kfchaos report RUN_DIR         (re)render RUN_DIR/report.html
    kfchaos compare RUN_DIR ...    side-by-side table (compare.html, compare.md)
    kfchaos history export H [-o OUT]   a history (history.kfh or .jsonl, or a scenario's directory) as JSON Lines
    kfchaos history pack H.jsonl [-o OUT.kfh]   a JSONL history as a chunk file
    kfchaos list [--scenarios DIR] scenarios and profiles
    kfchaos clean [--all]          remove what crashed runs left behind
    kfchaos build-images           build (or find cached) the platform images

Exit codes: 0 every contract held, 1 a contract was violated, 2 unknown, an incomplete
run, or an error that is not a verdict (one line says what failed and how to fix it;
--debug shows the traceback).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from kfchaos.images.cache import BuildError

log = logging.getLogger("chaos.cli")
EXIT_ERROR = 2


class UsageError(Exception):
    """Bad input: the message is one line saying what is wrong and how to fix it."""


def err(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return EXIT_ERROR


class _Format(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"[{record.name.removeprefix('chaos.')}] {record.getMessage()}"


def setup_logging(debug: bool = False) -> None:
    root = logging.getLogger("chaos")
    if not any(getattr(h, "_chaos", False) for h in root.handlers):
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(_Format())
        h._chaos = True
        root.addHandler(h)
    root.setLevel(logging.DEBUG if debug else logging.INFO)



def _profile(name: str):
    from kfchaos import profiles
    try:
        prof = profiles.load(name)
        prof.platform.images.update(profiles.images_from_env(os.environ.get("CHAOS_IMAGES")))
    except profiles.ProfileError as exc:
        raise UsageError(str(exc)) from None
    return prof


def _user_scenarios(dirs: list[str] | None) -> list[str] | None:
    """Load the user's scenario directories; the names they define (None: no directory given)."""
    if not dirs:
        return None
    from kfchaos.scenarios import load_dir
    names: list[str] = []
    for d in dirs:
        try:
            names += list(load_dir(d))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return names


def cmd_list(args) -> int:
    from kfchaos import profiles
    from kfchaos.scenarios import REGISTRY, shipped_yaml
    user = _user_scenarios(args.scenarios)
    groups = [("scenarios", [n for n in REGISTRY if user is None or n not in user])]
    if user is not None:
        groups.append(("your scenarios", user))
    groups.append(("shipped YAML twins (run by name)", list(shipped_yaml())))
    from kfchaos.scenarios import get
    for title, names in groups:
        print(f"{title}:")
        for name in names:
            s = get(name)
            needs = f"  [needs {', '.join(s.requires + s.only_with)}]" if s.requires or s.only_with else ""
            print(f"  {name:28s} {s.title}{needs}")
    print("profiles:")
    for name in profiles.available():
        p = profiles.load(name)
        print(f"  {name:28s} [{p.kind}] {p.description}")
    return 0


def cmd_clean(args) -> int:
    if args.target:
        from kfchaos.targets.cli import clean_target
        lines = clean_target(args.target, args.run)
        print("\n".join(lines) if lines else "nothing to clean on the target")
        return 0
    from kfchaos.platform import cleanup
    from kfchaos.platform.docker_engine import ensure_docker
    ensure_docker(install=False)
    report = cleanup.clean_dead_runs(all_runs=args.all)
    print("\n".join(f"removed {r}" for r in report.removed) if report.removed else "nothing to clean")
    for line in report.kept:
        print(f"kept (its run is alive; --all removes it): {line}")
    for line in report.foreign:
        print(f"left alone (another host's): {line}")
    for line in report.failed:
        print(f"error: could not remove {line}", file=sys.stderr)
    return EXIT_ERROR if report.failed else 0


def cmd_build_images(args) -> int:
    from kfchaos.platform.docker_engine import ensure_docker
    from kfchaos.platform.images import resolve_images
    prof = _profile(args.profile)
    ensure_docker()
    for role, image in resolve_images(prof.platform.images).items():
        print(f"{role}\t{image}")
    return 0


def _soak_settings(args):
    """``--soak`` and its options checked (one line each if bad), the scenario set to ``soak`` and
    its settings exported for it (``CHAOS_SOAK*``); None without --soak."""
    from kfchaos.soak import SoakSettings
    if not args.soak:
        if args.soak_period or args.soak_chunk:
            raise UsageError("--soak-period and --soak-chunk go with --soak DURATION (e.g. --soak 1h)")
        if args.scenario and "soak" in args.scenario:
            raise UsageError("the soak scenario needs a duration: give --soak DURATION (e.g. --soak 1h)")
        return None
    if args.scenario and set(args.scenario) != {"soak"}:
        raise UsageError("--soak runs the soak scenario alone: drop --scenario")
    if args.kafka or args.flink:
        raise UsageError("--soak runs on one platform: drop --kafka/--flink")
    env = {"CHAOS_SOAK": args.soak, "CHAOS_SOAK_PERIOD": args.soak_period or "",
           "CHAOS_SOAK_CHUNK": args.soak_chunk or ""}
    try:
        settings = SoakSettings.from_env(env)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.timeout and args.timeout < settings.duration_s:
        raise UsageError(f"--timeout {args.timeout:g} s is shorter than the soak ({settings.duration_s:g} s): "
                         "raise it or drop it")
    os.environ.update(settings.to_env())
    args.scenario = ["soak"]
    return settings


def cmd_certify(args) -> int:
    from kfchaos.certify import certify, choose
    from kfchaos.platform.docker_engine import ensure_docker
    from kfchaos.scenarios import UnknownScenario
    soak = _soak_settings(args)
    prof = _profile(args.profile)
    pool = _user_scenarios(args.scenarios)
    try:
        choose(prof, args.scenario, pool)
    except UnknownScenario as exc:
        raise UsageError(exc.args[0]) from None
    _validate_schedule_env(prof)
    from kfchaos.certify import rerun_command
    seed = args.seed if args.seed is not None else __import__("random").SystemRandom().randrange(1, 2**31)
    factory = _target_factory(args.target) if args.target else None
    if args.dry_run:
        if not args.target:
            raise UsageError("--dry-run plans a certification of an external target: give --target FILE")
        from kfchaos.targets.cli import dry_run_plan
        print("\n".join(dry_run_plan(args.target, prof, args.scenario)))
        return 0
    if factory is None:
        ensure_docker()
    if args.kafka or args.flink:
        if args.target:
            raise UsageError("--kafka/--flink build the built-in platform per release: drop --target")
        from kfchaos.matrix import run_matrix
        return run_matrix(prof, args, seed, pool)
    command = rerun_command(args.profile, seed, None if soak else args.scenario, args.scenarios)
    if soak:
        command += soak.flags()
    if args.target:
        command += f" --target {args.target}"
    result = certify(prof, args.scenario, seed, reports=Path(args.reports), pool=pool, command=command,
                     platform_factory=factory, timeout=args.timeout)
    print(result.summary_table())
    print(f"report: {Path(args.reports) / 'latest' / 'report.html'}\nre-run: {result.command}")
    if not result.complete:
        print(f"error: the run is incomplete (missing: {', '.join(result.missing) or '-'}"
              f"{'; ' + result.interrupted if result.interrupted else ''}): its verdict is unknown", file=sys.stderr)
    return result.exit_code


def cmd_migrate(args) -> int:
    from kfchaos.migrate.rehearsal import MigrationInputError, check_pair, rehearse
    from kfchaos.platform.docker_engine import ensure_docker
    a, b = _profile(args.source), _profile(args.target)
    try:
        check_pair(a, b, args.fault)
    except MigrationInputError as exc:
        raise UsageError(str(exc)) from None
    ensure_docker()
    result = rehearse(a, b, args.seed, fault=args.fault, reports=Path(args.reports), cutover=args.cutover,
                      mirror=args.mirror, job_start=args.job_start)
    print(result.summary_table())
    print(f"report: {Path(args.reports) / 'latest' / 'report.html'}\nre-run: {result.command}")
    if not result.complete:
        print(f"error: the rehearsal is incomplete{': ' + result.interrupted if result.interrupted else ''}: "
              "its verdict is unknown", file=sys.stderr)
    return result.exit_code


def _target_factory(path: str):
    """A platform factory for an external target file; the file is checked now (one line if bad)."""
    from kfchaos.targets import load_target
    try:
        load_target(path)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    from kfchaos.targets.cli import load_platform
    return lambda run_dir: load_platform(path, log_dir=Path(run_dir) / "logs")


def _validate_schedule_env(prof) -> None:
    """CHAOS_SCHEDULE is checked before anything starts (known faults, targets, times)."""
    path = os.environ.get("CHAOS_SCHEDULE")
    if not path:
        return
    from kfchaos.faults import schedule
    try:
        specs = schedule.load(path)
        validate = getattr(schedule, "validate", None)
        if validate is not None:
            validate(specs, tuple(prof.platform.zones))
    except (OSError, ValueError) as exc:
        raise UsageError(f"CHAOS_SCHEDULE: {exc}".replace("\n", " ")) from None


def cmd_analyze(args) -> int:
    from kfchaos.analyze import analyze_run, analyze_scenario, render_text
    from kfchaos.history import HISTORY_NAMES
    run = Path(args.run)
    if not run.is_dir():
        raise UsageError(f"{run} is not a directory: give a run directory (reports/<time>-<profile>)")
    if any((run / name).exists() for name in HISTORY_NAMES):   # one scenario's directory (or a bare history)
        scenario, verdicts = analyze_scenario(run)
        print(scenario.summary())
        if args.checkers:
            print(render_text(verdicts))
        return {"held": 0, "violated": 1}.get(scenario.status, EXIT_ERROR)
    result = analyze_run(run)
    if args.write:
        result.write(run)
    if args.json:
        print(json.dumps(result.to_dict(), indent=1, default=str))
    else:
        print(result.summary_table())
    return result.exit_code


def cmd_history(args) -> int:
    from kfchaos import history_chunks
    from kfchaos.history import history_file
    from kfchaos.history_rotation import CHUNK_DIR, export_jsonl
    src = Path(args.path)
    if src.is_dir() and src.name != CHUNK_DIR:
        src = Path(history_file(src))
    if src.is_dir() and args.action == "export":          # a rotated history: its chunk files in order
        out = Path(args.out) if args.out else src.parent / "history.jsonl"
        print(f"{out}: {export_jsonl(src, out):,} ops")
        return 0
    if not src.is_file():
        raise UsageError(f"{src}: no such history file: give history.kfh, history.jsonl or a scenario's directory")
    chunked = history_chunks.is_chunk_file(src)
    export = args.action == "export"
    if export != chunked:
        raise UsageError(f"{src} is already " + ("JSON Lines" if export else "a chunk file"))
    out = Path(args.out) if args.out else src.with_suffix(".jsonl" if export else history_chunks.SUFFIX)
    if out.resolve() == src.resolve():
        raise UsageError("the output would overwrite the input: give -o")
    n = (history_chunks.export_jsonl if export else history_chunks.pack_jsonl)(src, out)
    print(f"{out}: {n:,} ops")
    return 0


def cmd_report(args) -> int:
    from kfchaos.report.render import render_report
    run = Path(args.run)
    if not (run / "results.json").exists():
        raise UsageError(f"{run}/results.json not found: give a run directory (reports/<time>-<profile>)")
    print(render_report(run))
    return 0


def cmd_compare(args) -> int:
    from kfchaos.report.compare import compare
    runs = [Path(r) for r in args.runs]
    missing = [str(r) for r in runs if not (r / "results.json").exists()]
    if missing:
        raise UsageError(f"no results.json in {', '.join(missing)}: give run directories")
    out = Path(args.out) if args.out else runs[0].parent
    html, md = compare(runs, out)
    print(f"{html}\n{md}")
    return 0


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0; e.g. --timeout 900")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:      # usage errors exit 2 with one line, like every other error
        self.exit(EXIT_ERROR, f"error: {message} (see `{self.prog} --help`)\n")


def parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="kfchaos", description=__doc__.split("\n\n")[0])
    ap.add_argument("--debug", action="store_true", help="show tracebacks and debug output")
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    c = sub.add_parser("certify", help="run the certification scenarios against a profile")
    c.add_argument("--profile", default="kafka-3az", help="profile name or path (default kafka-3az)")
    c.add_argument("--scenario", action="append", help="run only this scenario (repeatable)")
    c.add_argument("--kafka", metavar="V1,V2", help="a version matrix: certify once per Kafka release, then compare")
    c.add_argument("--flink", metavar="V1,V2", help="a version matrix: certify once per Flink release, then compare")
    c.add_argument("--seed", type=int, help="seed for schedules and workloads (default random)")
    c.add_argument("--scenarios", action="append", metavar="DIR",
                   help="your own scenario modules (.py) and files (.yaml): a directory or one file (repeatable); "
                        "without --scenario, only these run")
    c.add_argument("--target", metavar="FILE", help="certify the platform this target file describes "
                                                     "(yours, reached over Docker or SSH) instead of starting one")
    c.add_argument("--dry-run", action="store_true", help="with --target: print the plan, touch nothing")
    c.add_argument("--timeout", type=_positive_seconds, metavar="SECONDS",
                   help="per scenario: one that runs longer heals and ends the run as unknown (exit 2)")
    c.add_argument("--soak", metavar="DURATION", help="a soak: the load for DURATION (300s, 90m, 1h, 1h30m) under "
                                                     "one seeded fault every period; its history in rotated chunks")
    c.add_argument("--soak-period", metavar="DURATION", help="with --soak: one fault every DURATION "
                                                             "(default a quarter of the soak, 20-60 s)")
    c.add_argument("--soak-chunk", metavar="DURATION", help="with --soak: a new history chunk file every DURATION "
                                                            "(default 10m; also every million ops)")
    c.add_argument("--reports", default=os.environ.get("CHAOS_REPORTS_DIR", "reports"), help="reports root")
    c.set_defaults(fn=cmd_certify)
    mg = sub.add_parser("migrate", help="rehearse a migration: mirror from one platform to another, move a group")
    mg.add_argument("--from", dest="source", required=True, metavar="PROFILE", help="the platform migrated from")
    mg.add_argument("--to", dest="target", required=True, metavar="PROFILE", help="the platform migrated to")
    mg.add_argument("--fault", default="kill:target", metavar="FAULT:SIDE",
                    help="kill or pause the broker of zone b of the target or the source (default kill:target)")
    mg.add_argument("--seed", type=int, help="seed for the fault schedule (default random)")
    mg.add_argument("--cutover", choices=("translated", "latest"), default="translated",
                    help="move the group on MirrorMaker's translated offsets (default), or as a new group at the "
                         "target's end (the weakened move of the detection matrix)")
    mg.add_argument("--mirror", choices=("at-least-once", "exactly-once"), default="at-least-once",
                    help="MirrorMaker 2's delivery: Connect's default, or in transactions on the target "
                         "(exactly.once.source.support; the target is then read read_committed)")
    mg.add_argument("--job-start", choices=("positions", "earliest"), default="positions",
                    help="where the moved Flink job starts on the target: after the mirrored copy of the last "
                         "record it read (default), or at the mirrored topic's start (the weakened move of the "
                         "detection matrix)")
    mg.add_argument("--reports", default=os.environ.get("CHAOS_REPORTS_DIR", "reports"), help="reports root")
    mg.set_defaults(fn=cmd_migrate)
    a = sub.add_parser("analyze", help="recompute every verdict of a stored run from its histories")
    a.add_argument("run", help="a run directory, or one scenario's directory")
    a.add_argument("--write", action="store_true", help="rewrite results.json with the recomputed results")
    a.add_argument("--json", action="store_true", help="print the run result as JSON")
    a.add_argument("--checkers", action="store_true", help="(one scenario) also print every checker's verdict")
    a.set_defaults(fn=cmd_analyze)
    hi = sub.add_parser("history", help="convert a history: export a chunk file as JSON Lines, or pack JSONL")
    hi.add_argument("action", choices=("export", "pack"))
    hi.add_argument("path", help="history.kfh, history.jsonl, or a scenario's directory")
    hi.add_argument("-o", "--out", help="output file (default: beside the input, other suffix)")
    hi.set_defaults(fn=cmd_history)
    r = sub.add_parser("report", help="render RUN/report.html from RUN/results.json and histories")
    r.add_argument("run")
    r.set_defaults(fn=cmd_report)
    m = sub.add_parser("compare", help="side-by-side table of runs (HTML and Markdown)")
    m.add_argument("runs", nargs="+")
    m.add_argument("--out", help="directory for compare.html and compare.md (default: beside the first run)")
    m.set_defaults(fn=cmd_compare)
    li = sub.add_parser("list", help="list scenarios and profiles")
    li.add_argument("--scenarios", action="append", metavar="DIR", help="also list the scenarios of this directory")
    li.set_defaults(fn=cmd_list)
    cl = sub.add_parser("clean", help="remove containers, networks, volumes and disks of crashed runs")
    cl.add_argument("--all", action="store_true", help="also runs whose process is still alive")
    cl.add_argument("--target", metavar="FILE", help="heal what crashed runs left on an external target")
    cl.add_argument("--run", help="with --target: only this run id")
    cl.set_defaults(fn=cmd_clean)
    from kfchaos.targets.cli import add_arguments
    add_arguments(sub)
    b = sub.add_parser("build-images", help="build or find the platform images")
    b.add_argument("--profile", default="kafka-3az")
    b.set_defaults(fn=cmd_build_images)
    return ap


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    args = parser().parse_args(argv)
    setup_logging(args.debug)
    try:
        return args.fn(args)
    except KeyboardInterrupt as exc:
        print(f"error: interrupted ({exc or 'Ctrl-C'}): faults healed and the platform removed", file=sys.stderr)
        return EXIT_ERROR
    except UsageError as exc:
        return err(str(exc))
    except (ValueError, BuildError) as exc:   # bad input files, unbuildable versions: the message is the line
        if args.debug:
            raise
        return err(_one_line(exc, with_type=False))
    except Exception as exc:
        if args.debug:
            raise
        return err(_one_line(exc))


def _one_line(exc: BaseException, with_type: bool = True) -> str:
    """An error that is not a verdict, as one line (redacted); --debug shows the traceback."""
    from kfchaos.redact import redact
    text = redact(" ".join(str(exc).split()) or type(exc).__name__)
    if not with_type:
        return text[:800]
    hint = "" if "--debug" in text else " (re-run with --debug for the traceback)"
    return f"{type(exc).__name__}: {text[:600]}{hint}"


if __name__ == "__main__":
    sys.exit(main())
