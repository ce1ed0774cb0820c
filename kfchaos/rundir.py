"""Run directories: reports/<time>-<profile>/ with a ``latest`` link beside them."""
from __future__ import annotations

import os
import time
from pathlib import Path

DEFAULT_ROOT = Path(os.environ.get("CHAOS_REPORTS_DIR", Path.cwd() / "reports"))


def new_run_dir(profile: str, root: Path | None = None) -> Path:
    root = Path(root or DEFAULT_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = root / f"{stamp}-{profile}"
    n = 1
    while path.exists():
        n += 1
        path = root / f"{stamp}-{profile}-{n}"
    path.mkdir()
    latest = root / "latest"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(path.name)
    except OSError:
        pass
    return path
