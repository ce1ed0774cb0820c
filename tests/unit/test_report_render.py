"""report.html (kfchaos.report.render) on synthetic run directories."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from markupsafe import escape   # the templates' autoescaping

from kfchaos.report import render_report
from kfchaos.report.render import fmt_figure

from .test_report_series import HOSTILE, contract, make_run_dir, scenario


class TableGrab(HTMLParser):
    """Rows of the table with a given id: [[(tag, class, text), ...], ...]."""

    def __init__(self, table_id: str):
        super().__init__(convert_charrefs=True)
        self.table_id, self.depth, self.rows, self.cell = table_id, 0, [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            if self.depth or a.get("id") == self.table_id:
                self.depth += 1
        elif self.depth == 1 and tag == "tr":
            self.rows.append([])
        elif self.depth == 1 and tag in ("td", "th"):
            self.cell = [tag, a.get("class") or "", ""]

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth == 1 and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(tuple(self.cell))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[2] += data


def table(html: str, table_id: str) -> list[list[tuple[str, str, str]]]:
    g = TableGrab(table_id)
    g.feed(html)
    return g.rows


@pytest.fixture
def report(tmp_path):
    run = make_run_dir(tmp_path)
    path = render_report(run)
    return run, path, path.read_text(encoding="utf-8")


def section(html: str, name: str) -> str:
    start = html.index(f'<section class="scenario" id="scenario-{name}"')
    return html[start:html.index("</section>", start)]


def test_writes_report_html(report):
    run, path, html = report
    assert path == run / "report.html" and path.is_file()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")


def test_contract_table_has_every_scenario_and_contract(report):
    run, _, html = report
    res = json.loads((run / "results.json").read_text())
    rows = table(html, "contract-table")
    header = [c[2] for c in rows[0]]
    assert header == ["scenario", "status", "durability", "no-duplicates", "ordering"]
    body = {r[0][2]: r for r in rows[1:]}
    assert set(body) == {sc["name"] for sc in res["scenarios"]}
    for sc in res["scenarios"]:
        row = body[sc["name"]]
        assert row[1] == ("td", f"verdict {sc['status']}", sc["status"])
        by = {c["contract"]: c["verdict"] for c in sc["contracts"]}
        for col, cell in zip(header[2:], row[2:]):
            v = by.get(col)
            assert cell == ("td", f"verdict {v}" if v else "verdict na", v or "—")


def test_verdict_classes_and_overall(report):
    _, _, html = report
    for v in ("held", "violated", "unknown", "error"):
        assert f'class="verdict {v}"' in html
    assert re.search(r'<span class="banner violated" id="overall">violated</span>', html)
    for v in ("held", "violated", "unknown", "error"):
        assert f".{v}{{color:" in html    # each verdict has its own colour


def test_fault_windows_shaded_and_labelled(report):
    _, _, html = report
    kl, np_ = section(html, "kill-leader"), section(html, "network-partition")
    assert len(re.findall(r'<rect class="fault-window"', kl)) == 1
    assert len(re.findall(r'<rect class="fault-window(?: open)?"', np_)) == 3
    assert len(re.findall(r'<rect class="fault-window open"', np_)) == 1   # pause never stopped
    assert "kill-leader @ kafka-1" in kl
    assert 'data-fault-id="partition-0"' in np_ and 'data-fault-id="clock-skew-1"' in np_
    # every plot (throughput, latency) shades every window too
    assert len(re.findall(r'<rect class="fault-shade"', kl)) == 2
    assert len(re.findall(r'<rect class="fault-shade"', np_)) == 6
    # the window runs from the fault-start invoke (10 s) to the fault-stop completion (16.5 s)
    m = re.search(r'<title>(kill-leader \[kill-leader-0\][^<]*)</title>', kl)
    assert m and "10.0s to 16.5s" in m.group(1)


def test_plots_present_and_svg_well_formed(report):
    _, _, html = report
    kl = section(html, "kill-leader")
    assert 'aria-label="Throughput"' in kl and "Send latency" in kl
    assert 'class="line sends-ok"' in kl and 'class="line polled"' in kl
    assert 'class="line p50"' in kl and 'class="line p99"' in kl
    assert 'data-scale="log"' in kl          # 5 ms baseline vs seconds-long stall
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    assert len(svgs) == 6
    for svg in svgs:
        ET.fromstring(svg)                   # each inline SVG is well-formed XML


def test_hostile_text_is_escaped(report):
    _, _, html = report
    assert "<script" not in html
    assert escape(HOSTILE) in html           # the lost example and the fault target
    assert escape('disk <full> & the broker said "no"') in html
    assert "3 AZs&gt;" in html


def test_rerun_command(report):
    run, _, html = report
    cmd = json.loads((run / "results.json").read_text())["command"]
    assert f'<code id="rerun-command">{escape(cmd)}</code>' in html


def test_self_contained(report):
    _, _, html = report
    urls = set(re.findall(r"(?:https?:)?//[\w.-]+", html))
    assert urls <= {"http://www.w3.org"}, urls      # only the SVG namespace
    for bad in ("<script", "<link", "<img", "<iframe", "@import", "url(", " src="):
        assert bad not in html
    assert "<style>" in html


def test_error_scenario_without_history(report):
    _, _, html = report
    sc = section(html, "broker-disk-full")
    assert 'class="banner status error"' in sc
    assert "Error</h3>" in sc and "RuntimeError: disk &lt;full&gt;" in sc
    assert "No history recorded" in sc and "<svg" not in sc
    assert "No contract evaluated" in sc


def test_figures_and_examples(report):
    _, _, html = report
    np_ = section(html, "network-partition")
    assert "117.7 MiB" in np_ and "941.9 MiB" in np_ and "2,900 ms" in np_
    assert re.search(r'data-figure="lost"><th>lost records</th><td class="num">14<', np_)
    rows = re.findall(r"<tr>", np_[np_.index('data-anomaly="lost"'):].split("</table>")[0])
    assert len(rows) == 11                    # header + the first 10 of 14 examples
    assert "(14 found, 10 shown)" in np_
    assert "partition (partition-0)" in np_   # fault-window refs, readable
    assert fmt_figure("lost", None) == "—" and fmt_figure("recovery_s", 6.5) == "6.5 s"


def test_description_and_title(report):
    _, _, html = report
    kl = section(html, "kill-leader")
    assert "Title of kill-leader" in kl and "Module docstring of kill-leader." in kl


def test_artifact_links(report):
    _, _, html = report
    assert '<a href="logs/kafka-1.log">kafka-1.log</a>' in html
    assert '<a href="kill-leader/history.jsonl">' in html


def test_corrupt_history_is_reported_not_fatal(tmp_path):
    run = make_run_dir(tmp_path, scenarios=[scenario("a", "unknown", [contract("durability", "unknown")])],
                       seconds=5)
    h = run / "a" / "history.jsonl"
    lines = h.read_text().splitlines()
    lines[2] = "{not json"
    h.write_text("\n".join(lines) + "\n")
    html = render_report(run).read_text()
    assert "history a/history.jsonl unreadable" in html and "corrupt history line" in html


def test_missing_history_for_non_error_scenario(tmp_path):
    run = make_run_dir(tmp_path, scenarios=[scenario("b", "unknown", [], history=False)])
    html = render_report(run).read_text()
    assert "No history recorded: b/history.jsonl missing." in html


def test_minimal_results(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    (run / "results.json").write_text(json.dumps({"profile": "p", "overall": "unknown",
                                                  "scenarios": []}))
    html = render_report(run).read_text()
    assert 'id="contract-table"' in html and 'class="banner unknown"' in html


def test_empty_history(tmp_path):
    run = make_run_dir(tmp_path, scenarios=[scenario("c", "unknown", [])], seconds=2)
    (run / "c" / "history.jsonl").write_text("")
    html = render_report(run).read_text()
    assert "The history is empty." in html


def test_client_events_read_as_a_line_each():
    from kfchaos.report.render import Cell, example_cell
    evs = [{"event": "epoch-bump", "reason": "skipped sequence numbers", "pid": 7, "epoch": 0,
            "time": 3_500_000_000, "index": 9},
           {"event": "epoch-bumped", "pid": 7, "epoch": 1, "time": 3_600_000_000, "index": 12}]
    got = example_cell("client_events", evs, 1_000_000_000)
    assert got == Cell("epoch-bump at +2.500s (skipped sequence numbers); "
                       "epoch-bumped at +2.600s (pid 7 epoch 1)")
    assert example_cell("client_events", [{"event": "fatal", "detail": "<x>"}], None) == \
        Cell("fatal (<x>)")
    assert example_cell("time", 3_500_000_000, 1_000_000_000) == Cell("+2.500s", "3500000000")


def test_fmt_figure_is_the_registry_format():
    from kfchaos.figures import fmt
    assert fmt_figure("lost", 12345) == "12,345" == fmt("int", 12345)
    assert fmt_figure("live_p99_ms_during_fault", 8) == "8.00 ms"
    assert fmt_figure("live_p99_ms_during_fault", 2900.0) == "2,900 ms"
    assert fmt_figure("throughput_ok_per_s", 1250.4) == "1,250/s"
    assert fmt_figure("bytes_in_object_storage", 2048) == "2.0 KiB"
    assert fmt_figure("recovery_s", "n/a") == "n/a"            # not a number: as is
    assert fmt_figure("no-such-figure", {"a": 1}) == "{'a': 1}"
    assert fmt_figure("quotas", ["a", "b"]) == "a; b"
    assert fmt_figure("lost", float("nan")) == "—"


def test_figure_labels_come_from_the_registry(report):
    from kfchaos.figures import FIGURES
    _, _, html = report
    kl = section(html, "kill-leader")
    for key in ("lost", "recovery_s", "live_p99_ms_during_fault", "bytes_on_broker_disks"):
        assert f'data-figure="{key}"><th>{escape(FIGURES[key].label)}</th>' in kl


def test_incomplete_run_says_what_is_missing(tmp_path):
    run = make_run_dir(tmp_path, scenarios=[scenario("a", "held", [contract("durability", "held")])],
                       seconds=2)
    res = json.loads((run / "results.json").read_text())
    res.update(chosen=["a", "b<c>"], interrupted="SIGINT", left_out={"z": "needs tiered storage"})
    (run / "results.json").write_text(json.dumps(res))
    html = render_report(run).read_text()
    assert 'class="banner unknown" id="overall">unknown</span>' in html     # held but incomplete
    assert "interrupted: SIGINT" in html and "No result for: b&lt;c&gt;" in html
    rows = table(html, "contract-table")
    assert [r[0][2] for r in rows[1:]] == ["a", "b<c>"] and rows[2][1][2] == "no result"
    assert "Left out: z (needs tiered storage)" in html


def test_stored_run_in_the_old_layout(tmp_path):
    """A results.json written before the typed results (no chosen, stored overall) still renders."""
    run = make_run_dir(tmp_path, seconds=2)
    res = json.loads((run / "results.json").read_text())
    assert "chosen" not in res and res["overall"] == "violated"
    html = render_report(run).read_text()
    assert 'id="overall">violated</span>' in html and "No result for" not in html


def test_load_ramp_steps_are_a_table_and_a_chart_with_every_text_escaped(tmp_path):
    steps = [{"step": 1, "rate": 100, "consumers": 1, "ok_per_s": 99.5, "p99_ms": 40.0, "lag_p99_ms": 90.0,
              "saturated_first": "cpu of host", "within_budget": True, "over_budget": None},
             {"step": 2, "rate": 300, "consumers": 2, "ok_per_s": 280.0, "p99_ms": 900.0, "lag_p99_ms": None,
              "saturated_first": HOSTILE, "within_budget": False, "over_budget": "produce p99 900 ms > 500 ms"}]
    sc = scenario("load-ramp", "held", [contract("durability", "held")],
                  figures={"ramp_steps": steps, "ramp_limit": "budget broke at step 2"})
    run = make_run_dir(tmp_path, scenarios=[sc])
    html = render_report(run).read_text()
    assert HOSTILE not in html and str(escape(HOSTILE)) in html
    section = html[html.index('data-scenario="load-ramp"'):]
    assert section.count('class="ramp-p99"') == 2 and section.count('class="ramp-lag"') == 2
    assert "300/s ×2 (over)" in section and "no: produce p99 900 ms &gt; 500 ms" in section
    assert 'data-figure="ramp_steps"' not in section and 'data-figure="ramp_limit"' in section
