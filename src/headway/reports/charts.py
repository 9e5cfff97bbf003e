"""SVG charts drawn on the server for the PDF review pack: no browser, no JavaScript.

Pure functions from numbers to SVG text (no Django), so WeasyPrint can lay them out and
tests can read them. Colours are the product's signals: a grade band's colour is its
band, the target line is dark, thresholds amber and red.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

__all__ = ["BAND_COLOURS", "Line", "histogram_svg", "series_svg"]

BAND_COLOURS = {"red": "#d64545", "yellow": "#e0a526", "green": "#2f9e5b"}
INK = "#1f2a37"
MUTED = "#6b7280"
GRID = "#e5e7eb"
SERIES = "#2563eb"


@dataclass(frozen=True, slots=True)
class Line:
    """A horizontal reference line (target, threshold) with its label and colour."""

    value: float
    label: str
    colour: str = INK
    dashed: bool = True


def _f(value: float) -> str:
    return f"{value:.1f}"


def _nice(value: float) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:.3g}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.3g}k"
    return f"{value:.4g}"


def series_svg(
    points: Sequence[tuple[datetime, float]],
    *,
    start: datetime,
    end: datetime,
    lines: Sequence[Line] = (),
    pace: tuple[float, float] | None = None,
    width: int = 360,
    height: int = 150,
    title: str = "",
) -> str:
    """A value over time between ``start`` and ``end`` (widened to every point).

    ``pace`` draws the expected path from (start, first) to (end, second): a key result's
    start value to its target. ``lines`` are horizontal references (target, thresholds).
    """
    pad_left, pad_right, pad_top, pad_bottom = 44.0, 10.0, 10.0, 22.0
    times = [p[0] for p in points]
    x0 = min([start, *times])
    x1 = max([end, *times])
    span = max((x1 - x0).total_seconds(), 1.0)
    values = [p[1] for p in points] + [ln.value for ln in lines] + list(pace or ())
    if not values:
        values = [0.0, 1.0]
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    margin = (high - low) * 0.08
    low, high = low - margin, high + margin
    plot_w = width - pad_left - pad_right
    plot_h = height - pad_top - pad_bottom

    def x(moment: datetime) -> float:
        return pad_left + (moment - x0).total_seconds() / span * plot_w

    def y(value: float) -> float:
        return pad_top + (high - value) / (high - low) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<rect x="{_f(pad_left)}" y="{_f(pad_top)}" width="{_f(plot_w)}" height="{_f(plot_h)}" '
        f'fill="#fff" stroke="{GRID}"/>',
    ]
    for tick in _ticks(low, high):
        ty = y(tick)
        out.append(
            f'<line x1="{_f(pad_left)}" x2="{_f(width - pad_right)}" y1="{_f(ty)}" y2="{_f(ty)}" '
            f'stroke="{GRID}" stroke-width="0.6"/>'
            f'<text x="{_f(pad_left - 4)}" y="{_f(ty + 3)}" font-size="8" text-anchor="end" '
            f'fill="{MUTED}">{escape(_nice(tick))}</text>'
        )
    # The cycle itself, shaded, when points fall outside it (messy history).
    if x0 < start or x1 > end:
        out.append(
            f'<rect x="{_f(x(start))}" y="{_f(pad_top)}" width="{_f(x(end) - x(start))}" '
            f'height="{_f(plot_h)}" fill="#f3f6fb"/>'
        )
    for moment, anchor in ((x0, "start"), (x1, "end")):
        out.append(
            f'<text x="{_f(x(moment))}" y="{_f(height - 8)}" font-size="8" '
            f'text-anchor="{anchor}" fill="{MUTED}">{moment.date().isoformat()}</text>'
        )
    for line in lines:
        ly = y(line.value)
        dash = ' stroke-dasharray="4 3"' if line.dashed else ""
        out.append(
            f'<line x1="{_f(pad_left)}" x2="{_f(width - pad_right)}" y1="{_f(ly)}" '
            f'y2="{_f(ly)}" stroke="{line.colour}" stroke-width="1"{dash}/>'
            f'<text x="{_f(width - pad_right - 2)}" y="{_f(ly - 2)}" font-size="7.5" '
            f'text-anchor="end" fill="{line.colour}">{escape(line.label)}</text>'
        )
    if pace is not None:
        out.append(
            f'<line x1="{_f(x(start))}" y1="{_f(y(pace[0]))}" x2="{_f(x(end))}" '
            f'y2="{_f(y(pace[1]))}" stroke="{MUTED}" stroke-width="1" stroke-dasharray="2 2"/>'
        )
    if points:
        ordered = sorted(points, key=lambda p: p[0])
        path = " ".join(f"{_f(x(t))},{_f(y(v))}" for t, v in ordered)
        out.append(f'<polyline points="{path}" fill="none" stroke="{SERIES}" stroke-width="1.6"/>')
        for t, v in ordered[-40:]:
            out.append(f'<circle cx="{_f(x(t))}" cy="{_f(y(v))}" r="1.8" fill="{SERIES}"/>')
    else:
        out.append(
            f'<text x="{_f(pad_left + plot_w / 2)}" y="{_f(pad_top + plot_h / 2)}" '
            f'font-size="9" text-anchor="middle" fill="{MUTED}">no data yet</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    raw = (high - low) / count
    if raw <= 0 or not math.isfinite(raw):
        return []
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw), default=raw)
    first = math.ceil(low / step) * step
    ticks: list[float] = []
    value = first
    while value <= high + 1e-12 and len(ticks) < 12:
        ticks.append(round(value, 10))
        value += step
    return ticks


def histogram_svg(
    counts: Sequence[int], bands: Sequence[str], *, width: int = 420, height: int = 170
) -> str:
    """The grade distribution: 11 bars (0.0-0.1 ... 0.9-1.0, then 1.0), coloured by band."""
    pad_left, pad_bottom, pad_top = 10.0, 24.0, 14.0
    n = len(counts)
    slot = (width - 2 * pad_left) / max(n, 1)
    top = max(counts, default=0) or 1
    plot_h = height - pad_bottom - pad_top
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Grade distribution">'
    ]
    for i, (count, band) in enumerate(zip(counts, bands, strict=True)):
        h = count / top * plot_h
        bx = pad_left + i * slot + 2
        by = pad_top + plot_h - h
        label = "1.0" if i == n - 1 else f"{i / 10:.1f}"
        out.append(
            f'<rect x="{_f(bx)}" y="{_f(by)}" width="{_f(slot - 4)}" height="{_f(h)}" '
            f'fill="{BAND_COLOURS.get(band, SERIES)}"/>'
            f'<text x="{_f(bx + (slot - 4) / 2)}" y="{_f(height - 10)}" font-size="8" '
            f'text-anchor="middle" fill="{MUTED}">{label}</text>'
        )
        if count:
            out.append(
                f'<text x="{_f(bx + (slot - 4) / 2)}" y="{_f(by - 3)}" font-size="8" '
                f'text-anchor="middle" fill="{INK}">{count}</text>'
            )
    out.append(
        f'<line x1="{_f(pad_left)}" x2="{_f(width - pad_left)}" y1="{_f(pad_top + plot_h)}" '
        f'y2="{_f(pad_top + plot_h)}" stroke="{INK}" stroke-width="0.8"/></svg>'
    )
    return "".join(out)
