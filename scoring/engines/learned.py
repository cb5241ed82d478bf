"""Learned sentence signals for the embedded scorer: MiniLM embeddings against written prototypes.

Each rep sentence is embedded once (``coachhub.core.encoder``) and compared with the prototype
sentences in ``data/prototypes.yaml`` (written by the team; nothing copied from an evaluation set).
A signal's strength is the mean cosine to its three nearest positive prototypes, less the mean to
the nearest negative ones where a signal has them. Rules stay in ``signals`` as features and
guards (a question needs a question form; boilerplate is never empathy), not as the classifier.

Thresholds were chosen once on the public dev files (EPITOME, AnnoMI; see docs/scoring-model.md):
choosing a threshold is all they were used for, no weight was fitted on them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import yaml

from coachhub.core.encoder import encode, get_encoder

PROTOTYPES_PATH = Path(__file__).resolve().parent / "data" / "prototypes.yaml"
MODEL_VERSION = "minilm-proto-3"

EMPATHY_THRESHOLD = 0.43
REFLECTION_THRESHOLD = 0.025
# A "?" sentence that reads as a restatement of the customer is a reflection check, not a question.
REFLECTIVE_QUESTION_THRESHOLD = 0.08
# Below this similarity to what the customer said, a chatty line is not about their problem.
OFF_TOPIC_CONTEXT = 0.12
OFF_TOPIC_MARGIN = 0.05
# Plainly small talk may brush a customer's words ("last night", "week") and still be chatter.
CLEAR_CHATTER_MARGIN = 0.15
CLEAR_CHATTER_CONTEXT = 0.2
_CASE_MARKERS = re.compile(
    r"\d|\b[A-Z][A-Z0-9&]+\b|\b(?i:order|account|refund|ticket|charge|delivery|payment|policy)\b"
)
_TOP_K = 3

_FILLERS = (
    r"^(?:\W*(?:okay|ok|so|um+|uh+|and|but|well|yeah|yes|right|alright|all right|mm-?hmm|hmm|sure|oh|now|"
    r"i see|got it|great|good|then|also|just)\b\W*)*"
)
INTERROGATIVE_START = re.compile(
    _FILLERS + r"(?:what'?d?|how|why|when|where|who|which|whose|do|does|did|is|isn't|are|aren't|was|were|"
    r"have|has|had|can|could|would|will|should|shall|may|might|any|anything|don't|doesn't|didn't|won't)\b",
    re.I,
)
# A question by its word order, "?" or not (chat reps often drop it; speech never has one): an
# auxiliary before its subject ("could you…", "is there…") or a wh-word before an auxiliary
# ("what would…", "how often do…"). "What I'm hearing is…" and "what I can do is…" have neither.
_AUX = r"(?:do|does|did|is|isn't|are|aren't|was|were|have|has|had|can|could|would|will|should|may|might|don't|doesn't|didn't|won't|can't|wouldn't|couldn't)"
INVERTED_QUESTION = re.compile(
    _FILLERS
    + r"(?:"
    + _AUX
    + r"(?:[-\s]+"
    + _AUX
    + r")?\s+(?:you|it|he|she|they|we|there|that|this|i|your|anyone|anything|someone)\b|"
    r"(?:what|how|why|when|where|who|which)(?:\s+(?:else|often|much|many|long|soon|far|exactly|time|day|date|part|one|kind of \w+|sort of \w+))?\s+"
    + _AUX
    + r"\b)",
    re.I,
)
# The same order after a clause break: "Thinking about your friends, how would you tell them".
_CLAUSE_QUESTION = re.compile(
    r"(?:[,;:\u2014]|--?)\s*(?:(?:and|so|but|or|um|uh)\s*,?\s+)*(?:what|how|why|when|where|who|which)(?:\s+\w+)?\s+"
    + _AUX
    + r"\s+(?:you|it|he|she|they|we|there|that|this|i)\b",
    re.I,
)
_ONE_WORD_QUESTION = re.compile(r"\W*(?:why|how|when|where|who|which|what)\W*\?\W*", re.I)
QUESTION_REQUEST = re.compile(
    r"\b(?:tell me|tell us|talk to me|remind me|I(?:'m| am) (?:wondering|curious)|I wonder|help me understand|"
    r"walk me through|explain to me|would you mind|do you mind|(?:could|can|may) I (?:take|get|have|ask|grab|check)|"
    r"(?:do you )?want me to|mind if I|would you like me to|shall I|shall we)\b"
    # "Confirm your postcode" asks the customer; "I'll call you to confirm the engineer" doesn't.
    r"|(?:^\W*|\bplease\s+|\b(?:could|can|would|will) you (?:please |just )?)(?:confirm|share|send me|read me|give me) (?:the|your)\b",
    re.I,
)
# Open questions can't be answered with a yes, a no or one fact: "what", "how" or "why" leads
# ("what happened…", "how did it…", also after a clause break), the rep invites the customer to tell,
# describe or walk through something, directly or in a polite frame ("could you tell me what…"), or
# asks for anything more ("any thoughts on…", "is there anything else…"). Asking for one fact or
# number is closed whatever the wh-word ("what time…", "how many…", "what's your order number",
# "on a scale of 1 to 10…"), and so is everything else that asks ("did it…?", "which one…?",
# "you're still at the same address?").
_OPEN_LEAD = re.compile(
    _FILLERS + r"(?:(?:\w+\s*,\s*)?(?:what|how|why|in what way|tell me|say more|walk me|talk me)\b"
    r"|(?:could|can|would|will)\s+you\s+(?:please\s+)?(?:tell|walk|talk|describe|explain|say|share|help me understand)\b"
    r"|(?:I(?:'m| am) (?:wondering|curious)|I wonder)\s+(?:what|how|why|about|if you could tell))",
    re.I,
)
_OPEN_ANYWHERE = re.compile(
    r"\b(?:tell me (?:more|a (?:bit|little)|about|what|how|why)|walk me through|talk me through|help me understand|"
    r"describe|say (?:a (?:bit|little) )?more|what else|anything (?:else|about|that|you)|any (?:thoughts|other|ideas|idea)|"
    r"what (?:are|were) your thoughts)\b",
    re.I,
)
_ONE_FACT = re.compile(
    r"\b(?:what|which) (?:time|day|date|number|year|size|colou?r|model|address|email|order|account|card|name)\b"
    r"|\bwhat(?:'s| is| was) (?:your|the) (?:\w+ )?(?:number|name|address|email|date|code|postcode|zip|reference)\b"
    r"|\bhow (?:many|much|long|often|old|far|soon)\b|\bon a scale\b|\bscale of\b|\bfrom (?:one|1|zero|0) to (?:ten|10)\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class QuestionForm:
    """How a sentence is built, as far as asking goes."""

    words: int
    requested: bool  # a request of three words or more ("tell me…", "could you confirm your…")
    inverted: bool  # the word order of a question, "?" or not
    asks: bool  # a request, a "?" line, or a question's word order

    @classmethod
    def of(cls, text: str) -> QuestionForm:
        words = word_total(text)
        requested = bool(QUESTION_REQUEST.search(text)) and words >= 3
        inverted = bool(INVERTED_QUESTION.search(text))
        asks = (
            requested
            or (words >= 2 and ("?" in text or inverted or bool(_CLAUSE_QUESTION.search(text))))
            or bool(_ONE_WORD_QUESTION.fullmatch(text))
        )
        return cls(words, requested, inverted, asks)


def question_kinds_by_form(sentences: list[str]) -> tuple[str, ...]:
    """ "open" or "closed" for each sentence that asks by its form (no model: for engines that say
    a turn asks but not how, such as the LLM judge)."""
    return tuple(
        "open" if is_open_question(text) else "closed" for text in sentences if QuestionForm.of(text).asks
    )


def is_open_question(text: str) -> bool:
    """A question sentence (already found to be one) that invites more than a yes, a no or one fact."""
    if _OPEN_ANYWHERE.search(text):
        return True
    if _ONE_FACT.search(text):
        return False
    return bool(_OPEN_LEAD.search(text) or _CLAUSE_QUESTION.search(text))


_SECOND_PERSON = re.compile(
    _FILLERS
    + r"(?:(?:it )?(?:sounds|seems|looks) (?:like|as if)|what i(?:'m| am)? hear(?:ing)?|so you|part of you|"
    r"on one hand|you(?:'re| are|'ve| have|'d| would| feel| felt| want| wanted| think| thought| don't| didn't|"
    r" can't| know| mean|'ll| will| see| said| mentioned| just| really| also| kind of| sort of| might| may| were| was)?\b|your\b)",
    re.I,
)
# A line about what the rep or the company does ("I'm refunding…", "our policy…") is not a
# restatement of the customer, whatever words it shares with them.
_SPEAKER_STATEMENT = re.compile(
    r"^(?:\W*(?:okay|ok|so|um+|uh+|and|but|well|yeah|yes|right|alright|sure|oh|now|thanks|thank you|fine|"
    r"no problem|hmm)\b\W*)*(?:I|I'm|I'll|I've|I'd|we|we'll|we're|we've|let me|let's|our|it's just|because|"
    r"there's|that's|per)\b",
    re.I,
)
REFLECTION_PHRASE = re.compile(
    r"\bwhat I'm hearing\b|\bit sounds like\b|\bsounds like you\b|\bif I (?:understand|heard) (?:you|that|correctly)\b|"
    r"\byou(?:'re| are) saying\b|\byou (?:mentioned|said)\b|\bjust so I understand\b|"
    r"\b(?:is that|have I got that) (?:right|correct|fair)\s*\?|^\W*so (?:you(?:'re| are|'ve| have)|the|your)\b[^?]*\?\s*$",
    re.I,
)
_WORD = re.compile(r"[a-z']+", re.I)


def no_similarity() -> float:
    return 0.0


@dataclass(frozen=True, slots=True)
class SentenceReading:
    """What the model reads in one rep sentence, given the customer's words before it.

    ``similarity`` gives the cosine to the customer's last turn; it is computed (and that turn
    embedded) only when something asks, since most sentences are decided without it.
    """

    empathy: float
    reflection: float
    question: bool
    off_topic: bool
    similarity: Callable[[], float] = no_similarity
    open_question: bool = False  # with ``question``: it invites more than a yes, a no or one fact

    @property
    def context_similarity(self) -> float:
        return self.similarity()

    @property
    def is_empathic(self) -> bool:
        return self.empathy > EMPATHY_THRESHOLD

    @property
    def is_reflection(self) -> bool:
        return self.reflection > REFLECTION_THRESHOLD


@dataclass(frozen=True, slots=True)
class _Prototypes:
    empathy: np.ndarray
    reflection_pos: np.ndarray
    reflection_neg: np.ndarray
    service: np.ndarray
    off_topic: np.ndarray


_load_lock = threading.Lock()


@cache
def _prototypes() -> _Prototypes:
    with _load_lock:
        data = yaml.safe_load(PROTOTYPES_PATH.read_text(encoding="utf-8"))
        everything = [
            line
            for name, signal in data.items()
            if name != "off_topic"
            for line in signal.get("positive", [])
        ]
        return _Prototypes(
            empathy=encode(data["empathy"]["positive"]),
            reflection_pos=encode(data["reflection"]["positive"]),
            reflection_neg=encode(data["reflection"]["negative"]),
            service=encode(everything + data["empathy"]["negative"] + data["reflection"]["negative"]),
            off_topic=encode(data["off_topic"]["positive"]),
        )


def _top_mean(vectors: np.ndarray, prototypes: np.ndarray, k: int = _TOP_K) -> np.ndarray:
    sims = vectors @ prototypes.T
    k = min(k, sims.shape[1])
    return np.sort(sims, axis=1)[:, -k:].mean(1)


def word_total(text: str) -> int:
    return len(_WORD.findall(text))


@cache
def _vocabulary() -> frozenset[str]:
    return frozenset(get_encoder().tokenizer.get_vocab())


@cache
def _is_word(word: str) -> bool:
    """A word the model's vocabulary knows whole, or builds from a real stem ("blend" + "##er").

    Keyboard mashing ("asdf", "qwer", "zxcv") splits into one- and two-letter shards.
    """
    if len(word) <= 2:
        return word in _vocabulary()
    if not re.search(r"[aeiouy]", word):
        return False
    pieces = get_encoder().tokenizer.encode(word, add_special_tokens=False).tokens
    return len(pieces) == 1 or (len(pieces) <= 3 and len(pieces[0]) >= 3)


def looks_like_words(text: str) -> bool:
    """Most of the line is real words (numbers, amounts and codes don't count against it)."""
    words = re.findall(r"[a-z]+", text.lower())  # "I'm" is "i" + "m": contractions are words
    if not words:
        return False
    return sum(1 for w in words if _is_word(w)) / len(words) >= 0.6


class _CustomerTurns:
    """The customer turns rep sentences are compared with, each embedded once and only on demand."""

    def __init__(self, vectors: np.ndarray, context: list[str]) -> None:
        self._vectors = vectors
        self._context = context
        self._embedded: dict[str, np.ndarray] = {}
        self._context_sim: dict[int, float] = {}

    def embed(self, texts: list[str]) -> None:
        """Embed, in one batch, those of ``texts`` not embedded yet."""
        missing = [text for text in dict.fromkeys(texts) if text not in self._embedded]
        if missing:
            for text, vector in zip(missing, encode([text or " " for text in missing]), strict=True):
                self._embedded[text] = vector

    def context_similarity(self, rows: list[int]) -> None:
        """Cosines of ``rows`` to each one's last customer turn, computed for all of them at once."""
        rows = [row for row in rows if row not in self._context_sim]
        if not rows:
            return
        self.embed([self._context[row] for row in rows])
        customer = np.array([self._embedded[self._context[row]] for row in rows])
        for row, sim in zip(rows, np.einsum("ij,ij->i", self._vectors[rows], customer), strict=True):
            self._context_sim[row] = float(sim)

    def similarity_of(self, row: int) -> Callable[[], float]:
        def similarity() -> float:
            self.context_similarity([row])
            return self._context_sim[row]

        return similarity

    def topic_similarity(self, row: int, group: list[str]) -> float:
        """Closeness of sentence ``row`` to the nearest of ``group`` (customer turns so far)."""
        self.embed(group)
        return max((float(self._vectors[row] @ self._embedded[text]) for text in group), default=0.0)


def read_sentences(
    sentences: list[str], context: list[str], topics: list[tuple[str, ...]] | None = None
) -> list[SentenceReading]:
    """One reading per rep sentence.

    ``context[i]`` is the customer's last turn before sentence ``i`` (what a reflection plays back);
    ``topics[i]`` every customer turn so far (an on-topic line is close to at least one of them).
    A customer turn is embedded only when a decision needs it (a declarative "?" line that may be
    a restatement, a chatty line that may be off topic, a reflection's closeness asked for later),
    and then once per call, however many sentences follow it.
    """
    if not sentences:
        return []
    protos = _prototypes()
    vectors = encode(sentences)
    customer = _CustomerTurns(vectors, context)
    # "And?" or "Okay." carry no topic: only turns of a few words say what the problem is.
    topical = (
        None
        if topics is None
        else [[t for t in group if word_total(t) >= 4] or list(group) for group in topics]
    )
    empathy = _top_mean(vectors, protos.empathy)
    reflection = _top_mean(vectors, protos.reflection_pos) - _top_mean(vectors, protos.reflection_neg)
    service = _top_mean(vectors, protos.service)
    chatter = _top_mean(vectors, protos.off_topic)
    features = []
    for row, text in enumerate(sentences):
        form = QuestionForm.of(text)
        words, requested, inverted, question = form.words, form.requested, form.inverted, form.asks
        interrogative = bool(INTERROGATIVE_START.search(text))
        restates = question and not interrogative and not requested  # decided by the customer's words
        margin = float(chatter[row]) - float(service[row])
        wordy = looks_like_words(text)
        chatty = wordy and not _CASE_MARKERS.search(text) and margin > OFF_TOPIC_MARGIN
        features.append(
            (words, interrogative, requested, question, restates, margin, chatty, wordy, inverted)
        )
    # The customer turns those decisions need, embedded in one batch.
    customer.embed(
        [context[row] for row, f in enumerate(features) if f[4] or (f[6] and topical is None)]
        + [text for row, f in enumerate(features) if f[6] and topical is not None for text in topical[row]]
    )
    customer.context_similarity([row for row, f in enumerate(features) if f[4] or (f[6] and topical is None)])
    readings: list[SentenceReading] = []
    for row, text in enumerate(sentences):
        words, interrogative, requested, question, restates, margin, chatty, wordy, inverted = features[row]
        similarity = customer.similarity_of(row)
        refl = float(reflection[row]) + 0.05 * bool(_SECOND_PERSON.search(text)) - 0.1 * interrogative
        if words < 4:
            refl -= 0.1
        if REFLECTION_PHRASE.search(text):
            refl = max(refl, REFLECTION_THRESHOLD + 0.01)
        elif "?" in text and (interrogative or inverted):
            refl = min(refl, 0.0)  # "How long have you been out?" asks; a reflection plays back
        elif _SPEAKER_STATEMENT.search(text):
            refl = min(refl, 0.0)
        if restates:
            restating = float(reflection[row]) + 0.3 * (similarity() - 0.3)
            if restating > REFLECTIVE_QUESTION_THRESHOLD:
                question = False
        # Chatter: closer to small talk than to anything said in service, and not about what the
        # customer raised. Digits and internal terms mark a line as about the case, however unclear.
        off_topic = not wordy
        if chatty:
            topical_sim = similarity() if topical is None else customer.topic_similarity(row, topical[row])
            off_topic = (margin > OFF_TOPIC_MARGIN and topical_sim < OFF_TOPIC_CONTEXT) or (
                margin > CLEAR_CHATTER_MARGIN and topical_sim < CLEAR_CHATTER_CONTEXT
            )
        if off_topic:
            readings.append(SentenceReading(0.0, -1.0, False, True, similarity))
            continue
        readings.append(
            SentenceReading(
                float(empathy[row]), refl, question, False, similarity, question and is_open_question(text)
            )
        )
    return readings
