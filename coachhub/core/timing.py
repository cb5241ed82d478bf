"""When Django first saw a request, so a streamed reply can report its server-side time.

The stamp is taken by the first middleware, which is async-capable: under ASGI it runs on the event
loop as the request arrives, before any hop to a worker thread, so queueing inside the server counts.
"""

from __future__ import annotations

import time

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest
from django.utils.decorators import sync_and_async_middleware


@sync_and_async_middleware
def request_arrival(get_response):
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest):
            request.arrived_at = time.perf_counter()
            return await get_response(request)

    else:

        def middleware(request: HttpRequest):
            request.arrived_at = time.perf_counter()
            return get_response(request)

    return middleware


def elapsed_ms(arrived_at: float | None) -> float | None:
    """Milliseconds since `arrived_at` (a request's stamp), or None when there is none."""
    return None if arrived_at is None else round((time.perf_counter() - arrived_at) * 1000, 1)
