"""Field-by-field differences between two scenario specs, on flattened paths like "persona.facts.1"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Change:
    path: str
    kind: str  # "added", "removed" or "changed"
    before: Any = None
    after: Any = None


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
