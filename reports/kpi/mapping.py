"""Which column of a KPI file means what: the rep, the week, and the metrics (one column per metric in
wide files, a metric/value pair in long files). A source's saved mapping wins; the rest is detected
from common help-desk header names."""

from __future__ import annotations

from dataclasses import dataclass, field

from .parsing import KpiFileError, MetricRule

REP_EMAIL_COLUMNS = ("rep_email", "agent_email", "email", "assignee_email", "user_email", "rep", "agent")
REP_ID_COLUMNS = ("rep_external_id", "external_id", "agent_id", "rep_id", "assignee_id", "user_id")
PERIOD_COLUMNS = ("period_start", "week", "period", "week_start", "week_of", "date")
METRIC_COLUMNS = ("metric", "kpi")
VALUE_COLUMNS = ("value",)
REP_KEYS = ("email", "external_id")


@dataclass
class ColumnPlan:
    layout: str  # "long" or "wide"
    header: list[str]
    rep_index: int
    rep_key: str
    period_index: int
    metric_index: int = -1  # long files
    value_index: int = -1  # long files
    metric_columns: list[tuple[int, MetricRule]] = field(default_factory=list)  # wide files
    metric_names: dict[str, MetricRule] = field(default_factory=dict)  # lower-case name -> metric
    ignored: list[str] = field(default_factory=list)

    def column(self, index: int) -> str:
        return self.header[index] if 0 <= index < len(self.header) else ""

    @property
    def width(self) -> int:
        return len(self.header)


def metric_names(metrics: list[MetricRule], aliases: dict[str, list[str]], overrides: dict[str, str]) -> dict:
    """Every name a metric goes by (key, label, aliases, the source's own names), lower-case."""
    by_key = {metric.key: metric for metric in metrics}
    names: dict[str, MetricRule] = {}
    for metric in metrics:
        for name in (metric.key, metric.label, *aliases.get(metric.key, [])):
            names.setdefault(name.strip().lower(), metric)
    for name, key in overrides.items():
        if key not in by_key:
            known = ", ".join(sorted(by_key))
            raise KpiFileError(
                f"The source's mapping sends “{name}” to an unknown metric “{key}”. Known metrics: {known}.",
                line=1, column=name, code="bad_mapping",
            )
        names[name.strip().lower()] = by_key[key]
    return names


def plan_columns(
    *, header: list[str], layout: str, mapping: dict, metrics: list[MetricRule], aliases: dict[str, list[str]]
) -> ColumnPlan:
    """Decides the plan for this header or raises KpiFileError naming the missing columns."""
    header = [name.strip() for name in header]
    lowered = [name.lower() for name in header]
    if len(header) < 2:
        raise KpiFileError(
            f"Could not split the header into columns (found one column: “{header[0] if header else ''}”). "
            "Separate columns with commas or semicolons, or set the source's delimiter.",
            line=1, code="unsplittable",
        )
    names = metric_names(metrics, aliases, mapping.get("metrics") or {})

    def find(configured: str | None, candidates: tuple[str, ...]) -> int:
        if configured:
            return lowered.index(configured.strip().lower()) if configured.strip().lower() in lowered else -1
        return next((lowered.index(c) for c in candidates if c in lowered), -1)

    missing: list[str] = []
    rep_key = mapping.get("rep_key") or ""
    rep_index = -1
    if rep_key in ("", "email"):
        rep_index = find(mapping.get("rep"), REP_EMAIL_COLUMNS if not mapping.get("rep") else ())
        if rep_index >= 0:
            rep_key = "email"
    if rep_index < 0 and rep_key in ("", "external_id"):
        rep_index = find(mapping.get("rep"), REP_ID_COLUMNS if not mapping.get("rep") else ())
        if rep_index >= 0:
            rep_key = "external_id"
    if rep_index < 0:
        missing.append(mapping.get("rep") or "rep_email (or rep_external_id)")
    period_index = find(mapping.get("period"), PERIOD_COLUMNS)
    if period_index < 0:
        missing.append(mapping.get("period") or "period_start")

    if layout == "auto":
        has_pair = find(mapping.get("metric"), METRIC_COLUMNS) >= 0 and find(mapping.get("value"), VALUE_COLUMNS) >= 0
        layout = "long" if has_pair else "wide"

    plan = ColumnPlan(
        layout=layout, header=header, rep_index=rep_index, rep_key=rep_key or "email",
        period_index=period_index, metric_names=names,
    )
    if layout == "long":
        plan.metric_index = find(mapping.get("metric"), METRIC_COLUMNS)
        plan.value_index = find(mapping.get("value"), VALUE_COLUMNS)
        if plan.metric_index < 0:
            missing.append(mapping.get("metric") or "metric")
        if plan.value_index < 0:
            missing.append(mapping.get("value") or "value")
        used = {rep_index, period_index, plan.metric_index, plan.value_index}
        plan.ignored = [name for index, name in enumerate(header) if index not in used and name]
    else:
        used = {rep_index, period_index}
        for index, name in enumerate(header):
            if index in used:
                continue
            metric = names.get(name.lower())
            if metric is not None:
                plan.metric_columns.append((index, metric))
            elif name:
                plan.ignored.append(name)
        if not plan.metric_columns and not missing:
            raise KpiFileError(
                "No metric columns found. Name columns after metrics (e.g. CSAT, AHT, Escalation %, "
                "csat, avg_handling_time) or map them on the source.",
                line=1, code="no_metric_columns",
            )
        seen: dict[int, str] = {}
        for index, metric in plan.metric_columns:
            if metric.id in seen:
                raise KpiFileError(
                    f"Columns “{seen[metric.id]}” and “{header[index]}” both mean {metric.label}; keep one.",
                    line=1, column=header[index], code="duplicate_column",
                )
            seen[metric.id] = header[index]
    if missing:
        raise KpiFileError(
            f"Missing column(s): {', '.join(missing)}. The header (line 1) has: {', '.join(header)}.",
            line=1, column=", ".join(missing), code="missing_columns",
        )
    return plan
