"""The LLM customer: a ScenarioSpec persona played by a Chat Completions model.

``respond`` makes one non-streamed call; ``astream_respond`` streams the reply for the browser as
``TextDelta`` events and ends with one ``StreamDone``. The model reports its frustration and any
ending in a side channel (see ``prompts``) that never reaches the rep; when it forgets, frustration
is estimated from what the rep did, the way the embedded engine would move it. The engine keeps
its conversation state in a JSON-serializable dict and the transcript arrives as ``history``, so a
conversation resumes in any process. Engines don't touch the database.

Failures surface as ``coachhub.core.llm.LLMError`` subclasses (plain-English ``message``). A
stream that breaks after text was shown raises ``LLMBadResponse(partial=True)`` and produces no
``StreamDone``: the runner keeps the rep's turn, discards the partial customer text, and lets the
rep send again (the state passed in is still the current state).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from coachhub.core.llm import (
    ChatStreamEnd,
    LLMBadResponse,
    LLMConfig,
    LLMError,
    LLMProviderError,
    LLMRateLimited,
    LLMTimeout,
    LLMUsage,
    RetryNotice,
    astream_chat,
    chat_complete,
    shared_async_client,
    shared_client,
    usage_from,
)
from coachhub.tenancy.budget import estimate_prompt_tokens
from scenarios.spec import ScenarioSpec
from sessions.engines import signals as sig
from sessions.engines.base import CustomerTurn, EndReason, EngineError, EngineState, Utterance
from sessions.engines.embedded import CALM_EFFECTS, INFLAME_EFFECTS
from sessions.engines.prompts import (
    ParsedReply,
    PromptState,
    SettledReply,
    SideChannelFilter,
    build_messages,
    build_system_prompt,
    frustration_bounds,
    out_of_character,
    parse_reply,
    settle_reply,
    strip_speaker_label,
)

logger = logging.getLogger(__name__)

ENGINE_NAME = "llm"
STATE_VERSION = 1
# A customer speaks a few sentences; the cap bounds cost and latency if the model rambles.
MAX_REPLY_TOKENS = 300
# What a reply's prompt costs beyond the persona and the transcript: the state note the engine
# adds (a few hundred characters).
PROMPT_OVERHEAD_TOKENS = 200
# Share of a hidden detail's words the reply must contain for it to count as revealed.
REVEAL_OVERLAP = 0.5
# A regenerated reply samples differently from the one it replaces.
REGENERATE_SEED_OFFSET = 7919


@dataclass(frozen=True)
class TextDelta:
    """Customer text to append to what the rep sees. Deltas concatenate to ``StreamDone.turn.text``."""

    text: str


@dataclass(frozen=True)
class StreamDone:
    """The end of a streamed reply: the turn (side channel stripped), the new state, token usage."""

    turn: CustomerTurn
    state: EngineState
    usage: LLMUsage


StreamEvent = TextDelta | StreamDone

# What a rep reads when the customer can't answer: the customer's words for the shared LLM errors
# (coachhub.core.llm words them for whoever calls; the judge has its own, in scoring).
CUSTOMER_MESSAGES: dict[type[LLMError], str] = {
    LLMTimeout: "The AI customer took too long to answer. Please send your message again.",
    LLMRateLimited: "The AI service is busy right now. Please wait a moment and send your message again.",
    LLMProviderError: "The AI service had a problem on its side. Please send your message again in a moment.",
    LLMBadResponse: "The AI customer's reply came back garbled or cut off. Please send your message again.",
}
CUSTOMER_BAD_RESPONSE_MESSAGE = CUSTOMER_MESSAGES[LLMBadResponse]


def in_customer_words(error: LLMError) -> None:
    """`error`, its message said to a rep mid-conversation (configuration errors keep theirs: they
    name what an admin must fix)."""
    for kind, message in CUSTOMER_MESSAGES.items():
        if isinstance(error, kind):
            error.message = message
            return


class LLMCustomerEngine:
    """The customer engine backed by a model. Holds only configuration; the conversation lives in the state."""

    name = ENGINE_NAME
    answers_inline = False
    streams = True

    def __init__(
        self,
        config: LLMConfig,
        *,
        max_reply_tokens: int = MAX_REPLY_TOKENS,
        on_retry: Callable[[RetryNotice], None] | None = None,
    ) -> None:
        self.config = config
        self.model = config.model
        self.max_reply_tokens = max_reply_tokens
        self.on_retry = on_retry

    def start(self, spec: ScenarioSpec, *, seed: int) -> tuple[CustomerTurn, EngineState]:
        # The author wrote the opening line; asking a model to paraphrase it would only cost time.
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError("seed must be an int")
        conversation = _Conversation(seed=seed, frustration=spec.starting_frustration, model=self.model)
        return CustomerTurn(
            text=spec.opening_line, frustration=conversation.frustration
        ), conversation.to_state()

    def respond(
        self,
        spec: ScenarioSpec,
        state: EngineState,
        rep_text: str,
        *,
        history: Sequence[Utterance] = (),
    ) -> tuple[CustomerTurn, EngineState]:
        try:
            return self._respond(spec, state, rep_text, history=history)
        except LLMError as error:
            in_customer_words(error)
            raise

    def _respond(
        self, spec: ScenarioSpec, state: EngineState, rep_text: str, *, history: Sequence[Utterance]
    ) -> tuple[CustomerTurn, EngineState]:
        conversation = _Conversation.from_state(state)
        vet = _vetter(spec, rep_text)
        usage = LLMUsage(0, 0)
        parsed: ParsedReply | None = None
        for attempt in range(2):
            messages = _messages(spec, conversation, history, rep_text, reminder=attempt > 0)
            try:
                result = chat_complete(
                    self.config,
                    messages,
                    client=shared_client(self.config),
                    max_tokens=self.max_reply_tokens,
                    seed=conversation.next_seed + attempt * REGENERATE_SEED_OFFSET,
                    on_retry=self.on_retry,
                    accept=_require_dialogue,
                )
            except LLMError:
                if attempt == 0:
                    raise
                break  # the first answer was unusable and the second failed: fall back below
            usage = _added(usage, result.usage)
            raw = parse_reply(result.text)
            settled = settle_reply(
                strip_speaker_label(raw.text, spec), vet=vet, finish_reason=result.finish_reason
            )
            if _usable(settled, attempt, result.finish_reason):
                parsed = _settled(raw, settled)
                break
        if parsed is None:
            return _fallback_turn(spec, conversation, rep_text, usage)
        return _take_turn(spec, conversation, rep_text, parsed, usage)

    def token_estimate(self, spec: ScenarioSpec, texts: Sequence[str]) -> int:
        """The prompt a reply sends (the persona's system prompt and the transcript), counting
        non-Latin scripts conservatively (coachhub/tenancy/budget.py), plus one reply out."""
        system = build_system_prompt(spec)
        return PROMPT_OVERHEAD_TOKENS + self.max_reply_tokens + estimate_prompt_tokens([system, *texts])

    def tokens_used(self, before: EngineState, after: EngineState) -> int:
        """From the usage totals this engine keeps in its state."""

        def total(state: EngineState) -> int:
            usage = state.get("usage") or {}
            return int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))

        return max(0, total(after) - total(before))

    async def astream_respond(
        self,
        spec: ScenarioSpec,
        state: EngineState,
        rep_text: str,
        *,
        history: Sequence[Utterance] = (),
    ) -> AsyncIterator[StreamEvent]:
        """Stream the reply: ``TextDelta``s as whole sentences arrive, then exactly one ``StreamDone``.

        The side channel, markup and anything out of character are held back, never yielded. A
        reply out of character from its first sentence, or with no whole sentence before the token
        limit, is asked for once more (nothing was shown), then replaced by the embedded customer's
        line. A reply that slips out of character later is cut there and the model is stopped.
        Failures before the first token are retried; after it, ``LLMBadResponse(partial=True)`` is
        raised and no ``StreamDone`` follows.
        """
        events = self._astream_respond(spec, state, rep_text, history=history)
        async with contextlib.aclosing(events):
            try:
                async for event in events:
                    yield event
            except LLMError as error:
                in_customer_words(error)
                raise

    async def _astream_respond(
        self, spec: ScenarioSpec, state: EngineState, rep_text: str, *, history: Sequence[Utterance]
    ) -> AsyncIterator[StreamEvent]:
        conversation = _Conversation.from_state(state)
        vet = _vetter(spec, rep_text)
        client = shared_async_client(self.config)
        usage = LLMUsage(0, 0)
        shown = False
        for attempt in range(2):
            messages = _messages(spec, conversation, history, rep_text, reminder=attempt > 0)
            side_channel = SideChannelFilter(vet=vet, clean=lambda text: strip_speaker_label(text, spec))
            end: ChatStreamEnd | None = None
            stream = astream_chat(
                self.config,
                messages,
                client=client,
                max_tokens=self.max_reply_tokens,
                seed=conversation.next_seed + attempt * REGENERATE_SEED_OFFSET,
                on_retry=self.on_retry,
            )
            try:
                async for item in stream:
                    if isinstance(item, ChatStreamEnd):
                        end = item
                    elif released := side_channel.feed(item):
                        shown = True
                        yield TextDelta(released)
                    if side_channel.problem is not None:
                        # Closing the stream closes the connection: the server stops generating.
                        break
            except LLMError as error:
                if shown:
                    raise LLMBadResponse(error.message, detail=error.detail, partial=True) from error
                if isinstance(error, LLMBadResponse) and error.partial and attempt == 0:
                    # It broke after some tokens, but none reached the rep: ask again.
                    logger.info("LLM customer stream broke before a whole sentence was shown; asking again")
                    continue
                if attempt == 0:
                    raise LLMBadResponse(error.message, detail=error.detail) if isinstance(
                        error, LLMBadResponse
                    ) else error from error
                break
            finally:
                await stream.aclose()
            usage = _added(
                usage,
                end.usage if end is not None else usage_from(None, messages=messages, completion=side_channel.raw),
            )
            finish_reason = end.finish_reason if end is not None else "stop"
            rest, raw, settled = side_channel.finish(finish_reason)
            if shown or _usable(settled, attempt, finish_reason):
                if not settled.text:
                    raise LLMBadResponse(CUSTOMER_BAD_RESPONSE_MESSAGE, detail="the reply had no dialogue", partial=shown)
                if rest:
                    yield TextDelta(rest)
                turn, new_state = _take_turn(spec, conversation, rep_text, _settled(raw, settled), usage)
                yield StreamDone(turn=turn, state=new_state, usage=usage)
                return
        turn, new_state = _fallback_turn(spec, conversation, rep_text, usage)
        yield TextDelta(turn.text)
        yield StreamDone(turn=turn, state=new_state, usage=usage)


def _vetter(spec: ScenarioSpec, rep_text: str):
    return lambda sentence: out_of_character(sentence, spec=spec, rep_text=rep_text)


def _usable(settled: SettledReply, attempt: int, finish_reason: str | None) -> bool:
    """Keep this answer, or ask once more? An answer with some good whole sentences is kept (cut
    where it went wrong); one with none is asked again, and logged either way."""
    if settled.problem or settled.trimmed:
        logger.info(
            "LLM customer reply %s (attempt %d, finish_reason=%s); %s",
            settled.problem or "was cut by the token limit",
            attempt + 1,
            finish_reason,
            "kept the sentences before it" if settled.text else "asking again" if attempt == 0 else "falling back",
        )
    return bool(settled.text)


def _settled(raw: ParsedReply, settled: SettledReply) -> ParsedReply:
    """The reply as stored: the settled text; a cut-off or out-of-character reply's side channel
    isn't trusted (it was written by a model that had lost the thread), so frustration is estimated."""
    trusted = settled.problem is None
    return ParsedReply(
        text=settled.text,
        frustration=raw.frustration if trusted else None,
        end=raw.end if trusted else None,
        found=raw.found and trusted,
    )


def _added(total: LLMUsage, more: LLMUsage) -> LLMUsage:
    return LLMUsage(
        prompt_tokens=total.prompt_tokens + more.prompt_tokens,
        completion_tokens=total.completion_tokens + more.completion_tokens,
        estimated=total.estimated or more.estimated,
    )


def _fallback_turn(
    spec: ScenarioSpec, conversation: _Conversation, rep_text: str, usage: LLMUsage
) -> tuple[CustomerTurn, EngineState]:
    """The embedded customer's line for this turn, when the model twice failed to stay in character."""
    from sessions.engines.embedded import EmbeddedCustomerEngine

    embedded = EmbeddedCustomerEngine()
    _, embedded_state = embedded.start(spec, seed=conversation.seed)
    embedded_state.update(
        frustration=conversation.frustration,
        turn=conversation.turn,
        revealed=list(conversation.revealed),
        stalled_turns=0,
        # What earlier fallbacks said, so a second one in the session isn't the same line.
        used_phrasings=list(conversation.fallback_phrasings),
        said=list(conversation.fallback_said),
    )
    line, after = embedded.respond(spec, embedded_state, rep_text)
    logger.warning(
        "LLM customer gave no usable reply after asking again (turn %d); used the embedded customer's line",
        conversation.turn + 1,
    )
    parsed = ParsedReply(text=line.text, frustration=None, end=None, found=False)
    conversation = dataclasses.replace(
        conversation, fallback_phrasings=after["used_phrasings"], fallback_said=after["said"]
    )
    return _take_turn(spec, conversation, rep_text, parsed, usage, fallback=True)


# --- state -----------------------------------------------------------------------------------


@dataclass
class _Conversation:
    """The engine's state, typed. The transcript itself is the runner's (``history``), not duplicated here."""

    seed: int
    frustration: int
    model: str = ""
    turn: int = 0
    end_reason: EndReason | None = None
    revealed: list[int] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_estimated: bool = False
    # Turns whose line came from the embedded customer because the model stayed out of character,
    # and what those lines used, so they don't repeat.
    fallbacks: int = 0
    fallback_phrasings: list[str] = field(default_factory=list)
    fallback_said: list[str] = field(default_factory=list)

    @property
    def next_seed(self) -> int:
        # One seed per turn: a retried turn asks for the same sampling, different turns differ.
        return self.seed + self.turn + 1

    def to_state(self) -> EngineState:
        return {
            "engine": ENGINE_NAME,
            "version": STATE_VERSION,
            "seed": self.seed,
            "model": self.model,
            "frustration": self.frustration,
            "turn": self.turn,
            "end_reason": self.end_reason,
            "ended": self.end_reason is not None,
            "revealed": list(self.revealed),
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "estimated": self.usage_estimated,
            },
            "fallbacks": self.fallbacks,
            "fallback_phrasings": list(self.fallback_phrasings),
            "fallback_said": list(self.fallback_said),
        }

    @classmethod
    def from_state(cls, state: EngineState) -> _Conversation:
        if not isinstance(state, dict) or state.get("engine") != ENGINE_NAME:
            raise EngineError("This state was not produced by the llm engine.")
        if state.get("version") != STATE_VERSION:
            raise EngineError(f"Unsupported llm engine state version: {state.get('version')!r}.")
        try:
            usage: dict[str, Any] = state.get("usage") or {}
            conversation = cls(
                seed=int(state["seed"]),
                frustration=int(state["frustration"]),
                model=str(state.get("model") or ""),
                turn=int(state["turn"]),
                end_reason=state["end_reason"],
                revealed=[int(index) for index in state["revealed"]],
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
                usage_estimated=bool(usage.get("estimated", False)),
                fallbacks=int(state.get("fallbacks", 0)),
                fallback_phrasings=[str(key) for key in state.get("fallback_phrasings", [])],
                fallback_said=[str(key) for key in state.get("fallback_said", [])],
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise EngineError(f"LLM engine state is damaged: {exc!r}") from exc
        if conversation.end_reason is not None:
            raise EngineError(f"The conversation already ended ({conversation.end_reason}).")
        return conversation


# --- one turn --------------------------------------------------------------------------------


def _messages(
    spec: ScenarioSpec,
    conversation: _Conversation,
    history: Sequence[Utterance],
    rep_text: str,
    *,
    reminder: bool = False,
) -> list[dict[str, str]]:
    prompt_state = PromptState(
        turn=conversation.turn, frustration=conversation.frustration, revealed=tuple(conversation.revealed)
    )
    return build_messages(spec, prompt_state, history, rep_text, reminder=reminder)


def _require_dialogue(raw: str) -> None:
    """Reject a reply that is only a side channel (or nothing): the rep needs words to react to."""
    if not parse_reply(raw).text:
        raise LLMBadResponse(CUSTOMER_BAD_RESPONSE_MESSAGE, detail="the reply had no dialogue")


def _take_turn(
    spec: ScenarioSpec,
    conversation: _Conversation,
    rep_text: str,
    parsed: ParsedReply,
    usage: LLMUsage,
    *,
    fallback: bool = False,
) -> tuple[CustomerTurn, EngineState]:
    """Apply the model's reply to a copy of the conversation; the state passed in is untouched."""
    turn_number = conversation.turn + 1
    revealed_now = _revealed(spec, conversation, parsed.text)
    cues = _cues(spec, rep_text, revealed_now)
    if parsed.frustration is not None:
        frustration = _bounded(spec, conversation.frustration, parsed.frustration)
    elif fallback:
        frustration = _estimated(spec, conversation.frustration, cues)
    else:
        logger.info("LLM customer reply had no readable side channel; estimating frustration")
        frustration = _estimated(spec, conversation.frustration, cues)
    end_reason = _end_reason(spec, frustration, parsed, turn_number)
    updated = _Conversation(
        seed=conversation.seed,
        frustration=frustration,
        model=conversation.model,
        turn=turn_number,
        end_reason=end_reason,
        revealed=[*conversation.revealed, *revealed_now],
        prompt_tokens=conversation.prompt_tokens + usage.prompt_tokens,
        completion_tokens=conversation.completion_tokens + usage.completion_tokens,
        usage_estimated=conversation.usage_estimated or usage.estimated,
        fallbacks=conversation.fallbacks + int(fallback),
        fallback_phrasings=conversation.fallback_phrasings,
        fallback_said=conversation.fallback_said,
    )
    turn = CustomerTurn(
        text=parsed.text,
        frustration=frustration,
        end_reason=end_reason,
        revealed=tuple(spec.persona.hidden_details[index].detail for index in revealed_now),
        cues=tuple(cues),
    )
    return turn, updated.to_state()


def _revealed(spec: ScenarioSpec, conversation: _Conversation, reply: str) -> list[int]:
    """Hidden details this reply disclosed: judged by what the customer said, since the rep asking
    the right thing doesn't guarantee the model answered it."""
    said = sig.content_stems(reply)
    revealed = []
    for index, hidden in enumerate(spec.persona.hidden_details):
        stems = sig.content_stems(hidden.detail)
        if index not in conversation.revealed and stems and len(stems & said) / len(stems) >= REVEAL_OVERLAP:
            revealed.append(index)
    return revealed


def _cues(spec: ScenarioSpec, rep_text: str, revealed_now: list[int]) -> list[str]:
    """What the rep did, as the same cue keys the embedded engine reports (for coaching UIs and estimates)."""
    signals = sig.analyze(rep_text or "")
    if signals.empty:
        return ["empty"]
    text = sig.normalize((rep_text or "")[: sig.ANALYSIS_MAX_CHARS]).lower()
    checks = (
        ("prompt_injection", signals.injection),
        ("acknowledged", signals.acknowledged),
        ("uncovered_detail", bool(revealed_now)),
        ("explained_reason", signals.explained_reason),
        ("policy_without_reason", signals.policy_without_reason),
        ("offered_option", signals.offered_option),
        ("next_step", signals.concrete_next_step),
        ("dismissive", signals.dismissive_phrase is not None),
        ("hedging", signals.hedge_phrase is not None),
        ("jargon", signals.jargon_term is not None),
        ("persona_calmed", sig.matches_any(text, spec.persona.calmed_by)),
        ("persona_inflamed", sig.matches_any(text, spec.persona.inflamed_by)),
        ("wall_of_text", signals.wall_of_text),
    )
    return [cue for cue, present in checks if present]


def _bounded(spec: ScenarioSpec, previous: int, reported: int) -> int:
    """The model's frustration, held to how far one reply may move it at this difficulty: that is
    what makes "hard" hard regardless of how generous the model feels."""
    calm_step, inflame_step = frustration_bounds(spec)
    lowest, highest = max(0, previous - calm_step), min(100, previous + inflame_step)
    return max(lowest, min(highest, reported))


def _estimated(spec: ScenarioSpec, previous: int, cues: list[str]) -> int:
    """Frustration when the model didn't report it: the previous value nudged by what the rep did."""
    calm_step, inflame_step = frustration_bounds(spec)
    profile = spec.difficulty_profile
    calm = sum(CALM_EFFECTS.get(cue, 0) for cue in cues) * profile.calm_multiplier
    inflame = sum(INFLAME_EFFECTS.get(cue, 0) for cue in cues) * profile.inflame_multiplier
    return max(0, min(100, round(previous + min(inflame, inflame_step) - min(calm, calm_step))))


def _end_reason(
    spec: ScenarioSpec, frustration: int, parsed: ParsedReply, turn_number: int
) -> EndReason | None:
    ends = spec.end_conditions
    # The threshold ends the call even if the model forgot to say so; the model may also end it
    # earlier (the customer agreed, or hung up on an abusive rep), which it is told how to judge.
    if frustration >= ends.escalate_frustration_at_least or parsed.end == "escalated":
        return "escalated"
    if parsed.end == "resolved":
        return "resolved"
    if turn_number >= ends.max_turns:
        return "timed_out"
    return None
