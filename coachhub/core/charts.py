"""Geometry for server-rendered SVG charts: where a value lands, tick labels, polylines. Templates draw
the shapes; nothing runs in the browser (our CSP allows no inline script or style, so colors come
from CSS classes on the shapes). Knows nothing of the apps: callers hand it numbers and labels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

SERIES_CLASSES = 8  # dashboards.css defines .series-0 … .series-7


@dataclass(frozen=True)
class Plot:
    """One chart's SVG box (viewBox width × height) and margins around its plotting area, and the
    values its height spans (`low` at the bottom edge, `high` at the top). Points are spread evenly
    across the width, the first on the left edge and the last on the right."""

    width: float
    height: float
    margin_left: float
    margin_top: float
    margin_right: float
    margin_bottom: float
    low: float = 0
    high: float = 100
    # Where one point alone goes: "middle" for charts of weeks or sessions; "start" for a timeline
    # that begins at its left edge (the frustration curve of a conversation).
    lone_point: Literal["middle", "start"] = "middle"

    @classmethod
    def padded(cls, *, width: float, height: float, pad: float, **range_and_placement) -> Plot:
        return cls(width, height, pad, pad, pad, pad, **range_and_placement)

    @property
    def left(self) -> float:
        return self.margin_left

    @property
    def top(self) -> float:
        return self.margin_top

    @property
    def right(self) -> float:
        return self.width - self.margin_right

    @property
    def bottom(self) -> float:
        return self.height - self.margin_bottom

    @property
    def inner_width(self) -> float:
        return self.width - self.margin_left - self.margin_right

    @property
    def inner_height(self) -> float:
        return self.height - self.margin_top - self.margin_bottom

    def x_at(self, index: int, count: int) -> float:
        """The x of the index-th of `count` evenly spread points."""
        if count > 1:
            return round(self.left + self.inner_width * index / (count - 1), 1)
        return round(self.left + (self.inner_width / 2 if self.lone_point == "middle" else 0.0), 1)

    def y_at(self, value: float) -> float:
        return round(self.top + self.inner_height * (self.high - value) / ((self.high - self.low) or 1), 1)


def polyline(points: Iterable[tuple[float, float]]) -> str:
    """The `points` attribute of an SVG polyline."""
    return " ".join(f"{x},{y}" for x, y in points)


# --- sparklines ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sparkline:
    points: str  # the polyline
    last_x: float  # where the last value is, for its dot
    last_y: float
    width: float  # the SVG's viewBox
    height: float


SPARK = Plot.padded(width=100, height=24, pad=2)


def sparkline(values: list[float], *, plot: Plot = SPARK) -> Sparkline:
    """A tiny line of 0–100 scores (clamped to that range), oldest first."""
    if not values:
        return Sparkline("", 0.0, 0.0, plot.width, plot.height)
    coords = [(plot.x_at(index, len(values)), plot.y_at(max(plot.low, min(plot.high, value))))
              for index, value in enumerate(values)]
    return Sparkline(polyline(coords), *coords[-1], plot.width, plot.height)


# --- line charts --------------------------------------------------------------------------------


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
    values = [v for _, vs in series for v in vs if v is not None]
    if values and (min(values) < y_min or max(values) > y_max):
        y_min, y_max = min(y_min, min(values)), max(y_max, max(values))
    plot = Plot(width, height, margin_left=48 if unit == "seconds" else 40, margin_top=12, margin_right=14,
                margin_bottom=28, low=y_min, high=y_max)
    count = len(x_labels)

    built = []
    for position, (label, vs) in enumerate(series):
        line = ChartSeries(label=label, css=f"series-{position % SERIES_CLASSES}")
        run: list[tuple[float, float]] = []
        for index, value in enumerate(vs):
            if value is None:
                if run:
                    line.segments.append(polyline(run))
                run = []
                continue
            point = ChartPoint(x=plot.x_at(index, count), y=plot.y_at(value), value=round(value, 1),
                               label=x_labels[index], shown=_format(value, unit))
            line.points.append(point)
            run.append((point.x, point.y))
        if run:
            line.segments.append(polyline(run))
        built.append(line)
    steps = 4
    y_range = (y_max - y_min) or 1
    y_ticks = [
        {"y": plot.y_at(y_min + y_range * i / steps), "label": _format(y_min + y_range * i / steps, unit)}
        for i in range(steps + 1)
    ]
    # A week label ("Nov 16") needs about 56 units of width: show every n-th so none overlap, and the
    # last week only when it doesn't crowd the one before.
    fit = max(2, plot.inner_width // 56)
    every = max(1, math.ceil(count / fit))
    shown = [i for i in range(count) if i % every == 0]
    last = count - 1
    if x_labels and last not in shown:
        if shown and last - shown[-1] < every:
            shown[-1] = last
        else:
            shown.append(last)
    x_ticks = [{"x": plot.x_at(i, count), "label": x_labels[i]} for i in shown]
    return LineChart(width=width, height=height, left=plot.left, top=plot.top, right=plot.right,
                     bottom=plot.bottom, series=built, y_ticks=y_ticks, x_ticks=x_ticks, title=title)


# --- bar charts ---------------------------------------------------------------------------------


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
