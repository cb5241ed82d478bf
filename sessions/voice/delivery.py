"""How a rep sounded, from timed words: speaking rate, pauses and filler words.

Filler heuristics are deliberately conservative: a coach who sees "3 fillers" must be able to find
all three in the transcript, so ambiguous words only count when the punctuation Whisper wrote sets
them apart from the sentence (Whisper puts commas around spoken fillers, not around grammatical uses).

- Always fillers (hesitation sounds): um, uh, er, ah, hmm and their spellings (umm, uhm, uhh, erm,
  ahh, hm, mm). "ER" in capitals is an acronym, not a filler.
- "you know", "I mean": only when set off on both sides — the phrase starts an utterance or follows
  punctuation, and punctuation follows it ("It was, you know, late"; "I mean, it's fine").
  "Do you know your order number?" and "That's what I mean." don't count.
- "like": only when set off on both sides ("it was, like, late"; "Like, I get it"). "If you'd like,"
  and "things like that" don't count; neither does an unpunctuated filler "like" (missed, by design).
- "sort of", "kind of" (and "sorta", "kinda"): hedges, unless a determiner or question word before
  them makes "kind"/"sort" a noun ("what kind of plan", "this sort of issue", "a kind of"), or a
  pronoun after them makes "kind" an adjective ("that's very kind of you").
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, NamedTuple

PAUSE_THRESHOLD_S = 0.6

_HESITATIONS = {
    "um": "um", "umm": "um", "uhm": "um", "uh": "uh", "uhh": "uh", "er": "er", "erm": "er",
    "ah": "ah", "ahh": "ah", "hmm": "hmm", "hm": "hmm", "mm": "hmm",
}  # fmt: skip
_SET_OFF_PHRASES = {("you", "know"): "you know", ("i", "mean"): "I mean"}
_HEDGES = {("kind", "of"): "kind of", ("sort", "of"): "sort of", ("kinda",): "kind of", ("sorta",): "sort of"}
# Words before "kind of"/"sort of" that make "kind"/"sort" a noun rather than a hedge.
_NOUN_MAKERS = {
    "a", "an", "the", "this", "that", "these", "those", "what", "which", "any", "some", "every", "each",
    "no", "one", "all", "same", "other", "another", "different", "certain", "right", "wrong", "my",
    "your", "our", "their", "his", "her", "its", "whatever", "new", "best", "only", "first", "that's",
}  # fmt: skip
# "That's very kind of you" is politeness, not a hedge.
_KIND_OF_OBJECTS = {"you", "him", "her", "them", "us", "me"}
_BOUNDARY_PUNCTUATION = ",;:.!?…—–-"
_EDGE_PUNCTUATION = "\"'“”‘’()[]" + _BOUNDARY_PUNCTUATION


class Word(NamedTuple):
    """One recognised word as Whisper wrote it (punctuation attached), with its time span in seconds
    from the start of the recording and the model's confidence."""

    word: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Pauses:
    count: int  # gaps between consecutive words of at least PAUSE_THRESHOLD_S
    longest_pause_s: float  # the longest gap between words, even when under the threshold
    threshold_s: float = PAUSE_THRESHOLD_S


@dataclass(frozen=True)
class Fillers:
    count: int
    which: dict[str, int]  # canonical filler -> occurrences, e.g. {"um": 2, "you know": 1}


@dataclass(frozen=True)
class Delivery:
    """Delivery metrics for one rep turn."""

    word_count: int
    speaking_time_s: float  # first word's start to last word's end: leading/trailing silence excluded
    words_per_minute: float  # every transcribed word (fillers included) over speaking time
    pauses: Pauses
    fillers: Fillers

    def to_dict(self) -> dict[str, Any]:
        return {
            "word_count": self.word_count,
            "speaking_time_s": round(self.speaking_time_s, 3),
            "words_per_minute": round(self.words_per_minute, 1),
            "pauses": {
                "count": self.pauses.count,
                "longest_pause_s": round(self.pauses.longest_pause_s, 3),
                "threshold_s": self.pauses.threshold_s,
            },
            "fillers": {"count": self.fillers.count, "which": dict(self.fillers.which)},
        }


class _Token(NamedTuple):
    core: str  # lower-case word without edge punctuation
    raw_core: str  # the same with its original case
    set_off_before: bool  # starts the utterance or follows punctuation
    set_off_after: bool  # punctuation follows it


def analyze_delivery(words: list[Word]) -> Delivery:
    """Rate, pauses and fillers for one turn's timed words."""
    spoken = [word for word in words if _core(word.word)]
    if not spoken:
        return Delivery(0, 0.0, 0.0, Pauses(0, 0.0), Fillers(0, {}))
    speaking_time_s = max(0.0, spoken[-1].end - spoken[0].start)
    words_per_minute = len(spoken) / (speaking_time_s / 60) if speaking_time_s > 0 else 0.0
    return Delivery(
        word_count=len(spoken),
        speaking_time_s=speaking_time_s,
        words_per_minute=words_per_minute,
        pauses=count_pauses(spoken),
        fillers=count_fillers([word.word for word in spoken]),
    )


def count_pauses(words: list[Word], threshold_s: float = PAUSE_THRESHOLD_S) -> Pauses:
    """Silences between words. Whisper tends to stretch a word's end into the silence after it, so
    measured gaps are a little shorter than the real ones; the threshold allows for that."""
    gaps = [max(0.0, later.start - earlier.end) for earlier, later in zip(words, words[1:], strict=False)]
    return Pauses(count=sum(gap >= threshold_s for gap in gaps), longest_pause_s=max(gaps, default=0.0))


def count_fillers(words: list[str]) -> Fillers:
    """Filler words and phrases in a turn's words (see the module docstring for the rules)."""
    tokens = _tokens(words)
    found: Counter[str] = Counter()
    index = 0
    while index < len(tokens):
        filler, width = _filler_at(tokens, index)
        if filler:
            found[filler] += 1
        index += width
    return Fillers(count=sum(found.values()), which=dict(found))


def _filler_at(tokens: list[_Token], index: int) -> tuple[str | None, int]:
    """The filler starting at `index` and how many tokens it covers, or (None, 1)."""
    token = tokens[index]
    if token.core in _HESITATIONS and token.raw_core != "ER":
        return _HESITATIONS[token.core], 1
    pair = tuple(t.core for t in tokens[index : index + 2])
    previous = tokens[index - 1].core if index > 0 else ""
    if pair in _SET_OFF_PHRASES and token.set_off_before and tokens[index + 1].set_off_after:
        return _SET_OFF_PHRASES[pair], 2
    if token.core == "like" and token.set_off_before and token.set_off_after:
        return "like", 1
    for phrase, name in _HEDGES.items():
        if tuple(t.core for t in tokens[index : index + len(phrase)]) != phrase or previous in _NOUN_MAKERS:
            continue
        following = tokens[index + len(phrase)].core if index + len(phrase) < len(tokens) else ""
        if following not in _KIND_OF_OBJECTS:
            return name, len(phrase)
    return None, 1


def _tokens(words: list[str]) -> list[_Token]:
    tokens: list[_Token] = []
    previous_set_off = True  # the start of the turn counts as a boundary
    for word in words:
        text = word.strip()
        raw_core = text.strip(_EDGE_PUNCTUATION)
        if not raw_core:
            previous_set_off = True  # a stray punctuation token still separates words
            continue
        after = text[text.rfind(raw_core) + len(raw_core) :]
        before = text[: text.find(raw_core)]
        set_off_after = any(mark in after for mark in _BOUNDARY_PUNCTUATION)
        tokens.append(
            _Token(
                core=raw_core.lower(),
                raw_core=raw_core,
                set_off_before=previous_set_off or any(mark in before for mark in _BOUNDARY_PUNCTUATION),
                set_off_after=set_off_after,
            )
        )
        previous_set_off = set_off_after
    return tokens


def _core(word: str) -> str:
    return re.sub(r"\s+", "", word).strip(_EDGE_PUNCTUATION)
