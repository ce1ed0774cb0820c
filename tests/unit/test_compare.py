"""compare.html / compare.md (kfchaos.report.compare) for two synthetic runs."""
from __future__ import annotations

import re

import pytest

from kfchaos.report import compare
from kfchaos.report.compare import COLUMNS, column_header, md_cell

from .test_report_render import table
from .test_report_series import contract, make_run_dir, scenario


@pytest.fixture
def runs(tmp_path):
    a = make_run_dir(tmp_path / "reports", "kafka-3az", name="20261125-120000-kafka-3az", seconds=5)
    b = make_run_dir(tmp_path / "reports", "tansu-1az", kind="tansu", seed=9,
                     name="20261126-090000-tansu-1az", seconds=5, scenarios=[
                         scenario("kill-leader", "violated",
                                  [contract("durability", "violated"),
                                   contract("no-duplicates", "held")],
                                  figures={"lost": 3, "duplicates": 1, "bytes_in_object_storage": 2048,
                                           "saturated_first": "s3 | put"}),
                         scenario("broker-disk-full", "held", [contract("durability", "held")]),
                         scenario("tiered-offload", "held", [contract("a|b <i>", "held")]),
                     ])
    out = tmp_path / "cmp"
    html_path, md_path = compare([a, b], out)
    return a, b, html_path, md_path


EXPECTED_ROWS = [
    ("kill-leader", "durability"), ("kill-leader", "no-duplicates"),
    ("network-partition", "durability"), ("network-partition", "no-duplicates"),
    ("network-partition", "ordering"),
    ("broker-disk-full", "durability"),
    ("tiered-offload", "a|b <i>"),
]


def test_writes_both_files(runs):
    _, _, html_path, md_path = runs
    assert html_path.name == "compare.html" and md_path.name == "compare.md"
    assert html_path.is_file() and md_path.is_file()


def test_html_table_rows_and_column_groups(runs):
    a, b, html_path, _ = runs
    html = html_path.read_text()
    rows = table(html, "compare-table")
    group_hdr = [c[2] for c in rows[0]]
    assert group_hdr == ["scenario", "contract", f"kafka-3az{a.name}", f"tansu-1az{b.name}", "same"]
    sub = [c[2] for c in rows[1]]
    assert sub == (["verdict"] + [column_header(keys) for keys in COLUMNS]) * 2
    assert sub[1:4] == ["lost records", "duplicates", "recovery"]   # labels from kfchaos.figures
    assert html.count('<colgroup class="run"') == 2
    got = re.findall(r'<tr[^>]*data-scenario="([^"]*)" data-contract="([^"]*)"', html)
    assert [(s, c.replace("&lt;", "<").replace("&gt;", ">")) for s, c in got] == EXPECTED_ROWS
    assert "<i>" not in html and "a|b &lt;i&gt;" in html


def _row(html: str, scen: str, contr: str) -> list[tuple[str, str, str]]:
    rows = table(html, "compare-table")[2:]
    idx = EXPECTED_ROWS.index((scen, contr))
    return rows[idx]


def test_html_cells(runs):
    _, _, html_path, _ = runs
    html = html_path.read_text()
    ncol = 1 + len(COLUMNS)
    # first row of kill-leader: scenario, contract, run A group, run B group, same
    r = _row(html, "kill-leader", "durability")
    cells = [c[2] for c in r]
    assert cells[0:2] == ["kill-leader", "durability"]
    assert cells[2] == "held" and cells[2 + ncol] == "violated" and cells[-1] == "no"
    assert "verdict violated" in r[2 + ncol][1]
    fig_a, fig_b = cells[3:2 + ncol], cells[3 + ncol:2 + 2 * ncol]
    assert fig_a[:2] == ["0", "0"] and fig_b[:2] == ["3", "1"]
    assert fig_a[5] == "117.7 MiB / —" and fig_b[5] == "117.7 MiB / 2.0 KiB"
    assert fig_b[6] == "s3 | put"
    # network-partition is missing from run B: all of B's cells are "—"
    r = _row(html, "network-partition", "durability")
    cells = [c[2] for c in r]
    assert cells[2] == "violated" and cells[3] == "14"
    assert cells[2 + ncol:2 + 2 * ncol] == ["—"] * ncol
    # tiered-offload is missing from run A
    cells = [c[2] for c in _row(html, "tiered-offload", "a|b <i>")]
    assert cells[2:2 + ncol] == ["—"] * ncol and cells[2 + ncol] == "held"
    # broker-disk-full errored in A (no contracts): the status stands in
    cells = [c[2] for c in _row(html, "broker-disk-full", "durability")]
    assert cells[2] == "error" and cells[2 + ncol] == "held"
    # rows after the first of a scenario carry no figure cells (rowspan)
    r = _row(html, "kill-leader", "no-duplicates")
    assert [c[2] for c in r] == ["no-duplicates", "held", "held", "yes"]


def split_md_row(line: str) -> list[str]:
    assert line.startswith("|") and line.endswith("|"), line
    return [c.strip() for c in re.split(r"(?<!\\)\|", line[1:-1])]


def test_markdown_is_a_valid_github_table(runs):
    a, b, _, md_path = runs
    md = md_path.read_text()
    lines = md.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("| scenario | contract"))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    tbl = lines[start:end]
    header = split_md_row(tbl[0])
    ncol = 2 + 2 * (1 + len(COLUMNS)) + 1
    assert len(header) == ncol
    assert header[2] == f"kafka-3az ({a.name}) verdict"
    assert header[3 + len(COLUMNS)] == f"tansu-1az ({b.name}) verdict"
    assert re.fullmatch(r"\|(---\|)+", tbl[1]) and tbl[1].count("---") == ncol
    body = [split_md_row(ln) for ln in tbl[2:]]
    assert all(len(r) == ncol for r in body)
    assert [r[1] for r in body] == [md_cell(c) for _, c in EXPECTED_ROWS]
    assert [r[0] for r in body] == ["kill-leader", "", "network-partition", "", "", "broker-disk-full",
                                    "tiered-offload"]
    k = 1 + len(COLUMNS)
    np_row = body[2]
    assert np_row[2] == "**violated**" and np_row[2 + k:2 + 2 * k] == ["—"] * k
    assert body[0][2 + k] == "**violated**" and body[0][-1] == "**no**"
    assert body[0][2 + k + 7] == "s3 \\| put"            # pipes inside cells are escaped
    assert body[1][3:2 + k] == [""] * len(COLUMNS)       # figures only on a scenario's first row
    assert "<i>" not in md and "a\\|b &lt;i&gt;" in md
    assert f"- **kafka-3az ({a.name})**: kind kafka, seed 123, overall **violated**" in md
    assert "`chaos certify --profile kafka-3az --seed 123 --scenario 'a&b' <x>`" in md
    assert "chaos certify --profile tansu-1az --seed 9" in md


def test_md_cell_escaping():
    assert md_cell("a|b\nc  d") == "a\\|b c d"
    assert md_cell("<x>") == "&lt;x&gt;"
    assert md_cell(None) == ""


def test_single_run_and_out_dir_created(tmp_path):
    a = make_run_dir(tmp_path, "kafka-3az", seconds=3)
    html_path, md_path = compare([a], tmp_path / "new" / "dir")
    assert html_path.parent == tmp_path / "new" / "dir"
    assert "| kill-leader | durability | held |" in md_path.read_text()


def test_md_code_span():
    from kfchaos.report.compare import md_code
    assert md_code("chaos certify --scenario 'a&b' <x>") == "`chaos certify --scenario 'a&b' <x>`"
    assert md_code("echo `x`") == "`` echo `x` ``"
    assert md_code("a ``b`` c") == "```a ``b`` c```"
    assert md_code("`x`") == "`` `x` ``"


def test_at_a_glance_says_what_broke_per_scenario_and_run(runs):
    _, _, html_path, md_path = runs
    md = md_path.read_text()
    assert "## At a glance" in md and "| scenario | kafka-3az | tansu-1az |" in md
    line = next(x for x in md.splitlines() if x.startswith("| kill-leader |") and "durability" in x)
    assert "**violated: durability (lost 3)**" in line or "violated: durability" in line
    disk = next(x for x in md.splitlines() if x.startswith("| broker-disk-full |"))
    assert "**error: RuntimeError: disk &lt;full&gt;" in disk and disk.endswith("| held; recovery 6.5 s |")
    html = html_path.read_text()
    assert 'id="glance-table"' in html and 'class="verdict violated">violated: durability' in html


def test_glance_cell_forms():
    from kfchaos.report.compare import glance_cell
    assert glance_cell(None) == "—"
    assert glance_cell({"status": "held", "figures": {"recovery_s": 3.51}}) == "held; recovery 3.5 s"
    assert glance_cell({"status": "unknown", "figures": {"not_applicable": "no leader"}}) == "not applicable"
    assert glance_cell({"status": "error", "error": "boom"}) == "error: boom"
    assert glance_cell({"status": "violated", "contracts": [
        {"contract": "durability", "verdict": "violated", "anomalies": {"lost": {"count": 2}}},
        {"contract": "ordering", "verdict": "held"}]}) == "violated: durability (lost 2)"
    assert glance_cell({"status": "violated", "contracts": [
        {"contract": "durability", "verdict": "violated", "informational": ["unseen"],
         "anomalies": {"lost": {"count": 1}, "unseen": {"count": 9}}}]}) == "violated: durability (lost 1)"
