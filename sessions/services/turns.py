"""A rep's turn and the customer's reply: the rep's line is committed on its own before any engine
runs, so a slow, failing or dropped engine never loses it: the session simply waits for a customer
reply that can be retried."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from coachhub.core.errors import ApplicationError, Conflict
from coachhub.core.limits import claim, enforce, release
from coachhub.core.llm import LLMError
from coachhub.core.llm.chat import stream_request_answered
from coachhub.tenancy.budget import Meter, Reservation, metered
from coachhub.tenancy.models import Membership, Tenant
from coachhub.tenancy.selectors import ai_settings_from_query, ai_settings_in_query
from scenarios.spec import ScenarioSpec
from sessions.engines import customer_engines
from sessions.engines.base import CustomerEngine, CustomerTurn, EngineError, Utterance

from ..models import EndReason, PracticeSession, SessionStatus, Speaker, Turn
from .lifecycle import (
    _ENGINE_END_REASONS,
    _customer_turn,
    _customer_turn_create,
    _end,
    _engine,
    _llm_config_if_needed,
    _locked_session,
    _past_time_limit,
    engine_for,
)

logger = logging.getLogger(__name__)

REP_TEXT_MAX = 2000
# How long the request thread lets a head start's request leave before writing the rep's line (see
# `HeadStart.wait_answered`): the SDK's request building is ~1.5 ms of Python on the event loop.
HEAD_START_WAIT_S = 0.003


@dataclass(frozen=True)
class ReplyContext:
    """What an engine needs to answer the pending rep line, read inside one transaction."""

    session_id: int
    engine: str
    spec: ScenarioSpec
    state: dict
    rep_text: str
    history: tuple[Utterance, ...]
    rep_turn_index: int
    llm_config: object | None = None
    # The reply's token meter: reserved with the rep's line, closed once by whoever finishes the reply.
    meter: Meter | None = None
    # The streamed reply, already asked for while the rep's line was being committed (ASGI only).
    head_start: HeadStart | None = None

    @property
    def reservation(self) -> Reservation | None:
        return self.meter.reservation if self.meter is not None else None


class HeadStart:
    """A streamed reply asked for before the rep's line is committed, so the model thinks while the
    line is written: the insert, the session's update, the in-flight claim and the commit no longer
    come before the request leaves. Started once the session is locked, the transcript read and the
    tokens reserved (a refused line never asks the model), on the event loop that will stream the
    response; its events wait in a buffer until the response reads them, after the commit, so the
    rep sees nothing of a line that wasn't saved. Whoever gives up on it (the transaction failed, the
    response was never read or was closed) calls `cancel()`, from any thread: the model's request is
    closed, so the server stops writing."""

    def __init__(self, loop: asyncio.AbstractEventLoop, events: Callable[[], AsyncIterator]) -> None:
        self.loop = loop
        self._buffer: asyncio.Queue = asyncio.Queue()  # only touched on `loop`
        self._taken = False
        self._answered = threading.Event()
        self._future: Future = asyncio.run_coroutine_threadsafe(self._pump(events), loop)

    def wait_answered(self, timeout_s: float) -> None:
        """Blocks (without the GIL) until the model's server has answered the request, at most
        `timeout_s`: until then the request is still being written on the loop, and this thread's
        own Python work would compete with it for the interpreter."""
        self._answered.wait(timeout_s)

    async def _pump(self, events: Callable[[], AsyncIterator]) -> None:
        stream_request_answered.set(self._answered.set)  # this task's own context
        stream = events()
        try:
            async for event in stream:
                self._buffer.put_nowait((event, None))
        except asyncio.CancelledError:
            # Stopped while a reader may still wait (a race with the response's close): end its wait.
            self._buffer.put_nowait((None, EngineError("the reply was stopped before it was complete")))
            raise
        except Exception as exc:  # noqa: BLE001 - handed to the reader, who handles it as before
            self._buffer.put_nowait((None, exc))
        else:
            self._buffer.put_nowait((None, None))
        finally:
            self._answered.set()  # whatever happened, nobody waits for an answer any more
            await stream.aclose()

    def usable_here(self) -> bool:
        """Whether the running loop is the one the reply was asked on (it always is under ASGI)."""
        try:
            return asyncio.get_running_loop() is self.loop and not self._taken
        except RuntimeError:
            return False

    async def events(self) -> AsyncIterator:
        """The reply's events, as the engine's stream yields them (its errors raised here); read once."""
        self._taken = True
        try:
            while True:
                event, error = await self._buffer.get()
                if error is not None:
                    raise error
                if event is None:
                    return
                yield event
        finally:
            self.cancel()

    def cancel(self) -> None:
        # Thread-safe; a no-op once the reply was read to its end, or once its loop is gone (which
        # cancelled it on closing).
        if not self.loop.is_closed():
            self._future.cancel()


# Set while a sync service runs under an async view (`sessions.streaming.in_tenant`): the loop that
# called it may be a temporary one (Django's WSGI handler runs async views on a loop of their own
# that closes when the view returns), so no reply is started on it.
called_from_async_view: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "called_from_async_view", default=False
)


def _serving_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop this request's sync code was called from, which streams its response under
    ASGI: asgiref records it for this thread on every call from async code (it is how its own
    async_to_sync finds the loop). None outside ASGI, or when the record is stale."""
    from asgiref.sync import SyncToAsync

    record = SyncToAsync.threadlocal
    if called_from_async_view.get() or getattr(record, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(record, "main_event_loop", None)
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    return loop


def _head_start(context: ReplyContext) -> HeadStart | None:
    """Asks the engine for its streamed reply now, when it streams and an event loop will read it."""
    try:
        engine = engine_for(context)
    except ApplicationError:  # reported by the reply path, after the save
        return None
    if not engine.streams:
        return None
    loop = _serving_loop()
    if loop is None:
        return None
    try:
        return HeadStart(
            loop,
            lambda: engine.astream_respond(
                context.spec, context.state, context.rep_text, history=context.history
            ),
        )
    except RuntimeError:  # the loop closed in the meantime: the reply is asked for when it is read
        return None


def voice_turn_transcribe(*, rep: Membership, upload) -> tuple[str, dict, bytes]:
    """Checks and transcribes a recorded rep turn (faster-whisper): its text, delivery figures and
    bytes. Counted against the rep's voice allowance before the model runs; bad audio is refused
    with a clear error and nothing stored."""
    # Imported on first use: faster-whisper and its model stay off the text-only path.
    from sessions.voice import transcribe
    from sessions.voice.audio import max_bytes

    if upload is None:
        raise ApplicationError("No recording arrived: hold the button while you speak.", code="audio_missing")
    if upload.size > max_bytes():
        raise ApplicationError(
            f"That recording is too large (limit {max_bytes() // 1_000_000} MB).",
            code="audio_too_large",
            status_code=413,
        )
    enforce(
        action="voice",
        user_id=rep.user_id,
        message="You're sending recordings faster than anyone can speak: wait a few seconds and try again.",
    )
    raw = upload.read()
    transcription = transcribe(raw)
    delivery = {
        **transcription.delivery.to_dict(),
        "duration_s": round(transcription.duration_s, 2),
        "transcription_s": round(transcription.processing_s, 3),
    }
    return transcription.text, delivery, raw


@dataclass(frozen=True)
class TurnTaken:
    """A saved rep line. `reply` is the customer's answer when the engine gave it in the same
    transaction (the embedded customer); otherwise None and `context` is what the engine needs."""

    rep_turn: Turn
    context: ReplyContext
    reply: Turn | None = None
    session: PracticeSession | None = None


def session_rep_turn_record(
    *, tenant: Tenant, rep: Membership, session_id: int, text: str, delivery: dict | None = None, audio=None
) -> tuple[Turn, ReplyContext]:
    """Saves the rep's line and returns what the engine needs to answer it, in one transaction.
    Refuses (with the session intact) when the session ended, when the customer hasn't answered
    the previous line yet, or when the text is empty or too long."""
    taken = _turn_take(
        tenant=tenant,
        rep=rep,
        session_id=session_id,
        text=text,
        delivery=delivery,
        audio=audio,
        inline=False,
        head_start=False,
    )
    return taken.rep_turn, taken.context


def session_turn_take(
    *, tenant: Tenant, rep: Membership, session_id: int, text: str, delivery: dict | None = None, audio=None
) -> TurnTaken:
    """Saves the rep's line, as `session_rep_turn_record`. An engine that answers in-process (the
    embedded customer: pure Python, well under a millisecond) answers in the same transaction: one
    session lock, both turns in one INSERT, one UPDATE of the session, and no second connection. A
    remote engine (the LLM) is left to answer afterwards, streamed, so its wait holds no lock; under
    ASGI its request leaves before the line is committed (`HeadStart`), for the response to stream."""
    return _turn_take(
        tenant=tenant,
        rep=rep,
        session_id=session_id,
        text=text,
        delivery=delivery,
        audio=audio,
        inline=True,
        head_start=True,
    )


def session_turn_exchange(
    *, tenant: Tenant, rep: Membership, session_id: int, text: str, delivery: dict | None = None, audio=None
) -> tuple[Turn, Turn]:
    """The rep's saved line and the customer's stored reply, synchronously (API clients). Errors as
    `session_turn_take`, then as `session_reply` (the line stays saved when the reply fails)."""
    taken = _turn_take(
        tenant=tenant,
        rep=rep,
        session_id=session_id,
        text=text,
        delivery=delivery,
        audio=audio,
        inline=True,
        head_start=False,
    )
    if taken.reply is not None:
        return taken.rep_turn, taken.reply
    return taken.rep_turn, session_reply(tenant=tenant, rep=rep, session_id=session_id, context=taken.context)


def _turn_take(
    *, tenant, rep, session_id, text, delivery, audio, inline: bool, head_start: bool
) -> TurnTaken:
    started: list[HeadStart] = []
    try:
        with transaction.atomic():
            taken = _turn_take_locked(
                tenant=tenant,
                rep=rep,
                session_id=session_id,
                text=text,
                delivery=delivery,
                audio=audio,
                inline=inline,
                head_start=started.append if head_start else None,
            )
    except BaseException:
        # The line wasn't saved (and its reservation went with the transaction): stop the reply.
        for reply in started:
            reply.cancel()
        raise
    if taken is None:  # the session ran past its time limit; its end is committed
        raise Conflict("Time's up for this scenario: the session has ended.", code="session_ended")
    return taken


def _turn_take_locked(
    *,
    tenant,
    rep,
    session_id,
    text,
    delivery,
    audio,
    inline: bool,
    head_start: Callable[[HeadStart], None] | None,
) -> TurnTaken | None:
    if audio is None:  # a recording was counted before it was transcribed (voice_turn_transcribe)
        enforce(
            action="turn",
            user_id=rep.user_id,
            message="You're sending lines faster than anyone can type: wait a few seconds and send again.",
        )
    session = _turn_session(tenant, session_id, rep)
    if session.status != SessionStatus.ACTIVE:
        raise Conflict("This session has ended. Start a new one to keep practicing.", code="session_ended")
    text = (text or "").strip()
    if not text:
        raise ApplicationError(
            "Type what you'd say to the customer first.", code="empty_turn", fields={"text": ["Required."]}
        )
    if len(text) > REP_TEXT_MAX:
        raise ApplicationError(
            f"That message is {len(text):,} characters; keep it under {REP_TEXT_MAX:,}.",
            code="turn_too_long",
            fields={"text": ["Too long."]},
        )
    turns = list(
        Turn.objects.for_tenant(tenant)
        .filter(session_id=session.id)
        .order_by("index")
        .values_list("index", "speaker", "text", "created_at", named=True)  # read, never saved: no model rows
    )
    last = turns[-1] if turns else None
    if last is not None and last.speaker == Speaker.REP:
        raise Conflict(
            "The customer hasn't answered your last message yet: retry their reply first.",
            code="reply_pending",
        )
    spec = session.version.as_spec()
    if _past_time_limit(session, spec):
        _end(tenant=tenant, session=session, reason=EndReason.TIMED_OUT)
        return None
    ai_settings = (
        ai_settings_from_query(tenant=tenant, value=session.ai_settings)
        if customer_engines.needs_llm(session.engine)
        else None
    )
    llm_config = _llm_config_if_needed(tenant, session.engine, ai_settings)
    # Reserved in this transaction: over budget, the rep's line is refused and nothing is saved.
    meter = _meter(tenant, session.engine, llm_config, spec, [t.text for t in turns] + [text], ai_settings)
    now = timezone.now()
    latency = int((now - last.created_at).total_seconds() * 1000) if last is not None else None
    rep_turn = Turn(
        tenant=tenant,
        session=session,
        index=(last.index + 1) if last else 0,
        speaker=Speaker.REP,
        text=text,
        created_at=now,
        latency_ms=latency,
        delivery=delivery or {},
        audio=audio or "",
    )
    context = ReplyContext(
        session_id=session.id,
        engine=session.engine,
        spec=spec,
        state=session.engine_state,
        rep_text=text,
        history=tuple(Utterance(speaker=t.speaker, text=t.text) for t in turns),
        rep_turn_index=rep_turn.index,
        llm_config=llm_config,
        meter=meter,
    )
    answer = _answer_inline(context) if inline else None
    if answer is None:
        # Everything the model's request needs is known and its tokens are reserved: ask now, and
        # write the line while the model thinks.
        early = _head_start(context) if head_start is not None else None
        if early is not None:
            head_start(early)
            context = dataclasses.replace(context, head_start=early)
            # Let the request leave first: the line's INSERT and UPDATE are Python too, and each of
            # their bursts would hold the interpreter while the loop is writing the request.
            early.wait_answered(HEAD_START_WAIT_S)
        Turn.objects.for_tenant(tenant).bulk_create([rep_turn])
        session.last_activity_at = now
        session.save(update_fields=["last_activity_at"])
        # The reply that follows is in flight: a "Retry reply" meanwhile must not make a second call.
        claim(_reply_claim_key(tenant, context), timeout=_reply_claim_seconds())
        return TurnTaken(rep_turn=rep_turn, context=context)
    customer, state = answer
    reply = _customer_turn(tenant=tenant, session=session, index=rep_turn.index + 1, turn=customer)
    Turn.objects.for_tenant(tenant).bulk_create([rep_turn, reply])
    _session_replied(tenant=tenant, session=session, reply=reply, turn=customer, state=state)
    return TurnTaken(rep_turn=rep_turn, context=context, reply=reply, session=session)


def _turn_session(tenant: Tenant, session_id: int, rep: Membership) -> PracticeSession:
    """The rep's session, locked, with its version and (as `ai_settings`) the tenant's AI settings
    in the same statement: a turn reads them before the model is asked, one round trip less."""
    session = (
        PracticeSession.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("version")
        .defer("version__realism_report")  # the realism check's report: nothing a turn reads
        .filter(id=session_id, membership=rep)
        .annotate(ai_settings=ai_settings_in_query(tenant=tenant))
        .first()
    )
    if session is None:
        raise ApplicationError("Session not found.", code="session_not_found", status_code=404)
    return session


def _answer_inline(context: ReplyContext) -> tuple[CustomerTurn, dict] | None:
    """The reply of an engine that answers in-process, or None: a remote engine, or one that failed
    (the rep's line is still saved, and the usual reply path reports the failure and offers a retry)."""
    try:
        engine = engine_for(context)
    except (
        ApplicationError
    ):  # e.g. the tenant's LLM endpoint was removed mid-session: reported after the save
        return None
    if not engine.answers_inline:
        return None
    try:
        turn, state = engine.respond(context.spec, context.state, context.rep_text, history=context.history)
    except EngineError as exc:
        logger.warning("customer engine failed session=%s: %s", context.session_id, exc)
        return None
    if context.meter is not None:  # settled in the transaction that stores the reply
        reply_answered(context, engine, state)
        context.meter.close()
    return turn, state


def _meter(
    tenant: Tenant, name: str, llm_config, spec: ScenarioSpec, texts: list[str], ai_settings=None
) -> Meter:
    """The reply's token meter, reserving the engine's own estimate of the call (nothing for an
    engine that calls no model). An engine that can't be built here reserves nothing: the line is
    saved and the reply path reports why the customer can't answer."""
    try:
        engine = _engine(name, llm_config)
    except ApplicationError:
        return metered(tenant=tenant, estimate=0)
    return metered(tenant=tenant, estimate=engine.token_estimate(spec, texts), ai_settings=ai_settings)


@transaction.atomic
def reply_context(*, tenant: Tenant, rep: Membership, session_id: int) -> ReplyContext:
    """The pending rep line and everything before it, for a retried reply; raises if nothing is
    waiting for a reply. A retry costs a model call like a turn, so it counts against the rep's turn
    allowance, and only one reply per rep line is in flight: a retry while one is being written
    answers 409 reply_in_flight. Whoever gets the context must call `reply_finished`."""
    enforce(
        action="turn",
        user_id=rep.user_id,
        message="You're asking for replies faster than anyone can read them: wait a few seconds and retry.",
    )
    session = (
        PracticeSession.objects.for_tenant(tenant)
        .select_related("version")
        .filter(id=session_id, membership=rep)
        .first()
    )
    if session is None:
        raise ApplicationError("Session not found.", code="session_not_found", status_code=404)
    if session.status != SessionStatus.ACTIVE:
        raise Conflict("This session has ended.", code="session_ended")
    turns = list(Turn.objects.for_tenant(tenant).filter(session=session).order_by("index"))
    if not turns or turns[-1].speaker != Speaker.REP:
        raise Conflict("There's no message waiting for the customer's reply.", code="no_reply_pending")
    history = tuple(Utterance(speaker=t.speaker, text=t.text) for t in turns[:-1])
    context = ReplyContext(
        session_id=session.id,
        engine=session.engine,
        spec=session.version.as_spec(),
        state=session.engine_state,
        rep_text=turns[-1].text,
        history=history,
        rep_turn_index=turns[-1].index,
        llm_config=_llm_config_if_needed(tenant, session.engine),
    )
    # Claimed before reserving tokens: a refused duplicate holds no budget.
    if not claim(_reply_claim_key(tenant, context), timeout=_reply_claim_seconds()):
        raise Conflict(
            "The customer is already answering this message: wait for their reply.", code="reply_in_flight"
        )
    try:
        meter = _meter(tenant, session.engine, context.llm_config, context.spec, [t.text for t in turns])
    except ApplicationError:
        reply_finished(tenant=tenant, context=context)
        raise
    return dataclasses.replace(context, meter=meter)


def _reply_claim_key(tenant: Tenant, context: ReplyContext) -> str:
    return f"reply:{tenant.id}:{context.session_id}:{context.rep_turn_index}"


def _reply_claim_seconds() -> int:
    # Longer than the slowest reply (every retry timing out), so a live call is never doubled.
    return int(settings.LLM_TIMEOUT_S * (settings.LLM_MAX_RETRIES + 1) + 30)


def reply_finished(*, tenant: Tenant, context: ReplyContext | None) -> None:
    """The reply to `context`'s rep line was stored or failed: a retry may ask again. Settles the
    reply's tokens if nothing did yet (charged in full: the reply was abandoned)."""
    if context is not None:
        release(_reply_claim_key(tenant, context))
        if context.meter is not None:
            context.meter.close()


@transaction.atomic
def session_customer_reply_apply(
    *,
    tenant: Tenant,
    session_id: int,
    rep_turn_index: int,
    turn: CustomerTurn,
    state: dict,
) -> tuple[Turn, PracticeSession]:
    """Stores the customer's reply to rep turn `rep_turn_index` and returns it with the session.
    Applying the same reply twice (a retried request racing the original) is a no-op that returns
    the stored reply."""
    session = _locked_session(tenant, session_id, with_version=False)
    existing = Turn.objects.for_tenant(tenant).filter(session=session, index=rep_turn_index + 1).first()
    if existing is not None:
        return existing, session
    if session.status != SessionStatus.ACTIVE:
        raise Conflict("This session has ended.", code="session_ended")
    customer_turn = _customer_turn_create(tenant=tenant, session=session, index=rep_turn_index + 1, turn=turn)
    _session_replied(tenant=tenant, session=session, reply=customer_turn, turn=turn, state=state)
    return customer_turn, session


def _session_replied(
    *, tenant: Tenant, session: PracticeSession, reply: Turn, turn: CustomerTurn, state: dict
) -> None:
    """The session after the customer's reply: the engine's new state, and its end if the reply ended it."""
    session.engine_state = state
    session.frustration = turn.frustration
    session.last_activity_at = reply.created_at
    session.save(update_fields=["engine_state", "frustration", "last_activity_at"])
    if turn.end_reason:
        _end(
            tenant=tenant,
            session=session,
            reason=_ENGINE_END_REASONS.get(turn.end_reason, EndReason.TIMED_OUT),
        )


def session_reply(
    *, tenant: Tenant, rep: Membership, session_id: int, context: ReplyContext | None = None
) -> Turn:
    """Answers the pending rep line synchronously (API clients, the CLI). Pass the context that
    `session_rep_turn_record` returned to skip reading it again."""
    context = context or reply_context(tenant=tenant, rep=rep, session_id=session_id)
    try:
        return _session_reply(tenant=tenant, session_id=session_id, context=context)
    finally:
        reply_finished(tenant=tenant, context=context)


def _session_reply(*, tenant: Tenant, session_id: int, context: ReplyContext) -> Turn:
    engine = engine_for(context)
    try:
        turn, state = engine.respond(context.spec, context.state, context.rep_text, history=context.history)
    except (EngineError, LLMError) as exc:
        logger.warning("customer engine failed session=%s: %s", session_id, exc)
        reply_failed(context, exc)
        raise ApplicationError(
            f"{_plain(exc)} Your message is saved: ask for the customer's reply again.",
            code="customer_unavailable",
            status_code=503,
        ) from exc
    reply_answered(context, engine, state)
    try:
        stored, _ = session_customer_reply_apply(
            tenant=tenant,
            session_id=session_id,
            rep_turn_index=context.rep_turn_index,
            turn=turn,
            state=state,
        )
    except DatabaseError as exc:
        # The database connection died while the customer was answering (a restart, a failover, a
        # killed backend). The rep's line was committed before the call; the reply wasn't stored.
        # (The meter settles the call on a fresh connection when `session_reply` finishes.)
        logger.warning("customer reply not stored session=%s: %s", session_id, exc)
        raise ApplicationError(
            "We couldn't store the customer's reply just now. Your message is saved: ask for the customer's "
            "reply again.",
            code="reply_not_stored",
            status_code=503,
        ) from exc
    return stored


def reply_answered(context: ReplyContext, engine: CustomerEngine, state: dict) -> None:
    """The engine answered: charge the reply what the engine says it used."""
    if context.meter is not None:
        context.meter.charge(engine.tokens_used(context.state, state))


def reply_failed(context: ReplyContext, exc: Exception) -> None:
    """The engine failed. A call that failed before any text came back used nothing; one that broke
    mid-stream is left uncharged, so it pays its whole reservation (we can't know what was billed)."""
    if context.meter is not None and not getattr(exc, "partial", False):
        context.meter.charge(0)


def _plain(exc: Exception) -> str:
    """The error's words for a rep (LLM errors carry a `message` written for people)."""
    text = getattr(exc, "message", "") or str(exc) or "The customer couldn't answer just now."
    return text if text.endswith((".", "!", "?")) else text + "."
