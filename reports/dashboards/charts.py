"""Geometry for server-rendered SVG charts. Templates draw the shapes; nothing runs in the browser
(our CSP allows no inline script or style, so colors come from CSS classes on the shapes)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

SERIES_CLASSES = 8  # dashboards.css defines .series-0 … .series-7


@dataclass
class ChartPoint:
    x: float
    y: float
    value: float
    label: str
    shown: str = ""  # the value with its unit, as a person reads it


@dataclass
class ChartSeries:
    label: str
    css: str
    points: list[ChartPoint] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)  # polyline point strings, broken at gaps


@dataclass
class LineChart:
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    series: list[ChartSeries]
    y_ticks: list[dict]
    x_ticks: list[dict]
    title: str

    @property
    def empty(self) -> bool:
        return not any(s.points for s in self.series)


UNIT_SUFFIX = {"percent": "%", "seconds": " s", "score": "", "number": ""}


def _nice_step(span: float, steps: int) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) covering span in about `steps`."""
    raw = span / steps if span > 0 else 1
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def nice_range(values: list[float], *, steps: int = 4) -> tuple[float, float]:
    """An axis for values with no natural bounds: from 0 for non-negative data (so a line at 432–437 s
    reads as the small change it is, not as a cliff) up to the next round number above the data."""
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    low = 0.0 if low >= 0 else low
    high = max(high, low + 1e-9)
    step = _nice_step(high - low, steps)
    return math.floor(low / step) * step, math.ceil(high / step) * step


def _format(value: float, unit: str) -> str:
    number = f"{value:,.1f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    return f"{number}{UNIT_SUFFIX.get(unit, '')}"


def line_chart(
    *, x_labels: list[str], series: list[tuple[str, list[float | None]]], title: str,
    y_min: float = 0, y_max: float = 100, width: int = 720, height: int = 260, unit: str = "score",
) -> LineChart:
    """One line per series over the same x labels (weeks); None leaves a gap. Tick labels and point
    titles carry the unit ("90%", "432 s"); x labels are thinned to what fits the width."""
    left, right, top, bottom = (48 if unit == "seconds" else 40), 14, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    span = max(len(x_labels) - 1, 1)
    values = [v for _, vs in series for v in vs if v is not None]
    if values and (min(values) < y_min or max(values) > y_max):
        y_min, y_max = min(y_min, min(values)), max(y_max, max(values))
    y_range = (y_max - y_min) or 1

    def x_at(index: int) -> float:
        return round(left + plot_w * index / span if len(x_labels) > 1 else left + plot_w / 2, 1)

    def y_at(value: float) -> float:
        return round(top + plot_h * (y_max - value) / y_range, 1)

    built = []
    for position, (label, vs) in enumerate(series):
        line = ChartSeries(label=label, css=f"series-{position % SERIES_CLASSES}")
        run: list[str] = []
        for index, value in enumerate(vs):
            if value is None:
                if run:
                    line.segments.append(" ".join(run))
                run = []
                continue
            point = ChartPoint(x=x_at(index), y=y_at(value), value=round(value, 1), label=x_labels[index],
                               shown=_format(value, unit))
            line.points.append(point)
            run.append(f"{point.x},{point.y}")
        if run:
            line.segments.append(" ".join(run))
        built.append(line)
    steps = 4
    y_ticks = [
        {"y": y_at(y_min + y_range * i / steps), "label": _format(y_min + y_range * i / steps, unit)}
        for i in range(steps + 1)
    ]
    # A week label ("Nov 16") needs about 56 units of width: show every n-th so none overlap, and the
    # last week only when it doesn't crowd the one before.
    fit = max(2, plot_w // 56)
    every = max(1, math.ceil(len(x_labels) / fit))
    shown = [i for i in range(len(x_labels)) if i % every == 0]
    last = len(x_labels) - 1
    if x_labels and last not in shown:
        if shown and last - shown[-1] < every:
            shown[-1] = last
        else:
            shown.append(last)
    x_ticks = [{"x": x_at(i), "label": x_labels[i]} for i in shown]
    return LineChart(width=width, height=height, left=left, top=top, right=width - right, bottom=height - bottom,
                     series=built, y_ticks=y_ticks, x_ticks=x_ticks, title=title)


@dataclass
class Bar:
    label: str
    value: float
    shown: str
    x: float
    y: float
    w: float
    h: float
    css: str


def bar_chart(*, items: list[tuple[str, float, str]], title: str, width: int = 480, row: int = 26,
              max_value: float | None = None, diverging: bool = False) -> dict:
    """Horizontal bars (label, value, shown text). Diverging bars grow left or right of a zero line."""
    label_w, pad = 170, 8
    plot_w = width - label_w - 60
    top = max((abs(v) for _, v, _ in items), default=0)
    scale_max = max_value or top or 1
    bars = []
    zero_x = label_w + (plot_w / 2 if diverging else 0)
    for index, (label, value, shown) in enumerate(items):
        length = (plot_w / 2 if diverging else plot_w) * min(abs(value), scale_max) / scale_max
        x = zero_x - length if diverging and value < 0 else zero_x
        css = "bar-down" if value < 0 else "bar-up" if diverging else "bar"
        bars.append(Bar(label=label, value=value, shown=shown, x=round(x, 1), y=pad + index * row, w=round(length, 1),
                        h=row - 8, css=css))
    return {"bars": bars, "width": width, "height": pad * 2 + row * len(items), "zero_x": zero_x,
            "label_x": label_w - 8, "title": title, "diverging": diverging}
