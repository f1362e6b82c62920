"""The figures a run of the benchmarks measured, and ``bench/RESULTS.md`` written from them.

A benchmark calls ``figure(...)`` for each number it has a goal for (or a baseline to be
read against): the value, the baseline measured in the same run, the ratio, and the goal.
``python -m bench`` writes them all with the machine and the date; a figure short of its
goal is marked and makes the run exit non-zero.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).parent / "RESULTS.md"


@dataclass(frozen=True)
class Figure:
    bench: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str | None = None
    ratio: float | None = None
    at_least: float | None = None
    at_most: float | None = None
    goal_on: str = "ratio"  # which number the goal is about: "ratio" or "value"

    @property
    def judged(self) -> float | None:
        return self.ratio if self.goal_on == "ratio" else self.value

    @property
    def goal(self) -> str:
        parts = []
        if self.at_least is not None:
            parts.append(f"≥ {self.at_least:g}")
        if self.at_most is not None:
            parts.append(f"≤ {self.at_most:g}")
        if not parts:
            return "—"
        unit = "" if self.goal_on == "ratio" else f" {self.unit}"
        return f"{self.goal_on} {' and '.join(parts)}{unit}"

    @property
    def met(self) -> bool | None:
        """``None`` when there is no goal; a figure with a goal but nothing to judge fails."""
        if self.at_least is None and self.at_most is None:
            return None
        judged = self.judged
        if judged is None:
            return False
        return ((self.at_least is None or judged >= self.at_least)
                and (self.at_most is None or judged <= self.at_most))


FIGURES: list[Figure] = []
FAILED: dict[str, str] = {}  # benchmark → why it did not finish
current = {"bench": "?"}


def figure(name: str, value: float, unit: str, *, baseline: float | None = None,
           baseline_name: str | None = None, ratio: float | None = None,
           at_least: float | None = None, at_most: float | None = None,
           goal_on: str = "ratio") -> Figure:
    """Record one figure of the running benchmark. ``ratio`` is given as the benchmark
    defines it (e.g. baseline time / our time, so higher is better)."""
    recorded = Figure(current["bench"], name, value, unit, baseline, baseline_name, ratio,
                      at_least, at_most, goal_on)
    FIGURES.append(recorded)
    return recorded


def machine() -> str:
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), {memory} memory, {platform.system()} " \
           f"{platform.release()}, Python {platform.python_version()}"


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _verdict(item: Figure) -> str:
    return {None: "", True: "ok", False: "**SHORT OF GOAL**"}[item.met]


def render(*, started: dt.datetime, finished: dt.datetime, load: tuple[float, float],
           benches: list[str], quick: bool) -> str:
    lines = ["# Benchmark results", "",
             "Written by `make bench` (`python -m bench`); every baseline was measured in the "
             "same run as its figure.", "",
             f"- date: {started:%Y-%m-%d %H:%M} – {finished:%H:%M} UTC",
             f"- machine: {machine()}",
             f"- load average: {load[0]:.2f} at the start, {load[1]:.2f} at the end "
             "(other work on the machine skews the figures)",
             f"- benchmarks: {', '.join(benches) or 'none'}"
             + (" — **quick mode**: reduced sizes, figures not comparable with the goals'"
                " full-size runs" if quick else ""), ""]
    short = [f for f in FIGURES if f.met is False]
    verdict = (f"**{len(short)} figure(s) short of their goal**" if short
               else "every figure with a goal meets it")
    if FAILED:
        verdict += f"; **{len(FAILED)} benchmark(s) did not finish**"
    lines += [f"Result: {verdict}.", ""]
    for bench in benches:
        rows = [f for f in FIGURES if f.bench == bench]
        lines += [f"## {bench}", ""]
        if bench in FAILED:
            lines += [f"**did not finish**: {FAILED[bench]}", ""]
        if not rows:
            lines += ["(no figures recorded)", ""]
            continue
        lines += ["| figure | value | baseline (same run) | ratio | goal | |",
                  "| --- | ---: | --- | ---: | --- | --- |"]
        for f in rows:
            baseline = "—" if f.baseline is None else \
                f"{_number(f.baseline)} {f.unit} ({f.baseline_name or 'baseline'})"
            lines.append(f"| {f.name} | {_number(f.value)} {f.unit} | {baseline} | "
                         f"{_number(f.ratio)} | {f.goal} | {_verdict(f)} |")
        lines.append("")
    return "\n".join(lines)


def exit_status() -> int:
    return 1 if FAILED or any(f.met is False for f in FIGURES) else 0
