"""The embedded customer: an offline, deterministic, seedable simulated customer.

It keeps a frustration level that moves with what the rep does (see ``signals``), scaled by the
scenario's difficulty; reveals hidden details when asked the right thing; answers questions from
the persona's facts; and ends "resolved", "escalated" or "timed_out". Replies are composed from
the scenario's own content plus pools of phrasings per mood, so the same seed replays the same
conversation exactly while different seeds word it differently. No network, no model, no DB.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scenarios.spec import ScenarioSpec
from sessions.engines import signals as sig
from sessions.engines.base import CustomerTurn, EndReason, EngineError, EngineState, Utterance
from sessions.engines.phrases import (
    ANSWER_LINES,
    CALM_DOWN_REACTIONS,
    ENDING_LINES,
    NO_REPEAT_PREFIXES,
    NOTHING_TO_DO_REACTIONS,
    PUSH_LINES,
    REACTION_PRIORITY,
    REACTIONS,
    RESOLVED_WITH_TIME_LINES,
    REVEAL_LINES,
)

ENGINE_NAME = "embedded"
ENGINE_MODEL = "embedded-v1"
STATE_VERSION = 1

# Base size of each effect on frustration (0-100), before the difficulty multipliers.
# Calming effects shrink each time the rep reuses the same move: the fifth "I'm sorry"
# is worth much less than the first, as with a real customer.
CALM_EFFECTS: dict[str, int] = {
    "next_step": 12,
    "explained_reason": 8,
    "offered_option": 8,
    "acknowledged": 8,
    "paraphrased": 7,
    "persona_calmed": 6,
    "uncovered_detail": 5,
    "relevant_question": 4,
}
INFLAME_EFFECTS: dict[str, int] = {
    "dismissive": 18,
    "asked_again": 10,
    "policy_without_reason": 10,
    "persona_inflamed": 8,
    "stalled": 8,
    "jargon": 7,
    "hedging": 6,
    "prompt_injection": 6,
    "empty": 6,
    "off_topic": 5,
    "wall_of_text": 5,
}
# One message can't swing a conversation on its own; rapport is built over turns.
MAX_CALM_PER_TURN = 25
MAX_INFLAME_PER_TURN = 30
# Moves that count as progress even when repeated; other calming moves only count the first time.
SUBSTANTIVE_CUES = frozenset(
    {
        "paraphrased",
        "relevant_question",
        "uncovered_detail",
        "explained_reason",
        "offered_option",
        "next_step",
    }
)
RECENT_CUSTOMER_LINES = 3
# Share of a fact's words the rep must repeat for a question to be a confirmation ("So you tried
# another cable?") rather than asking again; facts with numbers need the numbers instead.
CONFIRMATION_OVERLAP = 0.6
# Share of a fact's words already said in the opening line for it to count as already given.
SHARED_IN_OPENING_OVERLAP = 0.6


class EmbeddedCustomerEngine:
    """The default customer engine. Stateless itself; all conversation state is in the dict."""

    name = ENGINE_NAME
    model = ENGINE_MODEL
    # Pure Python in microseconds: the runner stores the reply in the transaction that saves the rep's line.
    answers_inline = True

    def start(self, spec: ScenarioSpec, *, seed: int) -> tuple[CustomerTurn, EngineState]:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError("seed must be an int")
        conversation = _Conversation(
            seed=seed,
            frustration=spec.starting_frustration,
            shared_facts=_facts_said_in(spec, spec.opening_line),
            recent_customer_lines=[spec.opening_line],
        )
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
        # history is part of the interface for context-hungry engines; everything this
        # engine needs is already in state, which keeps a turn O(1) in conversation length.
        conversation = _Conversation.from_state(state)
        if conversation.end_reason is not None:
            raise EngineError(f"The conversation already ended ({conversation.end_reason}).")
        conversation.turn += 1
        rng = random.Random(f"{conversation.seed}:{conversation.turn}")
        reading = _read_rep_turn(spec, conversation, rep_text or "")
        _apply(spec, conversation, reading)
        text = _compose_distinct(spec, conversation, reading, rng)
        conversation.last_reply = text
        conversation.recent_customer_lines = [*conversation.recent_customer_lines, text][
            -RECENT_CUSTOMER_LINES:
        ]
        turn = CustomerTurn(
            text=text,
            frustration=conversation.frustration,
            end_reason=conversation.end_reason,
            revealed=tuple(spec.persona.hidden_details[i].detail for i in reading.revealed),
            cues=tuple(reading.cues),
        )
        return turn, conversation.to_state()


# --- state -----------------------------------------------------------------------------------


@dataclass
class _Conversation:
    """The engine's state, typed. Serialized to a plain dict for the runner to persist."""

    seed: int
    frustration: int
    turn: int = 0
    stalled_turns: int = 0
    next_step_agreed: bool = False
    end_reason: EndReason | None = None
    cue_uses: dict[str, int] = field(default_factory=dict)
    revealed: list[int] = field(default_factory=list)
    shared_facts: list[int] = field(default_factory=list)
    recent_customer_lines: list[str] = field(default_factory=list)
    last_reply: str = ""

    def to_state(self) -> EngineState:
        return {
            "engine": ENGINE_NAME,
            "version": STATE_VERSION,
            "seed": self.seed,
            "frustration": self.frustration,
            "turn": self.turn,
            "stalled_turns": self.stalled_turns,
            "next_step_agreed": self.next_step_agreed,
            "end_reason": self.end_reason,
            "cue_uses": dict(self.cue_uses),
            "revealed": list(self.revealed),
            "shared_facts": list(self.shared_facts),
            "recent_customer_lines": list(self.recent_customer_lines),
            "last_reply": self.last_reply,
        }

    @classmethod
    def from_state(cls, state: EngineState) -> _Conversation:
        if not isinstance(state, dict) or state.get("engine") != ENGINE_NAME:
            raise EngineError("This state was not produced by the embedded engine.")
        if state.get("version") != STATE_VERSION:
            raise EngineError(f"Unsupported embedded engine state version: {state.get('version')!r}.")
        try:
            return cls(
                seed=int(state["seed"]),
                frustration=int(state["frustration"]),
                turn=int(state["turn"]),
                stalled_turns=int(state["stalled_turns"]),
                next_step_agreed=bool(state["next_step_agreed"]),
                end_reason=state["end_reason"],
                cue_uses={str(k): int(v) for k, v in state["cue_uses"].items()},
                revealed=[int(i) for i in state["revealed"]],
                shared_facts=[int(i) for i in state["shared_facts"]],
                recent_customer_lines=[str(line) for line in state["recent_customer_lines"]],
                last_reply=str(state["last_reply"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise EngineError(f"Embedded engine state is damaged: {exc!r}") from exc


# --- reading the rep -------------------------------------------------------------------------


@dataclass
class _Reading:
    """What the rep's turn did, in this conversation."""

    signals: sig.RepSignals
    cues: list[str] = field(default_factory=list)
    revealed: list[int] = field(default_factory=list)
    answered_fact: int | None = None
    answer_kind: str | None = None  # "new", "confirm", "again"


@functools.lru_cache(maxsize=64)
def _scenario_vocabulary(spec: ScenarioSpec) -> frozenset[str]:
    """Words that make a rep's message on-topic for this scenario."""
    persona = spec.persona
    texts = [
        spec.title,
        spec.summary,
        spec.opening_line,
        persona.situation,
        persona.wants,
        *persona.facts,
        *persona.calmed_by,
        *persona.inflamed_by,
        *spec.policies,
        *spec.success_criteria,
    ]
    for hidden in persona.hidden_details:
        texts.append(hidden.detail)
        texts.extend(hidden.revealed_when)
    return sig.union_stems(texts)


@functools.lru_cache(maxsize=64)
def _fact_stems(spec: ScenarioSpec) -> tuple[frozenset[str], ...]:
    return tuple(sig.content_stems(fact) for fact in spec.persona.facts)


def _facts_said_in(spec: ScenarioSpec, line: str) -> list[int]:
    said = sig.content_stems(line)
    return [
        index
        for index, stems in enumerate(_fact_stems(spec))
        if stems and len(stems & said) / len(stems) >= SHARED_IN_OPENING_OVERLAP
    ]


def _read_rep_turn(spec: ScenarioSpec, conversation: _Conversation, rep_text: str) -> _Reading:
    signals = sig.analyze(rep_text)
    reading = _Reading(signals=signals)
    if signals.empty:
        reading.cues.append("empty")
        return reading
    text = sig.normalize(rep_text[: sig.ANALYSIS_MAX_CHARS]).lower()
    rep_stems = sig.content_stems(text)
    on_topic = bool(rep_stems & _scenario_vocabulary(spec)) or signals.discovery_question

    cues = reading.cues
    if signals.injection:
        cues.append("prompt_injection")
    if signals.acknowledged:
        cues.append("acknowledged")
    if _paraphrased(conversation, signals, rep_stems):
        cues.append("paraphrased")
    reading.revealed = _newly_revealed(spec, conversation, text)
    if reading.revealed:
        cues.append("uncovered_detail")
    elif signals.asked_question:
        # A question that uncovered a hidden detail is answered by it; otherwise use the facts.
        _answer_question(spec, conversation, reading, rep_stems, on_topic)
    if signals.explained_reason:
        cues.append("explained_reason")
    if signals.policy_without_reason:
        cues.append("policy_without_reason")
    if signals.offered_option:
        cues.append("offered_option")
    if signals.concrete_next_step:
        cues.append("next_step")
    if signals.dismissive_phrase:
        cues.append("dismissive")
    if signals.hedge_phrase:
        cues.append("hedging")
    if signals.jargon_term:
        cues.append("jargon")
    if sig.matches_any(text, spec.persona.calmed_by):
        cues.append("persona_calmed")
    if sig.matches_any(text, spec.persona.inflamed_by):
        cues.append("persona_inflamed")
    if signals.wall_of_text:
        cues.append("wall_of_text")
    if not cues and not on_topic:
        cues.append("off_topic")
    return reading


def _paraphrased(conversation: _Conversation, signals: sig.RepSignals, rep_stems: frozenset[str]) -> bool:
    overlap = rep_stems & sig.union_stems(conversation.recent_customer_lines)
    return len(overlap) >= 3 or (signals.paraphrase_lead and len(overlap) >= 2)


def _answer_question(
    spec: ScenarioSpec,
    conversation: _Conversation,
    reading: _Reading,
    rep_stems: frozenset[str],
    on_topic: bool,
) -> None:
    best_index, best_overlap = None, 0
    for index, stems in enumerate(_fact_stems(spec)):
        overlap = len(stems & rep_stems)
        # One shared word ("suit") is not a question about a long fact; a short fact
        # ("My postcode is 40231.") is answered on its one key word.
        if overlap > best_overlap and (overlap >= 2 or overlap / len(stems) >= 0.5):
            best_index, best_overlap = index, overlap
    if best_index is None:
        if on_topic:
            reading.cues.append("relevant_question")
        return
    reading.answered_fact = best_index
    fact_stems = _fact_stems(spec)[best_index]
    if best_index not in conversation.shared_facts:
        reading.answer_kind = "new"
        reading.cues.append("relevant_question")
    elif "paraphrased" in reading.cues:
        # "So the suit arrived in the wrong size?" checks understanding; the reaction answers it.
        reading.answered_fact = None
    elif _restates(fact_stems, rep_stems):
        # Reading back what the customer said to confirm it is good listening.
        reading.answer_kind = "confirm"
        reading.cues.append("relevant_question")
    else:
        reading.answer_kind = "again"
        reading.cues.append("asked_again")


def _restates(fact_stems: frozenset[str], rep_stems: frozenset[str]) -> bool:
    """Does the rep say the fact back? Numbers (order ids, amounts) must be there if the fact has any."""
    identifiers = {stem for stem in fact_stems if any(ch.isdigit() for ch in stem)}
    if identifiers:
        return identifiers <= rep_stems
    return len(fact_stems & rep_stems) / len(fact_stems) >= CONFIRMATION_OVERLAP


def _newly_revealed(spec: ScenarioSpec, conversation: _Conversation, text: str) -> list[int]:
    return [
        index
        for index, hidden in enumerate(spec.persona.hidden_details)
        if index not in conversation.revealed and sig.matches_any(text, hidden.revealed_when)
    ]


# --- updating the customer -------------------------------------------------------------------


def _apply(spec: ScenarioSpec, conversation: _Conversation, reading: _Reading) -> None:
    profile = spec.difficulty_profile
    made_progress = any(
        cue in SUBSTANTIVE_CUES or (cue in CALM_EFFECTS and not conversation.cue_uses.get(cue))
        for cue in reading.cues
    )
    conversation.stalled_turns = 0 if made_progress else conversation.stalled_turns + 1
    if conversation.stalled_turns >= profile.patience:
        reading.cues.append("stalled")

    calm = sum(
        CALM_EFFECTS[cue] / (1 + conversation.cue_uses.get(cue, 0))
        for cue in reading.cues
        if cue in CALM_EFFECTS
    )
    inflame = sum(INFLAME_EFFECTS.get(cue, 0) for cue in reading.cues)
    delta = min(inflame * profile.inflame_multiplier, MAX_INFLAME_PER_TURN) - min(
        calm * profile.calm_multiplier, MAX_CALM_PER_TURN
    )
    conversation.frustration = max(0, min(100, round(conversation.frustration + delta)))

    for cue in reading.cues:
        conversation.cue_uses[cue] = conversation.cue_uses.get(cue, 0) + 1
    conversation.revealed.extend(reading.revealed)
    if reading.answer_kind == "new" and reading.answered_fact is not None:
        conversation.shared_facts.append(reading.answered_fact)
    if reading.signals.concrete_next_step:
        conversation.next_step_agreed = True
    conversation.end_reason = _end_reason(spec, conversation)


def _end_reason(spec: ScenarioSpec, conversation: _Conversation) -> EndReason | None:
    ends = spec.end_conditions
    if conversation.frustration >= ends.escalate_frustration_at_least:
        return "escalated"
    if conversation.frustration <= ends.resolve_frustration_at_most and conversation.next_step_agreed:
        return "resolved"
    if conversation.turn >= ends.max_turns:
        return "timed_out"
    return None


# --- composing the reply ---------------------------------------------------------------------


def _mood(frustration: int) -> str:
    if frustration >= 80:
        return "furious"
    if frustration >= 56:
        return "angry"
    if frustration > 30:
        return "annoyed"
    return "calm"


def _compose_distinct(
    spec: ScenarioSpec, conversation: _Conversation, reading: _Reading, rng: random.Random
) -> str:
    """Compose a reply that differs from the previous one: a customer repeating themselves word
    for word reads like a broken bot, not an annoyed person."""
    text = _compose(spec, conversation, reading, rng)
    for _ in range(5):
        if text != conversation.last_reply:
            return text
        text = _compose(spec, conversation, reading, rng)
    for prefix in rng.sample(NO_REPEAT_PREFIXES, len(NO_REPEAT_PREFIXES)):
        if prefix + text != conversation.last_reply:
            return prefix + text
    return text + " Well?"


def _compose(spec: ScenarioSpec, conversation: _Conversation, reading: _Reading, rng: random.Random) -> str:
    mood = _mood(conversation.frustration)
    hot = mood in ("angry", "furious")
    values = _fill_values(spec, reading)
    parts: list[str] = []
    if conversation.end_reason == "resolved" and reading.signals.concrete_next_step:
        # The closing line echoes the agreed time itself; a separate reaction would thank twice.
        return _render([rng.choice(RESOLVED_WITH_TIME_LINES)], values)
    reaction = _reaction(reading, hot, rng)
    if reaction:
        parts.append(reaction)
    if conversation.end_reason is not None:
        parts.append(rng.choice(ENDING_LINES[conversation.end_reason]))
        return _render(parts, values)
    for index in reading.revealed:
        parts.append(rng.choice(REVEAL_LINES).replace("{detail}", spec.persona.hidden_details[index].detail))
    if reading.answer_kind and reading.answered_fact is not None:
        answer = rng.choice(ANSWER_LINES[reading.answer_kind][0 if hot else 1])
        parts.append(answer.replace("{fact}", spec.persona.facts[reading.answered_fact]))
    if len(parts) < 2:
        waiting = conversation.next_step_agreed and mood in ("calm", "annoyed")
        push_key = "calm_waiting" if waiting else mood
        parts.append(rng.choice(PUSH_LINES[push_key]))
    return _render(parts, values)


def _reaction(reading: _Reading, hot: bool, rng: random.Random) -> str | None:
    cue = next((cue for cue in REACTION_PRIORITY if cue in reading.cues), None)
    if cue is None:
        return None
    dismissive = (reading.signals.dismissive_phrase or "").lower()
    if cue == "dismissive" and dismissive in ("calm down", "relax", "chill", "chill out"):
        return rng.choice(CALM_DOWN_REACTIONS)
    if cue == "dismissive" and "nothing" in dismissive:
        return rng.choice(NOTHING_TO_DO_REACTIONS)
    return rng.choice(REACTIONS[cue][0 if hot else 1])


def _fill_values(spec: ScenarioSpec, reading: _Reading) -> dict[str, str]:
    signals = reading.signals
    return {
        "{wants}": spec.persona.wants,
        "{phrase}": (signals.dismissive_phrase or "").lower(),
        "{hedge}": (signals.hedge_phrase or "").capitalize(),
        "{term}": signals.jargon_term or "",
        "{time}": signals.time_phrase or "",
        "{Time}": (signals.time_phrase or "")[:1].upper() + (signals.time_phrase or "")[1:],
    }


def _render(parts: list[str], values: dict[str, Any]) -> str:
    # Plain replace rather than str.format: scenario text may legitimately contain braces.
    text = " ".join(parts)
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text
