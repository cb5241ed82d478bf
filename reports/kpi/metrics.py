"""The built-in KPIs every tenant gets, with their units, ranges and the names help desks use."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BuiltinMetric:
    key: str
    label: str
    unit: str
    higher_is_better: bool
    min_value: float | None
    max_value: float | None
    aliases: list[str] = field(default_factory=list)


BUILTIN_METRICS: list[BuiltinMetric] = [
    BuiltinMetric(
        "escalation_rate", "Escalation rate", "percent", False, 0, 100,
        ["escalation %", "escalation rate", "escalations %", "escalation"],
    ),
    BuiltinMetric(
        "avg_handling_time", "Average handling time", "seconds", False, 0, 24 * 3600,
        ["aht", "average handling time", "avg handle time", "handling time"],
    ),
    # Stored as a percentage: "87%" as given; a bare 1–5 average rating is placed on 0–100 (see docs).
    BuiltinMetric("csat", "CSAT", "percent", True, 0, 100, ["csat %", "customer satisfaction", "satisfaction"]),
    BuiltinMetric(
        "first_contact_resolution", "First contact resolution", "percent", True, 0, 100,
        ["fcr", "fcr %", "first contact resolution %", "one-touch resolution"],
    ),
    BuiltinMetric(
        "complaint_resolution_quality", "Complaint resolution quality", "score", True, 0, 100,
        ["complaint quality", "crq"],
    ),
    BuiltinMetric("qa_score", "QA score", "score", True, 0, 100, ["qa", "quality score", "qa %"]),
    BuiltinMetric("nps", "NPS", "score", True, -100, 100, ["net promoter score"]),
]

CSAT_KEY = "csat"


def display_value(value: float | None, unit: str) -> str:
    """A value as a manager reads it: 12.5%, 6:05 (minutes:seconds), 42."""
    if value is None:
        return "–"
    if unit == "percent":
        return f"{value:.1f}%".replace(".0%", "%")
    if unit == "seconds":
        minutes, seconds = divmod(int(round(value)), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
    return f"{value:.1f}".removesuffix(".0")
