"""What a rep is told before practicing: the public part of a spec. Never the customer's facts or
hidden details — the rep has to find those out in the conversation."""

from __future__ import annotations

from typing import Any

from .behaviors import behavior_label
from .models import MOMENT_LABELS


def rep_brief(spec: dict[str, Any]) -> dict[str, Any]:
    persona, ends = spec["persona"], spec["end_conditions"]
    return {
        "title": spec["title"],
        "moment": MOMENT_LABELS.get(spec["moment"], spec["moment"]),
        "difficulty": spec["difficulty"],
        "summary": spec["summary"],
        "customer_name": persona["name"],
        "situation": persona["situation"],
        "wants": persona["wants"],
        "policies": list(spec["policies"]),
        "success_criteria": list(spec["success_criteria"]),
        "time_limit_minutes": ends["time_limit_minutes"],
        "max_turns": ends["max_turns"],
        "behaviors": [
            {"key": b["key"], "label": behavior_label(b["key"]), "weight": b["weight"]}
            for b in spec["rubric"]["behaviors"]
        ],
    }
