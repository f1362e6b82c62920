"""``make bench``'s report: each figure with its same-run baseline, ratio and goal, the
machine and the date; a figure short of its goal is marked and fails the run."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from bench import __main__ as bench_main
from bench import _report


@pytest.fixture(autouse=True)
def fresh_report():
    saved = list(_report.FIGURES), dict(_report.FAILED)
    _report.FIGURES.clear()
    _report.FAILED.clear()
    yield
    _report.FIGURES[:] = saved[0]
    _report.FAILED.clear()
    _report.FAILED.update(saved[1])


def render(benches: list[str]) -> str:
    now = dt.datetime(2026, 11, 30, 21, 0, tzinfo=dt.UTC)
    return _report.render(started=now, finished=now, load=(0.5, 0.7), benches=benches,
                          quick=False)


def test_a_figure_short_of_its_goal_is_marked_and_fails_the_run():
    _report.current["bench"] = "datastore"
    _report.figure("ingest", 50_000, "rows/s", baseline=200_000, baseline_name="COPY FROM",
                   ratio=0.25, at_least=0.5)
    _report.figure("export", 400_000, "rows/s", baseline=500_000, baseline_name="COPY TO",
                   ratio=0.8, at_least=0.5)
    _report.figure("peak RSS", 120, "MB", goal_on="value", at_most=300)
    text = render(["datastore"])
    ingest, export, rss = (line for line in text.splitlines()
                           if line.startswith(("| ingest", "| export", "| peak RSS")))
    assert "200,000 rows/s (COPY FROM)" in ingest and "0.25" in ingest
    assert "ratio ≥ 0.5" in ingest and "SHORT OF GOAL" in ingest
    assert export.endswith("| ok |") and "value ≤ 300 MB" in rss and rss.endswith("| ok |")
    assert "**1 figure(s) short of their goal**" in text
    assert _report.exit_status() == 1


def test_a_run_meeting_every_goal_exits_0_and_names_the_machine():
    _report.current["bench"] = "ledger"
    _report.figure("verify", 900_000, "entries/s", baseline=1_000_000, ratio=0.9,
                   at_least=0.25)
    _report.figure("append", 30_000, "entries/s")  # no goal: shown, never judged
    text = render(["ledger"])
    assert _report.exit_status() == 0 and "every figure with a goal meets it" in text
    assert f"{os.cpu_count()} cores" in text and "GiB memory" in text
    assert "2026-11-30 21:00" in text


def test_a_benchmark_that_failed_fails_the_run():
    _report.FAILED["exchange"] = "RuntimeError: no PostgreSQL"
    text = render(["exchange"])
    assert "did not finish**: RuntimeError: no PostgreSQL" in text
    assert _report.exit_status() == 1


def test_quick_run_of_the_ledger_writes_the_report(tmp_path):
    """A real (quick) run; its figures are timings, so only the report's shape is checked,
    and that the exit status follows the verdict written."""
    out = tmp_path / "RESULTS.md"
    status = bench_main.main(["--quick", "--out", str(out), "ledger"])
    text = out.read_text(encoding="utf-8")
    assert "quick mode" in text and "## ledger" in text
    verify = next(line for line in text.splitlines() if "| sqlite: verify" in line)
    assert "plain sha256 of the same bytes" in verify and "ratio ≥ 0.25" in verify
    assert status == (1 if verify.endswith("| **SHORT OF GOAL** |") else 0)
