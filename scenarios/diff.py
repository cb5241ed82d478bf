"""Field-by-field differences between two scenario specs, on flattened paths like "persona.facts.1"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# What the authoring form calls each field, so a diff reads "Policies, line 2" and not "policies.1".
FIELD_LABELS = {
    "slug": "Short name (slug)", "title": "Title", "moment": "Moment", "difficulty": "Difficulty",
    "summary": "Summary for the rep", "opening_line": "Opening line", "policies": "Policies",
    "success_criteria": "Success criteria", "show_frustration_meter": "Frustration meter shown",
    "persona": "Customer", "persona.name": "Customer's name", "persona.situation": "Situation",
    "persona.facts": "Facts the customer knows", "persona.wants": "What the customer wants",
    "persona.temperament": "Temperament", "persona.base_frustration": "Starting frustration",
    "persona.calmed_by": "Calmed by", "persona.inflamed_by": "Inflamed by",
    "persona.hidden_details": "Hidden details", "persona.speaking_style": "Speaking style",
    "end_conditions": "End conditions", "end_conditions.max_turns": "Most turns",
    "end_conditions.time_limit_minutes": "Time limit (minutes)",
    "end_conditions.resolve_frustration_at_most": "Resolved at frustration ≤",
    "end_conditions.escalate_frustration_at_least": "Escalates at frustration ≥",
    "rubric": "Rubric", "rubric.behaviors": "Rubric",
}
PART_LABELS = {"detail": "detail", "revealed_when": "revealed when", "key": "behavior", "weight": "weight",
               "description": "description"}


def path_label(path: str) -> str:
    """ "persona.facts.1" → "Facts the customer knows, line 2"; "rubric.behaviors.0.weight" →
    "Rubric, behavior 1, weight". List positions are 1-based, as people count."""
    parts = path.split(".")
    head, rest = parts[0], parts[1:]
    if rest and not rest[0].isdigit() and f"{head}.{rest[0]}" in FIELD_LABELS:
        head, rest = f"{head}.{rest[0]}", rest[1:]
    words = [FIELD_LABELS.get(head, head.replace("_", " ").capitalize())]
    for position, part in enumerate(rest):
        if part.isdigit():
            noun = "line"
            if position == 0:
                noun = {"rubric.behaviors": "behavior", "persona.hidden_details": "detail"}.get(head, "line")
            words.append(f"{noun} {int(part) + 1}")
        elif part:
            words.append(PART_LABELS.get(part, part.replace("_", " ")))
    return ", ".join(words)


@dataclass(frozen=True)
class Change:
    path: str
    kind: str  # "added", "removed" or "changed"
    before: Any = None
    after: Any = None

    @property
    def label(self) -> str:
        return path_label(self.path)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{"persona": {"facts": ["a", "b"]}} → {"persona.facts.0": "a", "persona.facts.1": "b"}.
    Empty lists and mappings stay as leaves, so "no hidden details" is still a value."""
    if isinstance(value, dict) and value:
        items = value.items()
    elif isinstance(value, list) and value:
        items = ((str(index), item) for index, item in enumerate(value))
    else:
        return {prefix: value} if prefix else {}
    flat: dict[str, Any] = {}
    for key, item in items:
        flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def spec_diff(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """Changes from `before` to `after`, in the order the fields appear in the specs."""
    old, new = flatten(before), flatten(after)
    order = list(old) + [path for path in new if path not in old]
    changes = []
    for path in order:
        if path not in new:
            changes.append(Change(path, "removed", before=old[path]))
        elif path not in old:
            changes.append(Change(path, "added", after=new[path]))
        elif old[path] != new[path]:
            changes.append(Change(path, "changed", before=old[path], after=new[path]))
    return changes
