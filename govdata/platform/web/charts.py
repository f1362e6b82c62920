"""Line and bar charts as inline SVG, rendered on the server: no script, nothing fetched.

Labels are escaped text, so Chinese names are drawn in the page's own fonts. Colours are
presentation attributes (a strict Content-Security-Policy forbids inline styles).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

from markupsafe import Markup

PALETTE = ("#1f5fa8", "#d9822b", "#2e8b57", "#b03a48", "#7a5ea8", "#4a8a9a")
WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 60, 16, 48, 64


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ not below ``value`` (0 → 1)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


def _text(x: float, y: float, content: str, *, anchor: str = "middle", size: int = 12,
          fill: str = "#333", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="{fill}"{extra}>{escape(content)}</text>')


def _frame(title: str, top: float, unit: str) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [_text(WIDTH / 2, 24, title, size=20, fill="#111", extra=' font-weight="bold"')]
    for i in range(5):
        value = top * i / 4
        y = HEIGHT - BOTTOM - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                     f'stroke="#ddd" stroke-width="1"/>')
        parts.append(_text(LEFT - 6, y + 5, _number(value), anchor="end", size=14))
    if unit:
        parts.append(_text(8, TOP - 18, unit, anchor="start", size=13))
    return parts


def text_width(content: str, size: float) -> float:
    """About how wide a label is drawn: a CJK character is one em, others about half."""
    return sum(size if ord(ch) > 0x2E7F else size * 0.6 for ch in content)


def _lines(label: str, room: float, size: float) -> list[str]:
    """The label on one line, or two (at a space, else the middle) when one is too wide."""
    if text_width(label, size) <= room or len(label) < 2:
        return [label]
    cut = label.rfind(" ")
    if cut <= 0:
        cut = (len(label) + 1) // 2
    return [label[:cut].strip(), label[cut:].strip()]


def _x_labels(labels: Sequence[str], centres: Sequence[float]) -> list[str]:
    """Labels under the axis, never clipped: a label too wide for its slot is drawn on two
    lines, then smaller until it fits; none runs over the chart's edges."""
    step = max(1, math.ceil(len(labels) / 8))  # at most eight labels fit
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels)) * step * 0.95
    parts = []
    for i, (label, x) in enumerate(zip(labels, centres, strict=True)):
        if i % step:
            continue
        size = 14.0
        lines = _lines(label, slot, size)
        widest = max(text_width(line, size) for line in lines)
        if widest > slot:
            size = max(9.0, size * slot / widest)
            widest = max(text_width(line, size) for line in lines)
        x = min(max(x, widest / 2 + 2), WIDTH - widest / 2 - 2)
        y = HEIGHT - BOTTOM + 20
        if len(lines) == 1:
            parts.append(_text(x, y, label, size=round(size, 1)))
            continue
        spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if n == 0 else size + 1:.1f}">'
                        f"{escape(line)}</tspan>" for n, line in enumerate(lines))
        parts.append(f'<text x="{x:.1f}" y="{y - 6:.1f}" text-anchor="middle" '
                     f'font-size="{size:.1f}" fill="#333"><title>{escape(label)}</title>'
                     f"{spans}</text>")
    return parts


def _legend(names: Sequence[str]) -> list[str]:
    parts, x = [], LEFT
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{HEIGHT - 24}" width="14" height="14" fill="{colour}"/>')
        parts.append(_text(x + 18, HEIGHT - 12, name, anchor="start", size=14))
        x += 32 + 15 * len(name)
    return parts


def _svg(title: str, parts: list[str], summary: str) -> Markup:
    body = "".join(parts)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title, {chr(34): "&quot;"})}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title><desc>{escape(summary)}</desc>{body}</svg>")


def _summary(labels: Sequence[str], series: Mapping[str, Sequence[float]]) -> str:
    return "; ".join(f"{name}: " + ", ".join(f"{label} {_number(v)}"
                                             for label, v in zip(labels, values, strict=True))
                     for name, values in series.items())


def _check(labels: Sequence[str], series: Mapping[str, Sequence[float]]) -> float:
    for name, values in series.items():
        if len(values) != len(labels):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(labels)} labels")
    return nice_ceiling(max((v for values in series.values() for v in values), default=0))


def bar_chart(labels: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str,
              unit: str = "") -> Markup:
    """Grouped bars: one group per label, one bar per series."""
    top = _check(labels, series)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group = plot_w / max(1, len(labels))
    bar = group * 0.8 / max(1, len(series))
    parts = _frame(title, top, unit)
    for s, (name, values) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        for i, value in enumerate(values):
            h = plot_h * max(0.0, value) / top
            x = LEFT + group * i + group * 0.1 + bar * s
            parts.append(f'<rect x="{x:.1f}" y="{HEIGHT - BOTTOM - h:.1f}" width="{bar:.1f}" '
                         f'height="{h:.1f}" fill="{colour}"><title>{escape(name)} '
                         f'{escape(labels[i])}: {_number(value)}</title></rect>')
    parts += _x_labels(labels, [LEFT + group * (i + 0.5) for i in range(len(labels))])
    parts += _legend(list(series))
    return _svg(title, parts, _summary(labels, series))


def line_chart(labels: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str,
               unit: str = "") -> Markup:
    """One polyline per series over the labels (e.g. months), points marked."""
    top = _check(labels, series)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    xs = [LEFT + slot * (i + 0.5) for i in range(len(labels))]
    parts = _frame(title, top, unit)
    for s, (name, values) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        points = [(x, HEIGHT - BOTTOM - plot_h * max(0.0, v) / top)
                  for x, v in zip(xs, values, strict=True)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                     f'stroke-width="2"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>'
                  f'{escape(name)} {escape(labels[i])}: {_number(values[i])}</title></circle>'
                  for i, (x, y) in enumerate(points)]
    parts += _x_labels(labels, xs)
    parts += _legend(list(series))
    return _svg(title, parts, _summary(labels, series))
