"""The API's JSON parser: DRF's, with a nesting limit, so a body of 1,000 nested brackets is a 400
in the one error shape instead of a RecursionError (500) in the parser or in whatever walks it."""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# No request body CoachHub reads is nested more than a handful of levels (a scenario spec is the
# deepest, at about five); 64 leaves room for any client while staying far from the recursion limit.
MAX_JSON_DEPTH = 64


def _too_deep(value, limit: int) -> bool:
    """Walks the parsed value without recursion (the point is not to hit the recursion limit)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        message = f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep; send a flatter document."
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(message) from None
        if _too_deep(data, MAX_JSON_DEPTH):
            raise ParseError(message)
        return data
