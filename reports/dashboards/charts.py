"""The dashboards' charts, drawn from what the selectors read: a rep's behavior scores and KPIs by week.
The geometry is `coachhub.core.charts`; this module only says what goes on which chart."""

from __future__ import annotations

from dataclasses import dataclass

from coachhub.core.charts import LineChart, line_chart, nice_range
from scenarios.behaviors import behavior_label

from .selectors import RepHistory

UNIT_NAMES = {"percent": "%", "seconds": "seconds"}  # in a KPI chart's title


@dataclass
class HistoryCharts:
    scores: LineChart
    kpis: list[LineChart]  # one per metric, in the history's metric order


def rep_history_charts(history: RepHistory) -> HistoryCharts:
    labels = [week.strftime("%b %d") for week in history.weeks]
    scores = line_chart(
        x_labels=labels, title="Behavior scores by week",
        series=[(behavior_label(key), series) for key, series in zip(history.behaviors, history.behavior_series,
                                                                     strict=True)],
    )
    kpis = []
    for metric, series in zip(history.metrics, history.kpi_series, strict=True):
        bounded = metric.unit in ("percent", "score") and metric.min_value is not None and metric.max_value is not None
        low, high = (metric.min_value, metric.max_value) if bounded else nice_range([v for v in series if v is not None])
        unit_name = UNIT_NAMES.get(metric.unit)
        kpis.append(line_chart(
            x_labels=labels, title=f"{metric.label} ({unit_name})" if unit_name else metric.label,
            series=[(metric.label, series)], width=360, height=170, y_min=low, y_max=high, unit=metric.unit,
        ))
    return HistoryCharts(scores=scores, kpis=kpis)
