"""Text that came from uploads, made safe to store."""

from __future__ import annotations

from typing import Any


def storable(value: Any) -> Any:
    """Replaces NUL characters (which PostgreSQL text and jsonb can't hold) in every string of a
    JSON-like value, so quoting a bad cell in an error message can't break the save."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, tuple):
        return tuple(storable(item) for item in value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    return value
