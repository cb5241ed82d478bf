"""Server-sent events as the browser receives them, read back for tests and benches (no Django)."""

from __future__ import annotations

import json


def parse_events(body: str) -> list[tuple[str, dict]]:
    """An SSE body as (event, data) pairs."""
    events = []
    for block in body.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"])))
    return events
