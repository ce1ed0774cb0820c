"""Lines of code per role of the harness, for the working tree and any git revision.

    python benchmarks/loc_by_role.py                 # the working tree
    python benchmarks/loc_by_role.py f41fe5d HEAD    # side by side: two revisions

A role is a top-level folder or module group of ``kfchaos/`` (engine = the modules that
tie the roles together). Counts non-blank lines of Python; the largest module of each
role is named, since small modules are the house rule.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROLES = {
    "checkers": "kfchaos/checkers/", "clients": "kfchaos/clients/", "faults": "kfchaos/faults/",
    "platform": "kfchaos/platform/", "flink": "kfchaos/flink/", "images": "kfchaos/images/",
    "report": "kfchaos/report/", "profiles": "kfchaos/profiles/", "scenarios": ("kfchaos/scenarios/", "scenarios/"),
}


def role_of(path: str) -> str | None:
    if not path.endswith(".py") or not (path.startswith("kfchaos/") or path.startswith("scenarios/")):
        return None
    for role, prefixes in ROLES.items():
        if path.startswith(prefixes):
            return role
    return "engine"


def files_at(rev: str | None) -> dict[str, str]:
    if rev is None:
        paths = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.py") if ".git" not in p.parts]
        return {p: (ROOT / p).read_text(errors="replace") for p in paths if role_of(p)}
    listing = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    return {p: subprocess.run(["git", "show", f"{rev}:{p}"], cwd=ROOT, capture_output=True, text=True).stdout
            for p in listing if role_of(p)}


def count(rev: str | None) -> dict[str, tuple[int, int, str]]:
    """role -> (lines, modules, largest module with its lines)."""
    out: dict[str, list] = {}
    for path, text in files_at(rev).items():
        n = sum(1 for line in text.splitlines() if line.strip())
        lines, mods, big = out.setdefault(role_of(path), [0, 0, ("", 0)])
        out[role_of(path)] = [lines + n, mods + 1, max(big, (path, n), key=lambda x: x[1])]
    return {r: (v[0], v[1], f"{v[2][0]} ({v[2][1]})") for r, v in sorted(out.items())}


def main(argv: list[str]) -> int:
    revs = argv or [None]
    tables = [count(r) for r in revs]
    roles = sorted({r for t in tables for r in t})
    head = "role".ljust(10) + "".join(f"{(r or 'worktree')[:12]:>14}" for r in revs) + "   largest module (last)"
    print(head)
    for role in roles:
        cells = "".join(f"{t.get(role, (0, 0, ''))[0]:>9} /{t.get(role, (0, 0, ''))[1]:>3}" for t in tables)
        print(f"{role:10s}{cells}   {tables[-1].get(role, (0, 0, '-'))[2]}")
    totals = "".join(f"{sum(v[0] for v in t.values()):>9} /{sum(v[1] for v in t.values()):>3}" for t in tables)
    print(f"{'total':10s}{totals}   (lines / modules)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
