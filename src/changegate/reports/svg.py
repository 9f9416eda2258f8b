"""Inline SVG charts drawn in Python: stacked bars and lines over weekly categories.

Each chart is `role="img"` with a <title> and <desc>, axis titles and tick labels; every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 960, 320
LEFT, RIGHT, TOP, BOTTOM = 72, 20, 40, 72
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
AXIS, GRID, INK = "#333333", "#dddddd", "#222222"


@dataclass(frozen=True)
class Series:
    name: str
    colour: str  # "#rrggbb"
    values: Sequence[float | None]


def nice_ticks(top: float, most: int = 5) -> list[float]:
    """0 and round steps (1, 2, 5 × 10^k) up to at least `top`, at most `most` + 1 ticks."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    count = math.ceil(top / step - 1e-9)
    return [i * step for i in range(count + 1)]


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _frame(chart_id: str, title: str, desc: str, categories: Sequence[str], ticks: list[float],
           y_label: str, x_label: str, fmt: Callable[[float], str]) -> list[str]:
    """The opening tag, title, description, grid, axes, tick labels and axis titles."""
    tid, did = f"{chart_id}-title", f"{chart_id}-desc"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="chart" role="img" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
           f'aria-labelledby="{escape(tid)} {escape(did)}" font-family="system-ui, sans-serif" font-size="12">',
           f'<title id="{escape(tid)}">{escape(title)}</title>', f'<desc id="{escape(did)}">{escape(desc)}</desc>',
           f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>']
    top = ticks[-1]
    for tick in ticks:
        y = TOP + PLOT_H - tick / top * PLOT_H
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + PLOT_W}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">{escape(fmt(tick))}</text>')
    out.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + PLOT_H}" stroke="{AXIS}"/>')
    out.append(f'<line x1="{LEFT}" y1="{TOP + PLOT_H}" x2="{LEFT + PLOT_W}" y2="{TOP + PLOT_H}" stroke="{AXIS}"/>')
    every = max(1, math.ceil(len(categories) / 16))  # at most ~16 labels fit
    slot = PLOT_W / max(1, len(categories))
    for i, label in enumerate(categories):
        if i % every == 0:
            x, y = LEFT + (i + 0.5) * slot, TOP + PLOT_H + 14
            out.append(f'<text x="{x:.1f}" y="{y}" text-anchor="end" fill="{INK}" '
                       f'transform="rotate(-35 {x:.1f} {y})">{escape(label)}</text>')
    out.append(f'<text class="axis-label" x="{LEFT + PLOT_W / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
               f'fill="{INK}">{escape(x_label)}</text>')
    out.append(f'<text class="axis-label" x="14" y="{TOP + PLOT_H / 2:.1f}" text-anchor="middle" fill="{INK}" '
               f'transform="rotate(-90 14 {TOP + PLOT_H / 2:.1f})">{escape(y_label)}</text>')
    return out


def _legend(series: Sequence[Series]) -> list[str]:
    out, x = [], LEFT
    for s in series:
        out.append(f'<rect x="{x}" y="12" width="12" height="12" fill="{escape(s.colour)}"/>')
        out.append(f'<text x="{x + 16}" y="22" fill="{INK}">{escape(s.name)}</text>')
        x += 28 + 7 * len(s.name)
    return out


def stacked_bars(chart_id: str, title: str, desc: str, categories: Sequence[str], series: Sequence[Series],
                 *, y_label: str, x_label: str = "ISO week") -> str:
    """One bar per category, the series stacked bottom-up in order; each segment has a <title> tooltip."""
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(categories))]
    ticks = nice_ticks(max(totals, default=0))
    out = _frame(chart_id, title, desc, categories, ticks, y_label, x_label, _num)
    slot = PLOT_W / max(1, len(categories))
    width = max(1.0, slot * 0.7)
    for i, category in enumerate(categories):
        base = 0.0
        for s in series:
            value = s.values[i] or 0
            if value <= 0:
                continue
            y0, y1 = (TOP + PLOT_H - (base + value) / ticks[-1] * PLOT_H, TOP + PLOT_H - base / ticks[-1] * PLOT_H)
            x = LEFT + i * slot + (slot - width) / 2
            out.append(f'<rect class="bar" x="{x:.1f}" y="{y0:.1f}" width="{width:.1f}" height="{y1 - y0:.1f}" '
                       f'fill="{escape(s.colour)}"><title>{escape(f"{category}: {_num(value)} {s.name}")}</title></rect>')
            base += value
    out += _legend(series)
    out.append("</svg>")
    return "\n".join(out)


def line_chart(chart_id: str, title: str, desc: str, categories: Sequence[str], series: Sequence[Series],
               *, y_label: str, x_label: str = "ISO week", fmt: Callable[[float], str] = _num,
               y_max: float | None = None) -> str:
    """Lines with a marker per point; a None value breaks the line (e.g. a week with no change)."""
    values = [v for s in series for v in s.values if v is not None]
    ticks = nice_ticks(y_max if y_max is not None else max(values, default=0))
    out = _frame(chart_id, title, desc, categories, ticks, y_label, x_label, fmt)
    slot = PLOT_W / max(1, len(categories))
    for s in series:
        runs: list[list[tuple[float, float]]] = [[]]
        points: list[tuple[float, float, str]] = []
        for i, value in enumerate(s.values):
            if value is None:
                runs.append([])
                continue
            x, y = LEFT + (i + 0.5) * slot, TOP + PLOT_H - value / ticks[-1] * PLOT_H
            runs[-1].append((x, y))
            points.append((x, y, f"{categories[i]}: {fmt(value)} {s.name}"))
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                out.append(f'<polyline class="line" points="{path}" fill="none" stroke="{escape(s.colour)}" '
                           f'stroke-width="3"/>')
        for x, y, tip in points:
            out.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{escape(s.colour)}">'
                       f'<title>{escape(tip)}</title></circle>')
    out += _legend(series)
    out.append("</svg>")
    return "\n".join(out)
