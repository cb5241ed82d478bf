"""The embedded customer: an offline, deterministic, seedable simulated customer.

It keeps a frustration level that moves with what the rep does (see ``signals``), scaled by the
scenario's difficulty; reveals hidden details when asked the right thing; answers questions from
the persona's facts; and ends "resolved", "escalated" or "timed_out". Replies are composed from
the scenario's own content plus pools of phrasings per mood, so the same seed replays the same
conversation exactly while different seeds word it differently. No network, no model, no DB.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from scenarios.spec import ScenarioSpec
from sessions.engines import signals as sig
from sessions.engines.base import CustomerTurn, EndReason, EngineError, EngineState, Utterance
from sessions.engines.phrases import (
    ANSWER_LINES,
    CALM_DOWN_REACTIONS,
    ENDING_LINES,
    FOLLOW_UPS,
    FRESH_TAGS,
    INTERJECTIONS,
    NOTHING_TO_DO_REACTIONS,
    REACTION_PRIORITY,
    REACTIONS,
    RESOLVED_WITH_TIME_LINES,
    REVEAL_LINES,
)

logger = logging.getLogger(__name__)

ENGINE_NAME = "embedded"
ENGINE_MODEL = "embedded-v2"
STATE_VERSION = 2

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
# Hidden details come out when the rep's question is about them: a question (not a statement, not
# the rep proposing something) naming one of the author's triggers, or, with the sentence encoder,
# a question this near a detail in meaning without any trigger word. Measured on the starter
# library: questions in other words about a detail 0.66-0.71; unrelated questions at most 0.51
# ("What's your order number?" against "what size did you order").
MEANING_ONLY_SIMILARITY = 0.55


class EmbeddedCustomerEngine:
    """The default customer engine. Stateless itself; all conversation state is in the dict."""

    name = ENGINE_NAME
    model = ENGINE_MODEL
    # Pure Python in microseconds: the runner stores the reply in the transaction that saves the rep's line.
    answers_inline = True
    streams = False

    def start(self, spec: ScenarioSpec, *, seed: int) -> tuple[CustomerTurn, EngineState]:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError("seed must be an int")
        conversation = _Conversation(
            seed=seed,
            frustration=spec.starting_frustration,
            shared_facts=_facts_said_in(spec, spec.opening_line),
            recent_customer_lines=[spec.opening_line],
            said=[_digest(spec.opening_line)],
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

    def token_estimate(self, spec: ScenarioSpec, texts: Sequence[str]) -> int:
        return 0  # no model call

    def tokens_used(self, before: EngineState, after: EngineState) -> int:
        return 0


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
    # Dialogue state: what the rep has offered and promised, which phrasings were already used
    # ("pool#index"), and a short hash of every reply, so no line comes twice in a session.
    offered: bool = False
    promised_time: str = ""
    used_phrasings: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)

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
            "offered": self.offered,
            "promised_time": self.promised_time,
            "used_phrasings": list(self.used_phrasings),
            "said": list(self.said),
        }

    @classmethod
    def from_state(cls, state: EngineState) -> _Conversation:
        if not isinstance(state, dict) or state.get("engine") != ENGINE_NAME:
            raise EngineError("This state was not produced by the embedded engine.")
        if state.get("version") not in (1, STATE_VERSION):
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
                # Version 1 (before dialogue state) resumes with nothing offered and nothing used.
                offered=bool(state.get("offered", False)),
                promised_time=str(state.get("promised_time", "")),
                used_phrasings=[str(key) for key in state.get("used_phrasings", [])],
                said=[str(digest) for digest in state.get("said", [])],
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
    specific: bool = False  # names things from this conversation, not stock words


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
    reading.specific = len(rep_stems & _scenario_vocabulary(spec)) >= 2

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
    """Hidden details the rep's message asks about: a question, not a passing mention of a word."""
    hidden = spec.persona.hidden_details
    pending = [index for index in range(len(hidden)) if index not in conversation.revealed]
    if not pending:
        return []
    questions = [sentence for sentence in sig.sentences(text) if sig.is_inquiry(sentence)]
    if not questions:
        return []
    similarity = _question_similarity(spec, questions, pending)
    revealed = []
    for index in pending:
        for row, question in enumerate(questions):
            if not sig.matches_any(question.lower(), hidden[index].revealed_when):
                continue
            # The author's trigger inside a real question is about it. Inside the rep proposing
            # something ("Can I call you today?") it's a passing mention, unless the proposal is
            # itself about the detail by meaning ("Should we skip Thursday's box?").
            if not sig.is_proposal(question) or (
                similarity is not None and similarity[row][index] >= MEANING_ONLY_SIMILARITY
            ):
                revealed.append(index)
                break
    if not revealed and similarity is not None:
        # Asked about it in other words: the single closest detail, if it is close enough.
        best = max(
            ((similarity[row][index], index) for row in range(len(questions)) for index in pending),
            default=(0.0, None),
        )
        if best[1] is not None and best[0] >= MEANING_ONLY_SIMILARITY:
            revealed.append(best[1])
    return revealed


def _question_similarity(
    spec: ScenarioSpec, questions: list[str], pending: list[int]
) -> dict[int, dict[int, float]] | None:
    """Cosine similarity of each question to each pending detail (its text or any of its triggers);
    None when the sentence encoder isn't installed, and the engine falls back to the word rule."""
    encode = _encoder()
    if encode is None:
        return None
    hidden = spec.persona.hidden_details
    topics: list[str] = []
    owners: list[int] = []
    for index in pending:
        for topic in (hidden[index].detail, *hidden[index].revealed_when):
            topics.append(topic)
            owners.append(index)
    vectors = encode([*questions, *topics])
    question_vectors, topic_vectors = vectors[: len(questions)], vectors[len(questions) :]
    scores = question_vectors @ topic_vectors.T
    result: dict[int, dict[int, float]] = {}
    for row in range(len(questions)):
        per_detail: dict[int, float] = {}
        for column, index in enumerate(owners):
            per_detail[index] = max(per_detail.get(index, -1.0), float(scores[row][column]))
        result[row] = per_detail
    return result


@functools.lru_cache(maxsize=1)
def _encoder():
    """The shared offline sentence encoder's ``encode``, or None where it isn't installed."""
    try:
        from coachhub.core import encoder

        encoder.encode(["ready"])
    except Exception as exc:  # missing package or model: the word rule still works
        logger.info("Embedded customer: sentence encoder unavailable (%s); matching questions by words", exc)
        return None
    return encoder.encode


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
    if reading.signals.offered_option:
        conversation.offered = True
    if reading.signals.concrete_next_step:
        conversation.next_step_agreed = True
        conversation.promised_time = reading.signals.time_phrase or conversation.promised_time
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

# Calming cues: when the customer voices one of these, the follow-up isn't the furthest-gone one.
_CALMING_REACTIONS = frozenset(CALM_EFFECTS)
_COOLER = {"furious": "angry", "angry": "annoyed"}
_LOWERCASE_STARTS = frozenset(
    "a an the my our it it's its this that these those there two three four five some someone somebody "
    "to just either both one more any full proper we they he she his her their".split()
)
_INTERJECTION = re.compile(
    r"^(?:" + "|".join(re.escape(word) for word in INTERJECTIONS) + r")\b[,.!]?\s*", re.IGNORECASE
)
_WANT_LEAD = re.compile(r"^(?:i (?:just |really )?(?:want|need|would like|'d like)|wants?|needs?)\s+", re.IGNORECASE)


def _mood(frustration: int) -> str:
    if frustration >= 80:
        return "furious"
    if frustration >= 56:
        return "angry"
    if frustration > 30:
        return "annoyed"
    return "calm"


def _digest(text: str) -> str:
    return hashlib.sha1(" ".join(text.lower().split()).encode()).hexdigest()[:10]


def _lowercase_start(text: str) -> str:
    """'My order number is …' → 'my order number is …' for mid-sentence use; names keep capitals."""
    first = text.split(" ", 1)[0]
    if first.lower().rstrip(",") in _LOWERCASE_STARTS:
        return text[:1].lower() + text[1:]
    return text


def spoken_wants(wants: str) -> str:
    """The persona's want as the customer would say it after "I want …": no capital, no full stop,
    no repeated "I want"."""
    text = " ".join(wants.split()).rstrip(".!;: ")
    text = _WANT_LEAD.sub("", text)
    return _lowercase_start(text)


def _phrasing_keys(template: str) -> list[str]:
    """What a phrasing uses up: itself and each of its sentences longer than a tag ("Okay."), so
    "I'll believe it when I see it." can't come back inside another variant."""
    keys = [_digest(template)]
    for sentence in re.findall(r"[^.!?]+[.!?]*", template):
        if len(sentence.split()) > 2 and "{" not in sentence:
            keys.append(_digest(sentence))
    return keys


class _Phrasings:
    """Draws phrasings for one reply, never one this session already used (recorded by hash in the
    state), chosen by the turn's seeded random generator so replays are identical. The rep's words
    ({time}, {term} …) are filled in here, so two templates that come out the same count as one."""

    def __init__(self, conversation: _Conversation, rng: random.Random, values: dict[str, str]) -> None:
        self.used = conversation.used_phrasings
        self.rng = rng
        self.values = values

    def _fill(self, template: str) -> str:
        for placeholder, value in self.values.items():
            template = template.replace(placeholder, value)
        return template

    def pick(self, pool: Sequence[str], *, allow=lambda template: True) -> str | None:
        fresh = [
            line
            for line in (self._fill(t) for t in pool if allow(t))
            if not any(key in self.used for key in _phrasing_keys(line))
        ]
        if not fresh:
            return None
        choice = self.rng.choice(fresh)
        self.used.extend(_phrasing_keys(choice))
        return choice

    def pick_any(self, pool: Sequence[str]) -> str:
        return self.pick(pool) or self._fill(self.rng.choice(list(pool)))


def _compose_distinct(
    spec: ScenarioSpec, conversation: _Conversation, reading: _Reading, rng: random.Random
) -> str:
    """Compose a reply the customer hasn't said yet this session: a customer repeating a line word
    for word reads like a broken bot, not an annoyed person."""
    phrasings = _Phrasings(conversation, rng, _fill_values(spec, conversation, reading))
    for _ in range(4):
        text = _compose(spec, conversation, reading, phrasings)
        if _digest(text) not in conversation.said:
            break
    else:
        for tag in rng.sample(FRESH_TAGS, len(FRESH_TAGS)):
            if _digest(f"{text} {tag}") not in conversation.said:
                text = f"{text} {tag}"
                break
    conversation.said.append(_digest(text))
    return text


def _compose(spec: ScenarioSpec, conversation: _Conversation, reading: _Reading, phrasings: _Phrasings) -> str:
    mood = _mood(conversation.frustration)
    hot = mood in ("angry", "furious")
    if conversation.end_reason == "resolved" and reading.signals.concrete_next_step:
        # The closing line echoes the agreed time itself; a separate reaction would thank twice.
        return _render([phrasings.pick_any(RESOLVED_WITH_TIME_LINES)])
    parts: list[str] = []
    reaction_cue, reaction = _reaction(conversation, reading, hot, phrasings)
    if reaction:
        parts.append(reaction)
    if conversation.end_reason is not None:
        parts.append(phrasings.pick_any(ENDING_LINES[conversation.end_reason]))
        return _render(parts)
    for index in reading.revealed:
        detail = " ".join(spec.persona.hidden_details[index].detail.split())
        template = phrasings.pick_any(REVEAL_LINES[0 if hot else 1])
        parts.append(template.replace("{detail_lc}", _lowercase_start(detail)).replace("{detail}", detail))
    if reading.answer_kind and reading.answered_fact is not None:
        fact = spec.persona.facts[reading.answered_fact]
        template = phrasings.pick_any(ANSWER_LINES[reading.answer_kind][0 if hot else 1])
        parts.append(template.replace("{fact_lc}", _lowercase_start(fact)).replace("{fact}", fact))
    if len(parts) < 2:
        # After a calming move the follow-up is a step cooler: "Thank you for saying that. I'm
        # this close to taking my business elsewhere." contradicts itself.
        follow_mood = _COOLER.get(mood, mood) if reaction_cue in _CALMING_REACTIONS else mood
        follow_up = _follow_up(conversation, follow_mood, phrasings)
        if follow_up:
            parts.append(follow_up)
    if not parts:  # every phrasing used up (a very long session): restate the want plainly
        parts.append(phrasings.pick_any(FOLLOW_UPS["ask"][mood]))
    return _render(parts)


def _follow_up(conversation: _Conversation, mood: str, phrasings: _Phrasings) -> str | None:
    """Follow up on what is still open: the want (nothing offered), the when (offered, no time), or
    whether the promise will hold (a time was given). Neighbouring moods lend lines when one runs dry."""
    stage = "waiting" if conversation.next_step_agreed else "when" if conversation.offered else "ask"
    moods = ("furious", "angry", "annoyed", "calm")
    order = sorted(moods, key=lambda other: abs(moods.index(other) - moods.index(mood)))
    wants_said = sum(1 for key in conversation.used_phrasings if key == "wants")

    def allow(template: str) -> bool:
        if "{time}" in template and not conversation.promised_time:
            return False
        # Restating the whole want twice is natural; a third time reads like a loop.
        return "{wants}" not in template or wants_said < 2

    for other in order:
        line = phrasings.pick(FOLLOW_UPS[stage][other], allow=allow)
        if line:
            if phrasings.values["{wants}"] in line:
                conversation.used_phrasings.append("wants")
            return line
    return None


def _reaction(
    conversation: _Conversation, reading: _Reading, hot: bool, phrasings: _Phrasings
) -> tuple[str | None, str | None]:
    cue = next((cue for cue in REACTION_PRIORITY if cue in reading.cues), None)
    if cue is None:
        return None, None
    dismissive = (reading.signals.dismissive_phrase or "").lower()
    if cue == "dismissive" and dismissive in ("calm down", "relax", "chill", "chill out"):
        return cue, phrasings.pick(CALM_DOWN_REACTIONS) or phrasings.pick(REACTIONS[cue][0 if hot else 1])
    if cue == "dismissive" and "nothing" in dismissive:
        return cue, phrasings.pick(NOTHING_TO_DO_REACTIONS) or phrasings.pick(REACTIONS[cue][0 if hot else 1])
    key = cue
    if cue == "acknowledged":
        # Proportionate: the first apology, or one that names what happened, is taken as meant; the
        # same stock sorry again gets "I need it sorted".
        uses = conversation.cue_uses.get("acknowledged", 0)
        if not (uses <= 1 or (reading.specific and uses <= 2)):
            key = "acknowledged_hollow"
    return cue, phrasings.pick(REACTIONS[key][0 if hot else 1])


def _fill_values(spec: ScenarioSpec, conversation: _Conversation, reading: _Reading) -> dict[str, str]:
    signals = reading.signals
    time_phrase = signals.time_phrase or conversation.promised_time or ""
    return {
        "{wants}": spoken_wants(spec.persona.wants),
        "{phrase}": (signals.dismissive_phrase or "").lower(),
        "{hedge}": (signals.hedge_phrase or "").capitalize(),
        "{term}": signals.jargon_term or "",
        "{time}": time_phrase,
        "{Time}": time_phrase[:1].upper() + time_phrase[1:],
    }


def _render(parts: list[str]) -> str:
    """Join a reply's parts (placeholders already filled by plain replace, not str.format: scenario
    text may legitimately contain braces)."""
    rendered: list[str] = []
    interjected = False
    for part in parts:
        match = _INTERJECTION.match(part)
        if match and interjected and match.end() < len(part):
            # "Okay, that makes sense. Okay. My order …" → drop the second "Okay".
            rest = part[match.end() :]
            part = rest[:1].upper() + rest[1:]
        elif match:
            interjected = True
        rendered.append(part)
    text = " ".join(rendered)
    # A line may open on a quoted rep phrase ("'calm down'? Really?"): speech starts with a capital.
    lead = len(text) - len(text.lstrip("'\""))
    return text[:lead] + text[lead : lead + 1].upper() + text[lead + 1 :]
