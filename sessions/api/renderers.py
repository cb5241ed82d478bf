"""`Accept: text/event-stream` on the turn endpoints: the customer's reply as server-sent events.

A turn the API accepts returns its own event stream (the same `saved`, `delta`…, `done` events the
practice page reads). What reaches this renderer is a refusal in the API's one error shape: it goes
out as a single `error` event, with the HTTP status (400, 404, 409, 413, 422, 429…) kept, so a
streaming client reads one format either way.
"""

from __future__ import annotations

from rest_framework.renderers import BaseRenderer

from ..streaming import sse


class EventStreamRenderer(BaseRenderer):
    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        error = data.get("error") if isinstance(data, dict) else None
        if not isinstance(error, dict):  # not a refusal: the views return their streams themselves
            error = {"code": "error", "message": "This response has no event stream."}
        return sse("error", error).encode()
