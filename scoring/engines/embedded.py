"""The embedded behavior scorer: offline and deterministic, with learned sentence signals.

It reads the rep's turns sentence by sentence (see `signals`: MiniLM embeddings against written
prototypes, with rules as features and guards), checks the scenario's policies (see `policies`),
turns the signals into six behavior scores with verbatim evidence, and picks one focus behavior
with a rewrite of one of the rep's own lines.

A behavior the moment called for but the rep never showed scores low, with a rationale naming
what was missing; "not observed" is kept for behaviors the conversation gave no opening for (see
`OPPORTUNITY`). Nonsense, off-topic and empty lines earn nothing, and anything flagged as an
injection attempt is never positive evidence: it only costs clarity and confidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from statistics import mean

from scoring.engines.base import (
    BehaviorScore,
    Delivery,
    Evidence,
    Focus,
    PolicyVerdict,
    ScoreResult,
    TurnSignals,
    weighted_overall,
)
from scoring.engines.learned import MODEL_VERSION, REFLECTION_PHRASE
from scoring.engines.policies import PolicyFinding, evaluate_policies, line_violations
from scoring.engines.signals import (
    SIGNAL_NAMES,
    RepTurnInput,
    SentenceSignals,
    TurnAnalysis,
    analyze_rep_turns,
    content_stems,
    customer_escalated,
    customer_feeling,
    split_sentences,
)
from scoring.transcript import DEFAULT_BEHAVIORS, Transcript

MAX_EVIDENCE = 3
# Past this a turn stops being an answer and becomes a speech the customer has to wade through.
LONG_TURN_WORDS = 45
VERY_LONG_TURN_WORDS = 70
SLOW_LATENCY_MS = 6000
# A reflection sharing one content word with the customer counts only if it is close in meaning
# too and about the customer ("you"), not a generality ("lots of people regret cancelling").
PLAYBACK_SIMILARITY = 0.4
NOTHING_SAID = "No line of the rep's addressed the customer: nonsense, off-topic or empty lines earn nothing."


@dataclass(frozen=True, slots=True)
class Conversation:
    """Everything the behavior scorers need, computed once per transcript."""

    transcript: Transcript
    rep_turns: list[TurnAnalysis]
    pressure_turns: set[int]
    findings: list[PolicyFinding]
    customer_felt: bool = False
    # Commitments (an action or a step) the scenario's policies rule out: no credit anywhere.
    ruled_out: tuple[tuple[int, SentenceSignals], ...] = ()

    def rules_out(self, sentence: SentenceSignals) -> bool:
        return any(sentence is bad for _, bad in self.ruled_out)

    @property
    def nothing_said(self) -> bool:
        """The rep spoke, but not one line addressed the customer (nonsense, off topic, empty)."""
        return bool(self.rep_turns) and not self.clean_turns()

    @property
    def off_topic_turns(self) -> int:
        return sum(1 for turn in self.rep_turns if turn.off_topic and not turn.injection)

    @property
    def injection_turns(self) -> int:
        return sum(1 for turn in self.rep_turns if turn.injection)

    def clean_sentences(self) -> list[tuple[int, SentenceSignals]]:
        return [(turn.index, s) for turn in self.rep_turns for s in turn.clean()]

    def clean_turns(self) -> list[TurnAnalysis]:
        return [turn for turn in self.rep_turns if turn.clean()]

    def turns_with(
        self, signal: str, keep: Callable[[int, SentenceSignals], bool] | None = None
    ) -> list[tuple[int, SentenceSignals]]:
        """The first clean sentence carrying `signal` (and passing `keep`) in each rep turn that has one."""
        hits: list[tuple[int, SentenceSignals]] = []
        for turn in self.rep_turns:
            first = next(
                (s for s in turn.clean() if signal in s.found and (keep is None or keep(turn.index, s))),
                None,
            )
            if first is not None:
                hits.append((turn.index, first))
        return hits


def _evidence(items: Sequence[tuple[int, SentenceSignals]]) -> tuple[Evidence, ...]:
    unique: list[Evidence] = []
    for turn, sentence in items:
        item = Evidence(turn=turn, quote=sentence.sentence.text)
        if item not in unique:
            unique.append(item)
    return tuple(unique[:MAX_EVIDENCE])


def _confidence(evidence_count: int) -> float:
    return min(0.95, 0.3 + 0.15 * evidence_count)


def _clamp(value: float) -> int:
    return max(0, min(100, round(value)))


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {plural or word + 's'}"


def _short(text: str, limit: int = 60) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "\u2026"


# --- behaviors ------------------------------------------------------------------------------------


def _plays_back(conv: Conversation, turn: int, sentence: SentenceSignals) -> bool:
    """A reflection earns listening credit when it carries the customer's own content."""
    if sentence.echoes:
        return True  # their own name, place, code or amount, said back to them
    before = " ".join(t.text for t in conv.transcript.turns[:turn] if not t.is_rep)
    shared = content_stems(sentence.sentence.text) & content_stems(before)
    return (
        len(shared) >= 2
        or (
            shared
            and sentence.context_similarity >= PLAYBACK_SIMILARITY
            and re.search(r"\byou(?:r|'re|'ve|'d)?\b", sentence.sentence.text, re.I)
        )
        or bool(REFLECTION_PHRASE.search(sentence.sentence.text))
    )


def score_active_listening(conv: Conversation) -> BehaviorScore:
    # Per turn, the first reflection that carries the customer's own content ("Got it." alone doesn't).
    reflections = conv.turns_with("reflection", keep=lambda t, s: _plays_back(conv, t, s))
    clarifying = [(t, s) for t, s in conv.clean_sentences() if s.clarifying]
    reasks = [(t, s) for t, s in conv.clean_sentences() if s.reask]
    if not (reflections or clarifying):
        # Every service conversation opens with the customer's problem: listening always had a chance.
        missing = "Never played back what the customer said or asked about their situation"
        if reasks:
            missing += f", and re-asked for information already given {_plural(len(reasks), 'time')}"
        return BehaviorScore(_clamp(15 - 10 * len(reasks)), missing + ".", 0.6, _evidence(reasks))
    open_ones = sum(1 for _, s in clarifying if s.open_question)
    # An open question ("what happened when…") lets the customer tell it their way: a little more.
    score = (
        40
        + 15 * min(len(reflections), 3)
        + 8 * min(len(clarifying), 2)
        + 6 * bool(open_ones)
        - 20 * len(reasks)
    )
    kinds = f" ({open_ones} open, {len(clarifying) - open_ones} closed)" if clarifying else ""
    rationale = (
        f"Reflected the customer's words in {_plural(len(reflections), 'turn')}, asked "
        f"{_plural(len(clarifying), 'clarifying question')}{kinds} and re-asked for information already "
        f"given {_plural(len(reasks), 'time')}."
    )
    evidence = _evidence(reasks + reflections + clarifying)
    return BehaviorScore(_clamp(score), rationale, _confidence(len(evidence)), evidence)


def score_empathy(conv: Conversation) -> BehaviorScore:
    empathic = conv.turns_with("empathy")
    sentences = conv.clean_sentences()
    apologies = sum(s.apologies for _, s in sentences)
    dismissive = [(t, s) for t, s in sentences if s.dismissive]
    empathic_turns = {t for t, _ in empathic}
    reflexive = [(t, s) for t, s in sentences if s.apologies and t not in empathic_turns]
    if not (empathic or apologies or dismissive):
        if not conv.customer_felt:
            return BehaviorScore.not_observed()
        return BehaviorScore(10, "The customer voiced how they felt and it was never acknowledged.", 0.6)
    over_apology = max(0, apologies - 2)
    score = 35 + 20 * min(len(empathic), 3) - 12 * over_apology - 5 * len(reflexive) - 20 * len(dismissive)
    if empathic and 1 <= apologies <= 2:
        score += 5  # one sincere apology alongside real acknowledgement is what customers expect
    parts = [f"Acknowledged the customer's feelings in {_plural(len(empathic), 'turn')}"]
    if apologies:
        parts.append(f"apologized {_plural(apologies, 'time')}" + (" (too often)" if over_apology else ""))
    if dismissive:
        parts.append(f"was dismissive {_plural(len(dismissive), 'time')}")
    evidence = _evidence(dismissive + empathic + reflexive)
    return BehaviorScore(_clamp(score), ", ".join(parts) + ".", _confidence(len(evidence)), evidence)


def _turn_clarity(turn: TurnAnalysis, conv: Conversation) -> float:
    clean = turn.clean()
    words = sum(len(s.sentence.text.split()) for s in clean)
    score = 70.0
    # A specific the policies rule out ("noon tomorrow, guaranteed") is not a clear answer.
    if any(s.specific and not conv.rules_out(s) for s in clean):
        score += 10
    score -= 15 * sum(len(s.jargon_terms) for s in clean)
    score -= 5 * sum(s.hedges for s in clean)
    score -= 10 * sum(1 for s in clean if s.vague_handoff)
    if words > VERY_LONG_TURN_WORDS:
        score -= 20
    elif words > LONG_TURN_WORDS:
        score -= 10
    return score


def score_clarity(conv: Conversation) -> BehaviorScore:
    turns = conv.clean_turns()
    if not turns:
        return BehaviorScore.not_observed()
    sentences = conv.clean_sentences()
    jargon = [(t, s) for t, s in sentences if s.jargon_terms]
    vague = [(t, s) for t, s in sentences if s.vague_handoff or s.hedges]
    specific = [(t, s) for t, s in sentences if s.specific and not s.jargon_terms]
    # An off-topic or nonsense turn told the customer nothing: it counts as a turn of zero clarity.
    score = mean([_turn_clarity(turn, conv) for turn in turns] + [0.0] * conv.off_topic_turns)
    if any("next_step" in s.found and not conv.rules_out(s) for _, s in sentences):
        score += 5  # a clear "here is what happens next" is the summary customers remember
    score -= 15 * conv.injection_turns
    terms = sorted({term for _, s in jargon for term in s.jargon_terms})
    if conv.off_topic_turns:
        rationale = f"{_plural(conv.off_topic_turns, 'line')} said nothing the customer could use."
    elif terms:
        rationale = f"Used internal jargon the customer would have to decode ({', '.join(terms[:4])})."
    elif vague:
        rationale = "Mostly plain language, but some answers were vague or hedged."
    else:
        rationale = "Plain, specific language with concrete details."
    evidence = _evidence(jargon + vague + specific) or _evidence([(turns[0].index, turns[0].clean()[0])])
    return BehaviorScore(_clamp(score), rationale, _confidence(len(evidence)), evidence)


def _latency_penalty(conv: Conversation) -> tuple[float, list[str]]:
    turns = [t for t in conv.rep_turns if not t.injection]
    by_index = {i: conv.transcript.turns[i] for i in (t.index for t in turns)}
    latencies = [turn.latency_ms for turn in by_index.values() if turn.latency_ms is not None]
    fillers = [turn.fillers for turn in by_index.values() if turn.fillers is not None]
    penalty, notes = 0.0, []
    if latencies and mean(latencies) > SLOW_LATENCY_MS:
        penalty += 10
        notes.append("slow replies")
    if fillers and mean(fillers) >= 3:
        penalty += 5
        notes.append("many filler words")
    return penalty, notes


def score_confidence(conv: Conversation) -> BehaviorScore:
    sentences = conv.clean_sentences()
    hedges = [(t, s) for t, s in sentences if s.hedges]
    hedge_count = sum(s.hedges for _, s in hedges)
    apologies = sum(s.apologies for _, s in sentences)
    over_apology = max(0, apologies - 2)
    reasoned_turns = {t.index for t in conv.rep_turns if any(s.reason for s in t.clean())}
    holds = [(t, s) for t, s in sentences if s.refusal and t in reasoned_turns]
    reasonless = [(t, s) for t, s in sentences if s.reasonless_refusal]
    steady, shaky = _pressure_responses(conv)
    # Plain, unhedged commitments ("I'll call you at 10") are what confidence sounds like; promising
    # what the scenario's policies rule out ("by noon tomorrow, guaranteed") is giving in, not that.
    caved = list(conv.ruled_out)
    assertive = [
        (t, s)
        for t, s in sentences
        if s.found & {"ownership", "next_step"} and not s.hedges and not conv.rules_out(s)
    ]
    latency_penalty, latency_notes = _latency_penalty(conv)
    if not (
        hedges
        or over_apology
        or holds
        or reasonless
        or steady
        or shaky
        or assertive
        or caved
        or latency_notes
    ):
        if not conv.pressure_turns:
            return BehaviorScore.not_observed()
        return BehaviorScore(
            20, "When the customer pushed back, the reply neither held steady nor offered a way forward.", 0.5
        )
    score = (
        75
        - 10 * min(hedge_count, 5)
        - 8 * over_apology
        + 10 * min(len(holds), 2)
        - 12 * len(reasonless)
        + 5 * len(steady)
        - 8 * len(shaky)
        + 3 * min(len(assertive), 3)
        - 8 * min(len(caved), 3)
        - latency_penalty
        - 15 * conv.injection_turns
    )
    parts = []
    if holds:
        parts.append(f"held the line with a reason {_plural(len(holds), 'time')}")
    if steady:
        parts.append(f"stayed steady in {_plural(len(steady), 'tense moment')}")
    if assertive and not hedge_count:
        parts.append(f"committed without hedging in {_plural(len(assertive), 'statement')}")
    if hedge_count:
        parts.append(f"hedged {_plural(hedge_count, 'time')}")
    if over_apology:
        parts.append("over-apologized")
    if reasonless:
        parts.append("refused without a reason")
    if caved:
        parts.append(f"promised {_plural(len(caved), 'thing')} the scenario's policies rule out")
    parts.extend(latency_notes)
    rationale = (
        (parts[0][0].upper() + "; ".join(parts)[1:] + ".")
        if parts
        else "Responses under pressure were mixed."
    )
    evidence = _evidence(hedges + reasonless + caved + shaky + holds + steady + assertive)
    return BehaviorScore(_clamp(score), rationale, _confidence(len(evidence) or 1), evidence)


def _pressure_responses(
    conv: Conversation,
) -> tuple[list[tuple[int, SentenceSignals]], list[tuple[int, SentenceSignals]]]:
    """How the rep answered right after the customer escalated: steady or shaken."""
    steady: list[tuple[int, SentenceSignals]] = []
    shaky: list[tuple[int, SentenceSignals]] = []
    for turn in conv.rep_turns:
        clean = turn.clean()
        if turn.index not in conv.pressure_turns or not clean:
            continue
        wobbles = [s for s in clean if s.hedges or s.dismissive] or (
            [clean[0]] if sum(s.apologies for s in clean) > 1 else []
        )
        if wobbles:
            shaky.append((turn.index, wobbles[0]))
            continue
        anchor = next(
            (s for s in clean if s.found & {"ownership", "empathy", "next_step"} or s.reason or s.refusal),
            None,
        )
        if anchor is not None:
            steady.append((turn.index, anchor))
    return steady, shaky


def _ruled_out_commitments(
    transcript: Transcript, rep_turns: list[TurnAnalysis], findings: list[PolicyFinding]
) -> tuple[tuple[int, SentenceSignals], ...]:
    """Commitments (an action or a step) that the scenario's policies rule out."""
    return tuple(
        (turn.index, s)
        for turn in rep_turns
        for s in turn.clean()
        if s.found & {"ownership", "next_step"} and _breaks_policy(transcript, findings, turn.index, s)
    )


def _breaks_policy(
    transcript: Transcript, findings: list[PolicyFinding], turn: int, sentence: SentenceSignals
) -> bool:
    """The sentence breaks a policy, or carries out a breach made earlier in its turn ("Fine, I'll
    refund it. It'll be back on your card by Monday.")."""
    text = sentence.sentence.text
    line = transcript.turns[turn].text
    for finding in findings:
        if finding.status != "violated":
            continue
        for hit in finding.violations:
            if hit.turn != turn:
                continue
            if hit.quote in text or text in hit.quote:
                return True
            at = line.find(hit.quote)
            if 0 <= at < sentence.sentence.start:
                return True
    return False


def score_next_step_ownership(conv: Conversation) -> BehaviorScore:
    owned = conv.turns_with("ownership")
    # A step the scenario's policies forbid ("back on your card by Monday" against 5-10 days) is a
    # promise the customer will see broken, not a next step they can rely on.
    forbidden = [(t, s) for t, s in conv.ruled_out if "next_step" in s.found]
    next_steps = conv.turns_with("next_step", keep=lambda _, s: not conv.rules_out(s))
    sentences = conv.clean_sentences()
    follow_up = [(t, s) for t, s in sentences if s.follow_up]
    vague = [(t, s) for t, s in sentences if s.vague_handoff]
    if not (owned or next_steps or vague):
        # The customer always needs to leave knowing what happens next: there was always a chance.
        return BehaviorScore(
            15, "No next step was offered: the customer doesn't know who does what by when.", 0.6
        )
    score = 30 + 12 * min(len(owned), 3) + 15 * min(len(next_steps), 2) - 20 * len(vague)
    if follow_up:
        score += 10
    parts = [f"Committed to personal action in {_plural(len(owned), 'turn')}"]
    parts.append(f"gave a concrete next step with a time in {_plural(len(next_steps), 'turn')}")
    if follow_up:
        parts.append("promised a follow-up")
    if vague:
        parts.append(f"handed off vaguely {_plural(len(vague), 'time')}")
    if forbidden:
        parts.append(
            f"promised {_plural(len(forbidden), 'step')} the scenario's policies rule out (no credit)"
        )
    evidence = _evidence(vague + next_steps + owned + follow_up)
    return BehaviorScore(_clamp(score), ", ".join(parts) + ".", _confidence(len(evidence)), evidence)


def score_instruction_adherence(conv: Conversation) -> BehaviorScore:
    followed = [f for f in conv.findings if f.status == "followed"]
    violated = [f for f in conv.findings if f.status == "violated"]
    if not (followed or violated):
        return BehaviorScore.not_observed()
    applicable = len(followed) + len(violated)
    score = 100 * len(followed) / applicable
    unused = len(conv.findings) - applicable
    came_up = f"{_plural(applicable, 'policy', 'policies')} that came up"
    if violated:
        # People read policies by their text and a 1-based number; the JSON keeps 0-based positions.
        named = [
            f"{f.policy + 1} (\u201c{_short(conv.transcript.scenario.policies[f.policy])}\u201d)"
            for f in violated
        ]
        broken = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
        rationale = (
            f"Followed {len(followed)} of the {came_up}; broke "
            f"{'policy' if len(named) == 1 else 'policies'} {broken}."
        )
    else:
        rationale = f"Followed {'the' if applicable == 1 else 'all'} {came_up}."
    if unused:
        rationale += f" {_plural(unused, 'other policy', 'other policies')} didn't come up."
    quoted = [f for f in violated + followed if f.turn is not None and f.quote]
    evidence = tuple(
        dict.fromkeys(Evidence(f.turn, f.quote) for f in quoted if f.turn is not None and f.quote)
    )[:MAX_EVIDENCE]
    return BehaviorScore(_clamp(score), rationale, _confidence(len(evidence) or 1), evidence)


BEHAVIOR_SCORERS: dict[str, Callable[[Conversation], BehaviorScore]] = {
    "active_listening": score_active_listening,
    "empathy": score_empathy,
    "clarity": score_clarity,
    "confidence_under_pressure": score_confidence,
    "next_step_ownership": score_next_step_ownership,
    "instruction_adherence": score_instruction_adherence,
}
assert set(BEHAVIOR_SCORERS) == DEFAULT_BEHAVIORS


# --- focus: one behavior to work on, shown on one of the rep's own lines --------------------------

FOCUS_TIPS: dict[str, str] = {
    "active_listening": "Before answering, play back what the customer said in your own words, and never ask again for something they already told you.",
    "empathy": "Name the customer's feeling once, specifically, instead of repeating 'sorry'.",
    "clarity": "Swap internal terms for plain words and say exactly what will happen, with numbers and times.",
    "confidence_under_pressure": "Drop 'maybe', 'I think' and extra apologies; state what you can do and, when you say no, say why.",
    "next_step_ownership": "End with who does what by when: 'I will … by …', then say how you'll follow up.",
    "instruction_adherence": "Check the scenario's policies before you promise: verify first, stay inside the limits, don't commit to dates you don't control.",
}
_JARGON_PLAIN: dict[str, str] = {
    "sla": "our response-time target",
    "t2": "our specialist team",
    "t1": "our front-line team",
    "rma": "a return",
    "tos": "our terms",
    "escalation matrix": "our process for urgent cases",
    "p1": "a top-priority fault",
    "p2": "a high-priority fault",
    "sev2": "a high-priority fault",
    "noc": "our network team",
    "sre": "our engineers",
    "cdn": "our website delivery system",
}
_PRONOUNS = {
    "i": "you", "i'm": "you're", "i've": "you've", "i'd": "you'd", "i'll": "you'll", "my": "your",
    "me": "you", "mine": "yours", "you": "we", "you've": "we've", "you're": "we're", "your": "our",
}  # fmt: skip
_HEDGE_WORDS = re.compile(
    r",?\s*\b(?:maybe|perhaps|probably|possibly|hopefully|I think|I guess|I suppose|I'm not sure|not sure|"
    r"to be honest|honestly|kind of|sort of|really)\b,?",
    re.I,
)
_APOLOGY_SENTENCE = re.compile(r"^\s*(?:I'm |I am |so |really )*(?:sorry|I apologi[sz]e)\b", re.I)


def _tidy(text: str) -> str:
    text = re.sub(r"\s{2,}", " ", text).strip(" ,")
    text = re.sub(r"\s+([,.?!])", r"\1", text)
    return text[:1].upper() + text[1:] if text else text


def _customer_paraphrase(transcript: Transcript) -> str:
    first = next((t.text for t in transcript.turns if not t.is_rep), "")
    sentence = re.split(r"(?<=[.!?])\s", first.strip())[0].rstrip(".!?")
    words = [_PRONOUNS.get(w.lower(), w) for w in sentence.split()[:18]]
    return " ".join(words)


def _rep_line(conv: Conversation, predicate: Callable[[TurnAnalysis], bool]) -> TurnAnalysis | None:
    return next((t for t in conv.clean_turns() if predicate(t)), None)


def _clean_text(turn: TurnAnalysis) -> str:
    return " ".join(s.sentence.text for s in turn.clean())


def _focus_example(behavior: str, conv: Conversation) -> str:
    first = conv.clean_turns()[0]
    if behavior == "active_listening":
        line = _rep_line(conv, lambda t: any(s.reask for s in t.clean())) or first
        kept = " ".join(s.sentence.text for s in line.clean() if not s.reask) or "Let me sort this out."
        return _tidy(
            f"So what I'm hearing is {_customer_paraphrase(conv.transcript)[:1].lower()}"
            f"{_customer_paraphrase(conv.transcript)[1:]}. {kept}"
        )
    if behavior == "empathy":
        line = _rep_line(conv, lambda t: any(s.apologies or s.dismissive for s in t.clean())) or first
        kept = " ".join(
            s.sentence.text
            for s in line.clean()
            if not _APOLOGY_SENTENCE.search(s.sentence.text) and not s.dismissive
        )
        return _tidy(f"That sounds really frustrating, and I want to put it right. {kept}")
    if behavior == "clarity":
        line = _rep_line(conv, lambda t: any(s.jargon_terms for s in t.clean()))
        if line is None:
            line = max(conv.clean_turns(), key=lambda t: t.words)
            return _tidy(" ".join(s.sentence.text for s in line.clean()[:2]))
        text = _clean_text(line)
        for term in sorted({term for s in line.clean() for term in s.jargon_terms}, key=len, reverse=True):
            plain = _JARGON_PLAIN.get(
                term.lower().replace(" ", ""), _JARGON_PLAIN.get(term.lower(), "our team")
            )
            text = re.sub(rf"\b{re.escape(term)}\b", plain, text)
        return _tidy(re.sub(r"\bper (?:our|the) \w+", "under our terms", text))
    if behavior == "confidence_under_pressure":
        line = _rep_line(conv, lambda t: any(s.hedges for s in t.clean())) or first
        kept = " ".join(
            s.sentence.text for s in line.clean() if not _APOLOGY_SENTENCE.search(s.sentence.text)
        )
        return _tidy(_HEDGE_WORDS.sub("", kept) or "Here's exactly what I can do.")
    if behavior == "next_step_ownership":
        line = _rep_line(conv, lambda t: any(s.vague_handoff for s in t.clean())) or conv.clean_turns()[-1]
        text = re.sub(
            r"\bsomeone(?: from [\w\s]+?)? will (?:get back to you|reach out)|you'll hear back(?: eventually)?",
            "I'll call you by 5 pm tomorrow with an update",
            _clean_text(line),
            flags=re.I,
        )
        if text == _clean_text(line):
            text += " I'll email you an update by 5 pm today and call you tomorrow to confirm it's sorted."
        return _tidy(text)
    return _adherence_example(conv)


def _adherence_example(conv: Conversation) -> str:
    broken = next((f for f in conv.findings if f.status == "violated" and f.quote), None)
    if broken is None:
        return _tidy(_clean_text(conv.clean_turns()[0]))
    policy = conv.transcript.scenario.policies[broken.policy]
    limit = re.search(r"(\$\s?\d+|\d+\s?%)", policy)
    quote = broken.quote or ""
    if limit and re.search(r"\$\s?\d+|\d+\s?%", quote):
        return _tidy(
            re.sub(r"\$\s?\d+(?:\.\d+)?|\d+\s?%", limit.group(1), quote, count=1).split(". ")[0] + "."
        )
    if re.search(r"\b(?:date|time)\b", policy, re.I):
        return "I can't give you a confirmed date yet, so I won't guess; I'll call you as soon as the team confirms it."
    if re.search(r"\bverify|confirm\b", policy, re.I):
        return _tidy(f"Before I look into this, could you confirm your details for me? {quote}")
    return _tidy(f"That's on us to put right, and here's what I'll do: {_HEDGE_WORDS.sub('', quote)}")


STAY_ON_PROBLEM_TIP = (
    "Stay on the customer's problem: play back what they told you, then answer it in plain words."
)


def choose_focus(conv: Conversation, behaviors: dict[str, BehaviorScore]) -> Focus | None:
    scored = [
        (item.score, key) for key, item in behaviors.items() if key in FOCUS_TIPS and item.score is not None
    ]
    if not scored:
        return None
    if conv.nothing_said:
        # Never rewrite nonsense: show a first line that is about the customer's problem.
        paraphrase = _customer_paraphrase(conv.transcript)
        example = (
            f"So what I'm hearing is {paraphrase[:1].lower()}{paraphrase[1:]}. Let me sort that out for you now."
            if paraphrase
            else "Thanks for explaining. Let me look into this for you now."
        )
        return Focus(behavior="active_listening", tip=STAY_ON_PROBLEM_TIP, example=_tidy(example))
    order = list(FOCUS_TIPS)
    _, behavior = min(scored, key=lambda pair: (pair[0], order.index(pair[1])))
    example = _within_policy(_focus_example(behavior, conv), conv.transcript.scenario.policies)
    return Focus(behavior=behavior, tip=FOCUS_TIPS[behavior], example=example)


SAFE_EXAMPLE = (
    "Let me check exactly what I can do for you within our policy, and I'll tell you straight away."
)


def _within_policy(example: str, policies: Sequence[str]) -> str:
    """The better version, vetted by the same checker that scores the rep: it must break no policy.

    A sentence that would break one is dropped; if nothing is left, a line that promises nothing.
    """
    if not policies or not line_violations(policies, example):
        return example
    kept = [s.text for s in split_sentences(example) if not line_violations(policies, s.text)]
    candidate = _tidy(" ".join(kept))
    if candidate and not line_violations(policies, candidate):
        return candidate
    return SAFE_EXAMPLE


# --- the engine -----------------------------------------------------------------------------------


def _delivery(transcript: Transcript) -> Delivery | None:
    rep = [turn for turn in transcript.turns if turn.is_rep and turn.has_voice]
    if not any(turn.has_voice for turn in transcript.turns):
        return None
    rates = [turn.words_per_minute for turn in rep if turn.words_per_minute is not None]
    pauses = [turn.pauses for turn in rep if turn.pauses is not None]
    fillers = [turn.fillers for turn in rep if turn.fillers is not None]
    return Delivery(
        words_per_minute=round(mean(rates), 1) if rates else None,
        pauses=sum(pauses) if pauses else None,
        fillers=sum(fillers) if fillers else None,
    )


def analyze(transcript: Transcript) -> Conversation:
    customer_texts: list[str] = []
    inputs: list[RepTurnInput] = []
    escalated_before: dict[int, bool] = {}
    under_pressure = False
    for index, turn in enumerate(transcript.turns):
        if not turn.is_rep:
            customer_texts.append(turn.text)
            under_pressure = customer_escalated(turn.text)
            continue
        inputs.append(RepTurnInput(index, turn.text, tuple(customer_texts)))
        escalated_before[index] = under_pressure
        under_pressure = False
    rep_turns = analyze_rep_turns(inputs)
    pressure: set[int] = set()
    pending = False
    for analysis in rep_turns:
        pending = pending or escalated_before[analysis.index]
        # Only the first real answer after an outburst shows how the rep handles pressure.
        if pending and not analysis.injection:
            pressure.add(analysis.index)
            pending = False
    findings = evaluate_policies(transcript.scenario.policies, rep_turns)
    for finding in findings:
        for hit in finding.violations:
            for turn in rep_turns:
                if turn.index == hit.turn:
                    for sentence in turn.sentences:
                        if sentence.sentence.text == hit.quote:
                            sentence.found.add("policy_violation")
    felt = any(customer_feeling(turn.text) for turn in transcript.turns if not turn.is_rep)
    ruled_out = _ruled_out_commitments(transcript, rep_turns, findings)
    return Conversation(transcript, rep_turns, pressure, findings, customer_felt=felt, ruled_out=ruled_out)


def _discounted(behavior: BehaviorScore, conv: Conversation) -> BehaviorScore:
    """Off-topic and nonsense turns earn nothing, so a behavior's score shrinks with their share:
    it is scaled by the share of the rep's turns that were about the customer's problem (1 in any
    ordinary conversation)."""
    spoken = len(conv.rep_turns)
    if behavior.score is None or not conv.off_topic_turns or not spoken:
        return behavior
    share = (spoken - conv.off_topic_turns) / spoken
    note = (
        f" {_plural(conv.off_topic_turns, 'line')} of {spoken} didn't address the customer and earn nothing."
    )
    return replace(behavior, score=_clamp(behavior.score * share), rationale=behavior.rationale + note)


class EmbeddedScorer:
    """Rule-based scorer that needs no network, model weights or GPU."""

    name = "embedded"
    version = f"2.1+{MODEL_VERSION}"

    def score(self, transcript: Transcript, *, budget: object = None) -> ScoreResult:
        conv = analyze(transcript)
        behaviors: dict[str, BehaviorScore] = {}
        weights: dict[str, float] = {}
        for item in transcript.scenario.rubric:
            scorer = BEHAVIOR_SCORERS.get(item.key)
            if scorer is None:
                behaviors[item.key] = BehaviorScore.not_scored()
            elif conv.nothing_said:
                behaviors[item.key] = BehaviorScore(0, NOTHING_SAID, 0.9)
            else:
                behavior = scorer(conv)
                # Clarity already counts off-topic turns as turns of zero; the rest shrink with them.
                behaviors[item.key] = behavior if item.key == "clarity" else _discounted(behavior, conv)
            weights[item.key] = item.weight
        turns = tuple(
            TurnSignals(
                turn.index,
                tuple(name for name in SIGNAL_NAMES if name in turn.signals()),
                turn.question_kinds,
            )
            for turn in conv.rep_turns
        )
        policies = tuple(PolicyVerdict(f.policy, f.status, f.turn) for f in conv.findings)  # type: ignore[arg-type]
        return ScoreResult(
            behaviors=behaviors,
            policies=policies,
            turns=turns,
            focus=choose_focus(conv, behaviors),
            overall=weighted_overall(behaviors, weights),
            delivery=_delivery(transcript),
        )

    def token_estimate(self, transcript: Transcript) -> int:
        return 0  # no model call

    def tokens_used(self, result: ScoreResult) -> int | None:
        return 0
