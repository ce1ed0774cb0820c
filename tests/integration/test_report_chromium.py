"""report.html and compare.html open in headless Debian Chromium: it renders a
non-blank screenshot and its DOM holds the contract table with every scenario.

Chromium is installed with apt-get when /usr/bin/chromium is missing; the
test fails (never skips) with the reason if that is not possible."""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from kfchaos.report import compare, render_report
from tests.unit.test_report_render import table
from tests.unit.test_report_series import make_run_dir

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _tail(text: str, n: int = 2000) -> str:
    return text[-n:] if text else ""


def ensure_chromium() -> str:
    """Path of Chromium, installing the Debian package when it is missing."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    if shutil.which("apt-get") is None:
        pytest.fail(f"{CHROMIUM} is missing and there is no apt-get to install it")
    if os.geteuid() != 0:
        pytest.fail(f"{CHROMIUM} is missing and installing it needs root (apt-get install -y chromium)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log = []
    for cmd in (["apt-get", "install", "-y", "-q", "chromium"],
                ["apt-get", "update", "-q"],
                ["apt-get", "install", "-y", "-q", "chromium"]):
        try:
            p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{' '.join(cmd)} timed out after 1200 s")
        log.append(f"$ {' '.join(cmd)} -> {p.returncode}\n{_tail(p.stdout)}{_tail(p.stderr)}")
        if cmd[1] == "install" and p.returncode == 0 and os.access(CHROMIUM, os.X_OK):
            return CHROMIUM
    pytest.fail("could not install chromium with apt-get:\n" + "\n".join(log))


@pytest.fixture(scope="module")
def chromium() -> str:
    return ensure_chromium()


def run_chromium(chromium: str, tmp: Path, url: str, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    profile.mkdir()
    cmd = [chromium, *FLAGS, f"--user-data-dir={profile}", *extra, url]
    env = dict(os.environ, HOME=str(tmp))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"chromium did not finish within 240 s: {cmd}")
    assert p.returncode == 0, f"chromium exited {p.returncode}: {cmd}\n{_tail(p.stderr)}"
    return p


def png_info(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct byte values in the decoded image data)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, size = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    return size[0], size[1], len(set(raw[: 4_000_000]))


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    run = make_run_dir(tmp_path_factory.mktemp("reports"))
    render_report(run)
    return run


def test_screenshot_renders(chromium, run, tmp_path):
    png = tmp_path / "report.png"
    run_chromium(chromium, tmp_path, (run / "report.html").as_uri(),
                 f"--screenshot={png}", "--window-size=1400,1000")
    assert png.is_file(), "chromium wrote no screenshot"
    w, h, distinct = png_info(png)
    assert (w, h) == (1400, 1000)
    assert distinct > 30, "the screenshot looks blank"
    keep = os.environ.get("CHAOS_REPORT_SCREENSHOT")
    if keep:                      # for a human look: CHAOS_REPORT_SCREENSHOT=/tmp/report.png
        shutil.copy(png, keep)


def test_dom_has_contract_table(chromium, run, tmp_path):
    p = run_chromium(chromium, tmp_path, (run / "report.html").as_uri(), "--dump-dom")
    dom = p.stdout
    assert 'id="contract-table"' in dom, _tail(dom)
    rows = table(dom, "contract-table")
    assert [c[2] for c in rows[0]] == ["scenario", "status", "durability", "no-duplicates", "ordering"]
    assert [r[0][2] for r in rows[1:]] == ["kill-leader", "network-partition", "broker-disk-full"]
    assert [r[1][1] for r in rows[1:]] == ["verdict held", "verdict violated", "verdict error"]
    assert dom.count('class="fault-window') == 4
    assert "<script" not in dom


def test_compare_dom(chromium, run, tmp_path):
    other = make_run_dir(tmp_path, "tansu-1az", kind="tansu", seconds=5)
    html_path, _ = compare([run, other], tmp_path / "cmp")
    dom = run_chromium(chromium, tmp_path, html_path.as_uri(), "--dump-dom").stdout
    rows = table(dom, "compare-table")
    assert len(rows) == 2 + 6        # two header rows, 6 (scenario, contract) rows
    assert any(c[2] == f"tansu-1az{other.name}" for c in rows[0])
