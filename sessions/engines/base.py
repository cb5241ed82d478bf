"""The customer-engine interface: what the role-play runner needs from any simulated customer.

Two engines implement it: ``embedded`` (offline, deterministic, the default) and ``llm``; both
are registered by name in ``sessions.engines.customer_engines``. The runner owns persistence: it stores the ``state`` dict an engine returns (it must be
JSON-serializable) and hands it back on the next turn, possibly in another process days later.
Engines never touch the database and never mutate the state they are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from coachhub.core.engines import EngineUnavailable
from scenarios.spec import ScenarioSpec

# Why a conversation ended. Engines produce the first three; the runner adds the rest
# ("rep_ended": the rep stopped, "time_limit": end_conditions.time_limit_minutes passed).
EndReason = Literal["resolved", "escalated", "timed_out", "rep_ended", "time_limit"]
ENGINE_END_REASONS: tuple[str, ...] = ("resolved", "escalated", "timed_out")

EngineState = dict[str, Any]


class EngineError(Exception):
    """The engine can't take this turn (ended conversation, state from another engine …)."""


__all__ = ["EngineUnavailable"]  # re-exported: the one shared by every engine registry


@dataclass(frozen=True)
class Utterance:
    """One line of the transcript as the runner stores it."""

    speaker: Literal["customer", "rep"]
    text: str


@dataclass(frozen=True)
class CustomerTurn:
    """What the customer says, and how the conversation stands after it.

    ``cues`` are stable machine keys (see ``CUE_LABELS``) for what the rep did that moved
    frustration this turn; ``revealed`` holds hidden details the customer disclosed this turn.
    """

    text: str
    frustration: int
    end_reason: EndReason | None = None
    revealed: tuple[str, ...] = ()
    cues: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "frustration": self.frustration,
            "end_reason": self.end_reason,
            "revealed": list(self.revealed),
            "cues": list(self.cues),
        }


# Plain-English labels for cue keys, for coaching UIs and transcripts.
CUE_LABELS: dict[str, str] = {
    "acknowledged": "acknowledged the customer's feelings",
    "paraphrased": "paraphrased what the customer said",
    "relevant_question": "asked a relevant question",
    "uncovered_detail": "asked the question that uncovered a hidden detail",
    "explained_reason": "explained with a reason",
    "offered_option": "offered an option",
    "next_step": "committed to a concrete next step with a time",
    "persona_calmed": "said something this customer responds well to",
    "dismissive": "was dismissive",
    "policy_without_reason": "cited policy without a reason",
    "jargon": "used unexplained jargon",
    "hedging": "hedged",
    "asked_again": "asked again for information already given",
    "stalled": "made no progress for too long",
    "persona_inflamed": "said something this customer reacts badly to",
    "off_topic": "went off topic",
    "prompt_injection": "tried to break the role-play",
    "empty": "sent an empty message",
    "wall_of_text": "sent a wall of text",
}


@runtime_checkable
class CustomerEngine(Protocol):
    """A simulated customer. ``name`` identifies the engine, ``model`` the exact version/model used.

    What the runner needs to know without asking for an engine by name:
    ``answers_inline``: it answers in-process and at once; the runner stores its reply in the same
    transaction as the rep's line instead of streaming it.
    ``streams``: it has ``astream_respond`` (``TextDelta`` events, then one ``StreamDone``), which
    the runner streams to the rep as it arrives; otherwise the runner calls ``respond``.
    ``token_estimate`` and ``tokens_used``: what a reply is reserved against the tenant's AI budget
    before the call, and what it used after (0 and 0 for an engine that calls no model).
    """

    name: str
    model: str
    answers_inline: bool
    streams: bool

    def start(self, spec: ScenarioSpec, *, seed: int) -> tuple[CustomerTurn, EngineState]:
        """The customer's opening line and the initial state."""
        ...

    def respond(
        self,
        spec: ScenarioSpec,
        state: EngineState,
        rep_text: str,
        *,
        history: Sequence[Utterance] = (),
    ) -> tuple[CustomerTurn, EngineState]:
        """The customer's reply to ``rep_text`` and the new state.

        ``history`` is every utterance before ``rep_text`` (opening line first). The embedded
        engine keeps what it needs in ``state``; an LLM engine will send ``history`` as context.
        Raises EngineError if the conversation already ended.
        """
        ...

    def token_estimate(self, spec: ScenarioSpec, texts: Sequence[str]) -> int:
        """Tokens to reserve for the next reply, given the transcript's texts so far."""
        ...

    def tokens_used(self, before: EngineState, after: EngineState) -> int:
        """Tokens the reply that turned state ``before`` into ``after`` used."""
        ...
