"""`chaos`: certify a platform profile, re-check and report stored runs, compare runs.

    chaos certify --profile kafka-3az [--scenario kill-leader ...] [--seed N]
    chaos analyze RUN_DIR        re-check a stored run's histories, no cluster needed
    chaos report RUN_DIR         (re)render RUN_DIR/report.html
    chaos compare RUN_DIR ...    side-by-side table (compare.html, compare.md)
    chaos list                   scenarios and profiles
    chaos clean [--all]          remove containers/networks left by crashed runs
    chaos build-images           build (or find cached) the platform images

Exit codes: 0 every contract held, 1 a contract was violated, 2 unknown or an
infrastructure error (a one-line message says what failed and how to fix it).
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def err(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


def scenario_catalog() -> dict[str, tuple[Path, str]]:
    out = {}
    for f in sorted(SCENARIOS.glob("test_*.py")):
        doc = ast.get_docstring(ast.parse(f.read_text())) or ""
        out[f.stem.removeprefix("test_").replace("_", "-")] = (f, doc.splitlines()[0] if doc else "")
    return out


def module_constant(path: Path, name: str, default=()):
    """A literal module-level constant of a scenario module, read without importing it."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    return default


def default_scenarios(catalog: dict[str, tuple[Path, str]], kind: str) -> tuple[list[str], dict[str, str]]:
    """The scenarios of a full certification of a platform kind, and those left out with the reason:
    a module's ``ONLY_WITH`` names features (see flavors' ``lacks``) without which its fault cannot
    touch the platform at all (S3 outage under broker-local Kafka). Such a scenario still runs,
    reported not applicable, when asked for by name."""
    from harness.platform.flavors import FLAVORS
    flavor = FLAVORS[kind]()
    chosen, left = [], {}
    for name, (path, _) in catalog.items():
        reason = flavor.missing(*module_constant(path, "ONLY_WITH"))
        if reason:
            left[name] = reason
        else:
            chosen.append(name)
    return chosen, left


def cmd_list(args) -> int:
    from harness import profiles
    print("scenarios:")
    for name, (_, title) in scenario_catalog().items():
        print(f"  {name:28s} {title}")
    print("profiles:")
    for name in profiles.available():
        p = profiles.load(name)
        print(f"  {name:28s} [{p.kind}] {p.description}")
    return 0


def cmd_clean(args) -> int:
    from harness.platform.cleanup import remove_run
    from harness.platform.docker_engine import DockerUnavailable, ensure_docker
    try:
        ensure_docker(install=False)
    except DockerUnavailable as exc:
        return err(str(exc))
    removed = remove_run(None, only_dead_owners=not args.all)
    if args.all:
        from harness.platform.disks import remove_disks
        removed += remove_disks(None)
    print("\n".join(removed) if removed else "nothing to clean")
    return 0


def cmd_build_images(args) -> int:
    from harness import profiles
    from harness.images.cache import BuildError
    from harness.platform.docker_engine import DockerUnavailable, ensure_docker
    from harness.platform.images import resolve_images
    try:
        prof = profiles.load(args.profile)
        ensure_docker()
        for role, image in resolve_images(prof.platform.images).items():
            print(f"{role}\t{image}")
    except (profiles.ProfileError, BuildError, DockerUnavailable, ValueError) as exc:
        return err(str(exc))
    return 0


def cmd_certify(args) -> int:
    import pytest

    from harness import profiles
    from harness.images.cache import BuildError
    from harness.platform.docker_engine import DockerUnavailable, ensure_docker
    from harness.platform.images import resolve_images
    from harness.results import exit_code
    from harness.rundir import new_run_dir

    try:
        prof = profiles.load(args.profile)
        prof.platform.images.update(profiles.images_from_env(os.environ.get("CHAOS_IMAGES")))
    except profiles.ProfileError as exc:
        return err(str(exc))
    catalog = scenario_catalog()
    chosen, left_out = (args.scenario, {}) if args.scenario else default_scenarios(catalog, prof.kind)
    for name, reason in left_out.items():
        print(f"[certify] {name} left out: {reason}", file=sys.stderr)
    unknown = [s for s in chosen if s not in catalog]
    if unknown:
        return err(f"unknown scenario(s) {', '.join(unknown)}; `chaos list` shows them")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    print(f"[certify] profile {prof.name} ({prof.kind}), seed {seed}, {len(chosen)} scenarios", file=sys.stderr)
    try:
        ensure_docker()
        resolve_images(prof.platform.images)
    except (BuildError, DockerUnavailable, ValueError, RuntimeError) as exc:
        return err(str(exc))
    run_dir = new_run_dir(prof.name, Path(args.reports))
    rerun = (f"chaos certify --profile {args.profile} --seed {seed}"
             + "".join(f" --scenario {s}" for s in (args.scenario or [])))
    pytest_args = [*(str(catalog[s][0]) for s in chosen), "-p", "no:cacheprovider", "-s", "-q",
                   "-W", "ignore::pytest.PytestAssertRewriteWarning",
                   f"--rootdir={ROOT}", f"--chaos-profile={args.profile}", f"--chaos-seed={seed}",
                   f"--chaos-run-dir={run_dir}", f"--chaos-command={rerun}",
                   f"--junitxml={run_dir / 'junit.xml'}", f"--alluredir={run_dir / 'allure-results'}"]
    print(f"[certify] run directory {run_dir}", file=sys.stderr)
    code = pytest.main(pytest_args)
    results_path = run_dir / "results.json"
    if not results_path.exists():
        return err(f"no results were recorded (pytest exit {int(code)}): see the output above and {run_dir}")
    results = json.loads(results_path.read_text())
    print(summary_table(results))
    print(f"report: {run_dir / 'report.html'}\nre-run: {results.get('command')}")
    return exit_code(results)


def summary_table(results: dict) -> str:
    lines = [f"{results['profile']}: {results['overall'].upper()}"]
    for s in results["scenarios"]:
        cs = ", ".join(f"{c['contract']}={c['verdict']}" for c in s.get("contracts", []))
        lines.append(f"  {s['name']:26s} {s['status']:9s} {cs}" + (f"  ({s['error']})" if s.get("error") else ""))
    return "\n".join(lines)


def cmd_analyze(args) -> int:
    from harness.recheck import recheck_run
    from harness.results import exit_code
    run = Path(args.run)
    if not (run / "results.json").exists() and not any(run.glob("*/history.jsonl")):
        return err(f"{run} is not a run directory (no results.json and no */history.jsonl)")
    results = recheck_run(run, write=args.write)
    print(summary_table(results))
    return exit_code(results)


def cmd_report(args) -> int:
    from harness.report.render import render_report
    run = Path(args.run)
    if not (run / "results.json").exists():
        return err(f"{run}/results.json not found: give a run directory (reports/<time>-<profile>)")
    print(render_report(run))
    return 0


def cmd_compare(args) -> int:
    from harness.report.compare import compare
    runs = [Path(r) for r in args.runs]
    missing = [str(r) for r in runs if not (r / "results.json").exists()]
    if missing:
        return err(f"no results.json in {', '.join(missing)}")
    out = Path(args.out) if args.out else runs[0].parent
    html, md = compare(runs, out)
    print(f"{html}\n{md}")
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    ap = argparse.ArgumentParser(prog="chaos", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("certify", help="run the certification scenarios against a profile")
    c.add_argument("--profile", default="kafka-3az", help="profile name or path (default kafka-3az)")
    c.add_argument("--scenario", action="append", help="run only this scenario (repeatable)")
    c.add_argument("--seed", type=int, help="seed for schedules and workloads (default random)")
    c.add_argument("--reports", default=os.environ.get("CHAOS_REPORTS_DIR", "reports"), help="reports root")
    c.set_defaults(fn=cmd_certify)
    a = sub.add_parser("analyze", help="re-check a stored run's histories without a cluster")
    a.add_argument("run")
    a.add_argument("--write", action="store_true", help="rewrite results.json with the new verdicts")
    a.set_defaults(fn=cmd_analyze)
    r = sub.add_parser("report", help="render RUN/report.html from RUN/results.json and histories")
    r.add_argument("run")
    r.set_defaults(fn=cmd_report)
    m = sub.add_parser("compare", help="side-by-side table of runs (HTML and Markdown)")
    m.add_argument("runs", nargs="+")
    m.add_argument("--out", help="directory for compare.html and compare.md (default: reports/)")
    m.set_defaults(fn=cmd_compare)
    sub.add_parser("list", help="list scenarios and profiles").set_defaults(fn=cmd_list)
    cl = sub.add_parser("clean", help="remove containers/networks of crashed runs")
    cl.add_argument("--all", action="store_true", help="also runs whose process is still alive")
    cl.set_defaults(fn=cmd_clean)
    b = sub.add_parser("build-images", help="build or find the platform images")
    b.add_argument("--profile", default="kafka-3az")
    b.set_defaults(fn=cmd_build_images)
    args = ap.parse_args(argv)
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        print("interrupted: cleaning up", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
