"""Server-sent events for the customer's reply: `delta` chunks as the engine produces them, then
one `done` (or `error`). Runs as an async generator under ASGI so a stream holds no worker thread
while it waits on the LLM; database work hops to a thread inside the tenant's context."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import DatabaseError
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse

from coachhub.core.db import release_connections
from coachhub.core.errors import ApplicationError
from coachhub.core.llm import LLMError
from coachhub.core.timing import elapsed_ms
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Membership, Tenant

from . import services
from .engines.base import EngineError
from .models import PracticeSession
from .services.turns import called_from_async_view

logger = logging.getLogger(__name__)


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


# How many of this process's streams may touch the database at once. Each hop holds a connection
# only while it runs, so hundreds of open streams need no more than this many connections.
DB_HOPS_PER_PROCESS = int(os.environ.get("COACHHUB_DB_HOPS_PER_PROCESS", "24"))
_hop_limits: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


def _hop_limit() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if loop not in _hop_limits:
        _hop_limits[loop] = asyncio.Semaphore(DB_HOPS_PER_PROCESS)
    return _hop_limits[loop]


async def in_tenant(tenant: Tenant, fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Runs a sync service in a thread with the tenant in context (the request's context is gone by
    the time a streamed body is produced), and returns the connection right after."""

    def call() -> Any:
        # The loop calling it may not be the one a response is streamed on (see `HeadStart`).
        token = called_from_async_view.set(True)
        try:
            with tenant_context(tenant):
                return fn(**kwargs)
        finally:
            called_from_async_view.reset(token)
            release_connections()

    async with _hop_limit():
        return await sync_to_async(call)()


def _session_state(session: PracticeSession, tenant: Tenant) -> dict[str, Any]:
    return {
        "status": session.status,
        "end_reason": session.end_reason or None,
        "frustration": session.frustration,
        "results_url": reverse("session_detail", kwargs={"tenant_slug": tenant.slug, "session_id": session.id}),
    }


def _done(stored, session: PracticeSession, tenant: Tenant, arrived_at: float | None) -> str:
    return sse(
        "done",
        {
            "turn": {"index": stored.index, "text": stored.text, "frustration": stored.frustration},
            **_session_state(session, tenant),
            **({"server_ms": elapsed_ms(arrived_at)} if arrived_at is not None else {}),
        },
    )


def saved_event(taken: services.TurnTaken) -> str:
    """The first event of every turn: the rep's line as stored."""
    return sse("saved", {"turn": {"index": taken.rep_turn.index, "text": taken.rep_turn.text}})


def answered_events(*, tenant: Tenant, taken: services.TurnTaken, arrived_at: float | None = None) -> list[str]:
    """The SSE body of a turn whose reply was stored with the rep's line (the embedded customer):
    the same `saved`, `delta`, `done` sequence a streamed reply produces."""
    return [
        saved_event(taken),
        sse("delta", {"text": taken.reply.text}),
        _done(taken.reply, taken.session, tenant, arrived_at),
    ]


class ReplyStream:
    """The events of one customer reply, for a streamed response, releasing what the saved line
    holds (the reply's token reservation and its reply claim) however the response ends.

    Once read, the reply's generator settles in its own `finally`. Unread, it never runs: Django
    closes the response's content when the client left before the first event was read (`close`),
    and a response dropped unsent (the client left while the line was being saved) is caught when
    it is collected. Either way the reply wasn't shown: one never asked for is charged nothing; one
    asked for ahead (`HeadStart`, in services.turns) is stopped and pays its reservation, as any reply the
    rep left mid-way (we can't know what the provider billed)."""

    def __init__(self, *, tenant: Tenant, context: services.ReplyContext | None, events: AsyncIterator[str]) -> None:
        self._context = context
        self._events = events
        self._unread = weakref.finalize(self, _release_unread_reply, tenant, context)
        self._unread.atexit = False

    def __aiter__(self) -> ReplyStream:
        return self

    async def __anext__(self) -> str:
        self._unread.detach()  # read: the generator's `finally` takes over
        return await self._events.__anext__()

    def close(self) -> None:
        # Called in a thread (Django's response.close); the meter settles once whoever gets there first.
        if self._unread.alive:
            self._unread()
        elif self._context is not None:
            if self._context.head_start is not None:
                self._context.head_start.cancel()
            if self._context.meter is not None:
                self._context.meter.close()


def _release_unread_reply(tenant: Tenant, context: services.ReplyContext | None) -> None:
    if context is None:
        return

    if context.head_start is not None:
        context.head_start.cancel()

    def release() -> None:
        try:
            if context.meter is not None and context.head_start is None:
                context.meter.charge(0)
            services.reply_finished(tenant=tenant, context=context)
        finally:
            release_connections()

    try:
        asyncio.get_running_loop()
    except RuntimeError:  # a thread of our own (Django's close): the database is ours to use here
        release()
    else:  # collected on the event loop, where the ORM refuses to run
        threading.Thread(target=release, name="reply-release", daemon=True).start()


def event_stream(events: AsyncIterator[str]) -> StreamingHttpResponse:
    """A streamed `text/event-stream` response: each event leaves as soon as it is produced."""
    response = StreamingHttpResponse(events, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # let nginx-style proxies pass tokens through at once
    return response


def turn_response(
    *, tenant: Tenant, rep: Membership, taken: services.TurnTaken, arrived_at: float | None = None,
    first: list[str] | tuple[str, ...] = (),
) -> HttpResponse:
    """The events of a saved rep line's reply (for pages and the API alike), after `first`: the
    reply already stored with the line (embedded customer) in one body, or the LLM's streamed now."""
    if taken.reply is not None:  # the whole body is known: no stream to hold open, no thread to consume it
        body = "".join([*first, *answered_events(tenant=tenant, taken=taken, arrived_at=arrived_at)])
        response = HttpResponse(body, content_type="text/event-stream; charset=utf-8")
        response["Cache-Control"] = "no-cache"
        return response
    return reply_stream(
        tenant=tenant, rep=rep, session_id=taken.context.session_id, first=[*first, saved_event(taken)],
        context=taken.context, arrived_at=arrived_at,
    )


def reply_stream(
    *, tenant: Tenant, rep: Membership, session_id: int, context: services.ReplyContext | None = None,
    first: list[str] | None = None, arrived_at: float | None = None,
) -> StreamingHttpResponse:
    """The streamed response of `reply_events`, releasing the reply's hold however it ends."""
    events = reply_events(
        tenant=tenant, rep=rep, session_id=session_id, first=first, context=context, arrived_at=arrived_at
    )
    return event_stream(ReplyStream(tenant=tenant, context=context, events=events))


async def reply_events(
    *,
    tenant: Tenant,
    rep: Membership,
    session_id: int,
    first: list[str] | None = None,
    context: services.ReplyContext | None = None,
    arrived_at: float | None = None,
) -> AsyncIterator[str]:
    """The customer's reply to the pending rep line, as SSE text. `context` comes from the hop that
    saved the rep's line; a retry reads it afresh. With the request's `arrived_at` stamp the `done`
    event carries `server_ms`: the server-side time of the whole turn. The reply's token meter is
    charged here and closed in `finally`, whatever happens (an abandoned reply pays its reservation)."""
    for chunk in first or ():
        yield chunk
    try:
        if context is None:
            context = await in_tenant(tenant, services.reply_context, tenant=tenant, rep=rep, session_id=session_id)
        engine = services.engine_for(context)
        if engine.streams:
            turn = state = None
            early = context.head_start
            if early is not None and early.usable_here():
                events = early.events()  # asked for while the rep's line was committed
            else:
                if early is not None:  # asked on a loop that is gone (an async view under WSGI)
                    early.cancel()
                events = engine.astream_respond(context.spec, context.state, context.rep_text, history=context.history)
            async for event in events:
                if hasattr(event, "turn"):
                    turn, state = event.turn, event.state
                else:
                    yield sse("delta", {"text": event.text})
            if turn is None:
                raise EngineError("the reply ended before it was complete")
        else:
            turn, state = engine.respond(context.spec, context.state, context.rep_text, history=context.history)
            yield sse("delta", {"text": turn.text})
        services.reply_answered(context, engine, state)
        stored, session = await in_tenant(
            tenant, services.session_customer_reply_apply, tenant=tenant, session_id=session_id,
            rep_turn_index=context.rep_turn_index, turn=turn, state=state,
        )
        yield _done(stored, session, tenant, arrived_at)
    except ApplicationError as exc:
        yield sse("error", {"code": exc.code, "message": exc.message})
    except DatabaseError as exc:
        # The connection died mid-reply; the rep's line is committed. `finally` settles the
        # reply's tokens on the next hop's fresh connection.
        logger.warning("customer reply not stored session=%s: %s", session_id, exc)
        yield sse(
            "error",
            {
                "code": "reply_not_stored",
                "message": "We couldn't store the customer's reply just now. Your message is saved: press “Retry reply”.",
                "retry": True,
            },
        )
    except (EngineError, LLMError) as exc:
        logger.warning("customer reply failed session=%s: %s", session_id, exc)
        if context is not None:
            services.reply_failed(context, exc)
        yield sse(
            "error",
            {
                "code": "customer_unavailable",
                "message": "The customer couldn't answer just now. Your message is saved: press “Retry reply”.",
                "retry": True,
            },
        )
    finally:
        if context is not None and context.head_start is not None:
            context.head_start.cancel()  # the rep left mid-reply: stop the model writing
        # Releases the claim and closes the meter: what the reply used, or (the rep left mid-reply)
        # its whole reservation rather than leave it holding the tenant's budget.
        await in_tenant(tenant, services.reply_finished, tenant=tenant, context=context)
