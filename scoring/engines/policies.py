"""Checks a rep's lines against the scenario's written policies by what the lines mean.

A policy is split into clauses and each clause is read as one kind of rule: verify first, a limit
on an amount or a count, a time the rep must not promise (with the time or range the system
sanctions), a restriction with its window ("refunds only within 30 days"), something we can't do,
something the rep must not say or ask, something the rep must do, or a plain fact the rep must not
contradict (a free replacement, a one-year warranty, credits applied automatically).

Rep sentences are read the same way: quantities are parsed (durations with their units, ranges and
bounds, amounts in $/€/£, percentages, clock times, days) and compared as quantities, and a
sentence is a promise only when it commits: questions, conditionals ("if the engineers finish
early…"), negations ("I can't promise…") and deferrals ("I'll confirm it before I promise it")
are not. Stating a policy's limit to the customer is following it. A clause the parser does not
recognise stays `not_applicable`: better honest silence than a guessed verdict. Text flagged as an
injection attempt can break a policy but never counts as following one.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from scoring.engines.signals import INJECTION, STOPWORDS, TurnAnalysis, jargon_terms, split_sentences, stem

# --- outcome types --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hit:
    turn: int
    quote: str


@dataclass(slots=True)
class ClauseOutcome:
    followed: Hit | None = None
    violations: list[Hit] = field(default_factory=list)

    def follow(self, line: Line) -> None:
        if line.clean and self.followed is None:
            self.followed = Hit(line.turn, line.verbatim or line.text)

    def violate(self, line: Line) -> None:
        self.violations.append(Hit(line.turn, line.verbatim or line.text))


@dataclass(frozen=True, slots=True)
class PolicyFinding:
    policy: int
    status: str
    turn: int | None
    quote: str | None
    violations: tuple[Hit, ...]


@dataclass(frozen=True, slots=True)
class Line:
    """One rep sentence: the turn it is in, its text as the rules read it (see `_readable`), whether
    it may count in the rep's favour (injection text never does), and the verbatim sentence quoted
    back when it differs."""

    turn: int
    text: str
    clean: bool
    verbatim: str = ""

    @property
    def question(self) -> bool:
        return self.text.rstrip().endswith("?")


# Chat-style typing: curly apostrophes and contractions typed without one ("cant", "ill cancel",
# "youll get it"). The rules are written for "can't" and "I'll", so the sentence is read that way.
_BARE_CONTRACTIONS = re.compile(
    r"\b(?:(?P<neg>can|won|don|didn|isn|aren|wasn|weren|hasn|haven|hadn|shouldn|couldn|wouldn|doesn)t|"
    r"(?P<i>i)(?P<i_rest>m|ve|ll)|(?P<you>you|they|we)(?P<you_rest>re|ll|ve)|(?P<that>that|there|what)s)\b",
    re.I,
)


def _readable(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'")

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        if match.group("neg"):
            return word[:-1] + "'" + word[-1]
        if match.group("i"):
            # "ill" after "been"/"feel" is being unwell, not "I'll"
            if match.group("i_rest").lower() == "ll" and re.search(
                r"\b(?:been|feel\w*|felt|fall|fell|got|get|getting|was|is|are|very|so|quite)\s+$",
                text[: match.start()],
                re.I,
            ):
                return word
            return "I'" + match.group("i_rest")
        if match.group("you"):
            if match.group("you").lower() == "we" and match.group("you_rest").lower() in {"re", "ll"}:
                return word  # "were", "well" are words of their own
            return match.group("you") + "'" + match.group("you_rest")
        return match.group("that") + "'s"

    return _BARE_CONTRACTIONS.sub(fix, text)


def _line(turn: int, text: str, clean: bool) -> Line:
    readable = _readable(text)
    return Line(turn, readable, clean, text if readable != text else "")


def _lines_of(turns: Sequence[TurnAnalysis]) -> list[Line]:
    return [_line(t.index, s.sentence.text, "injection" not in s.found) for t in turns for s in t.sentences]


# --- quantities -----------------------------------------------------------------------------------

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90, "couple": 2, "few": 3,
    "half": 0.5, "a couple of": 2, "a few": 3,
}  # fmt: skip
_NUM = r"(?:\d+(?:[.,]\d+)?|a couple of|a few|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + ")"
_RANGE_SEP = r"\s*(?:-|–|—|to|or|and)\s*"
# Calendar days per unit; a business day is 7/5 calendar days.
_UNIT_DAYS = {"minute": 1 / 1440, "min": 1 / 1440, "hour": 1 / 24, "hr": 1 / 24, "day": 1.0,
              "business day": 1.4, "working day": 1.4, "week": 7.0, "month": 30.0, "year": 365.0}  # fmt: skip
_DURATION = re.compile(
    rf"(?P<bound>\b(?:within|in|up to|at most|no more than|under|less than|at least|over|more than|"
    rf"longer than|after|past|beyond|between|about|around|roughly|only)\s+(?:the next\s+|another\s+)?)?"
    rf"\b(?:(?P<low>{_NUM}){_RANGE_SEP})?(?P<high>{_NUM})[\s-]*"
    rf"(?P<unit>business[\s-]days?|working[\s-]days?|days?|hours?|hrs?|minutes?|mins?|weeks?|months?|years?)\b",
    re.I,
)
_RELATIVE_DAY = re.compile(
    r"\b(?P<word>today|tonight|tomorrow|overnight|same[\s-]day|next[\s-]business[\s-]day|next[\s-]day|"
    r"end of (?:the )?day|this (?:morning|afternoon|evening)|within the (?:next )?hour|in the next hour|right away|straight away|"
    r"(?:the|this) weekend|end of (?:the|this) week|next week)\b",
    re.I,
)
_RELATIVE_DAYS = {"today": 0.0, "tonight": 0.0, "same day": 0.0, "end of day": 0.0, "end of the day": 0.0,
                  "this morning": 0.0, "this afternoon": 0.0, "this evening": 0.0, "within the hour": 1 / 24, "within the next hour": 1 / 24, "in the next hour": 1 / 24,
                  "right away": 0.0, "straight away": 0.0, "tomorrow": 1.0, "overnight": 1.0,
                  "next day": 1.0, "next business day": 1.4,
                  # the coming weekend, the week's end, next week: a few days to a week from now
                  "the weekend": 4.0, "this weekend": 4.0, "end of the week": 4.0, "end of this week": 4.0,
                  "next week": 7.0}  # fmt: skip
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
          "seventeen": 17, "eighteen": 18, "nineteen": 19, "a hundred": 100, "one hundred": 100}  # fmt: skip
_WORD_NUMBER = (
    r"(?:(?:"
    + "|".join(_TENS)
    + r")(?:[\s-](?:"
    + "|".join(_UNITS)
    + r"))?|"
    + "|".join([*_TEENS, *_UNITS])
    + ")"
)
_MONEY = re.compile(
    r"(?P<cur>[$€£])\s?(?P<a>\d+(?:,\d{3})*(?:\.\d+)?)|"
    rf"\b(?P<b>\d+(?:\.\d+)?|{_WORD_NUMBER})[\s-]?(?P<word>dollars?|bucks|euros?|pounds?|usd|eur|gbp)\b",
    re.I,
)
_PERCENT = re.compile(r"\b(?P<n>\d+(?:\.\d+)?)\s?(?:%|per ?cent\b)", re.I)
_CLOCK = re.compile(
    r"\b(?P<h>\d{1,2})(?::(?P<m>\d\d))?\s?(?P<ampm>[ap]\.?m\.?)(?![a-z])|\b(?P<word>noon|midday|midnight)\b|"
    r"\b(?P<h24>\d{1,2}):(?P<m24>\d\d)\b",
    re.I,
)
_PART_OF_DAY = {
    "morning": (6.0, 12.0),
    "afternoon": (12.0, 18.0),
    "evening": (17.0, 22.0),
    "lunchtime": (11.5, 14.0),
}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(r"\b(?:" + "|".join(_WEEKDAYS) + r")\b", re.I)
_DATE = re.compile(
    r"\b(?:the )?\d{1,2}(?:st|nd|rd|th)\b|\b(?:january|february|march|april|june|july|august|september|"
    r"october|november|december) \d{1,2}\b",
    re.I,
)


def _number(text: str) -> float:
    text = text.lower().strip()
    if text in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[text])
    return float(text.replace(",", "."))


@dataclass(frozen=True, slots=True)
class Span:
    """An interval of a quantity: "5 to 10 business days" is (7, 14) days; "within 30 days" is (0, 30)."""

    low: float
    high: float
    start: int
    end: int


def durations(text: str, *, relative: bool = True) -> list[Span]:
    """Durations in calendar days, with ranges and bounds ("within", "up to", "at least"); with
    `relative`, also "today", "tomorrow", "overnight", "next business day" as days from now."""
    found: list[Span] = []
    for match in _DURATION.finditer(text):
        unit = re.sub(r"[\s-]+", " ", match.group("unit").lower()).rstrip("s")
        unit = {"hr": "hour", "min": "minute"}.get(unit, unit)
        scale = _UNIT_DAYS[unit]
        high = _number(match.group("high")) * scale
        low = _number(match.group("low")) * scale if match.group("low") else high
        bound = (match.group("bound") or "").strip().lower()
        if bound in {"within", "up to", "at most", "no more than", "under", "less than"}:
            low = 0.0
        elif bound in {"at least", "over", "more than", "longer than", "after", "past", "beyond"}:
            high = math.inf
        found.append(Span(low, high, match.start(), match.end()))
    for match in _RELATIVE_DAY.finditer(text) if relative else ():
        days = _RELATIVE_DAYS[re.sub(r"[\s-]+", " ", match.group("word").lower())]
        found.append(Span(days, days, match.start(), match.end()))
    return found


def _spelled(number: str) -> float:
    """ "25", "twenty-five", "twenty", "fifteen" as a number."""
    number = number.lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", number):
        return float(number)
    parts = re.split(r"[\s-]+", number)
    if number in _TEENS:
        return float(_TEENS[number])
    return float(sum(_TENS.get(part, 0) + _UNITS.get(part, 0) for part in parts))


def amounts(text: str) -> list[tuple[str, float, int]]:
    """(unit, value, position) for every amount: "$", "€", "£" (words count too) and "%"."""
    found: list[tuple[str, float, int]] = []
    for match in _MONEY.finditer(text):
        if match.group("cur"):
            found.append((match.group("cur"), float(match.group("a").replace(",", "")), match.start()))
        else:
            word = match.group("word").lower()
            unit = "€" if word.startswith("eur") else "£" if word in {"pound", "pounds", "gbp"} else "$"
            found.append((unit, _spelled(match.group("b")), match.start()))
    found.extend(("%", float(m.group("n")), m.start()) for m in _PERCENT.finditer(text))
    return found


def clock_hours(text: str) -> list[Span]:
    """Times of day as hours: "4pm" is (16, 16), "between 8 and 12" or "8am to 12pm" a range,
    "Thursday morning" (6, 12). A bare number after "between" takes the meridiem of its partner."""
    found: list[Span] = []
    for match in _CLOCK.finditer(text):
        if match.group("word"):
            hour = {"noon": 12.0, "midday": 12.0, "midnight": 24.0}[match.group("word").lower()]
        elif match.group("h24"):
            hour = float(match.group("h24")) + float(match.group("m24")) / 60
        else:
            hour = float(match.group("h")) % 12 + float(match.group("m") or 0) / 60
            if match.group("ampm").lower().startswith("p"):
                hour += 12
        found.append(Span(hour, hour, match.start(), match.end()))
    for match in re.finditer(r"\bbetween (\d{1,2}) and (\d{1,2})\b(?!\s?[ap]\.?m)", text, re.I):
        low, high = float(match.group(1)), float(match.group(2))
        if high <= 12 and low > high:
            high += 12
        if high < 8:  # "between 1 and 3" in business talk is the afternoon
            low, high = low + 12, high + 12
        found.append(Span(low, high, match.start(), match.end()))
    # A bare hour in business talk: "sorted by 2", "there at 10" (1 to 7 is the afternoon).
    for match in re.finditer(
        r"\b(?:by|at|around|before|until|till)\s+(\d{1,2})(?=\s*(?:[.,;!?)]|$|today\b|tomorrow\b|tonight\b|"
        r"this\b|on\b|and\b|or\b|o'clock\b|latest\b|at the latest\b))",
        text,
        re.I,
    ):
        hour = float(match.group(1))
        if hour > 12 or any(s.start <= match.start(1) < s.end for s in found):
            continue
        hour = hour + 12 if hour < 8 else hour
        found.append(Span(hour, hour, match.start(1), match.end(1)))
    merged: list[Span] = []
    for span in sorted(found, key=lambda s: s.start):
        if merged and re.fullmatch(_RANGE_SEP + r"|\s*(?:and)\s*", text[merged[-1].end : span.start], re.I):
            previous = merged.pop()
            merged.append(Span(previous.low, span.high, previous.start, span.end))
        else:
            merged.append(span)
    for match in re.finditer(r"\b(morning|afternoon|evening|lunchtime)\b", text, re.I):
        low, high = _PART_OF_DAY[match.group(1).lower()]
        merged.append(Span(low, high, match.start(), match.end()))
    return merged


def days_named(text: str) -> set[str]:
    """Which day a time refers to: a weekday, "today", "tomorrow" (the next business day counts as
    tomorrow), or "date" for a calendar date."""
    found = {
        m.group(0).lower()
        for m in _WEEKDAY.finditer(text)
        if not re.search(r"\b(?:last|past|previous)\s+$", text[: m.start()], re.I)
    }
    lowered = text.lower()
    if re.search(
        r"\btoday\b|\btonight\b|\bthis (?:morning|afternoon|evening)\b|\bend of (?:the )?day\b", lowered
    ):
        found.add("today")
    if re.search(r"\btomorrow\b|\bnext(?:[\s-]business)?[\s-]day\b|\bovernight\b", lowered):
        found.add("tomorrow")
    if _DATE.search(text):
        found.add("date")
    return found


# --- how a sentence is meant ----------------------------------------------------------------------

_NEGATION = re.compile(
    r"\b(?:no|not|never|can't|cannot|won't|isn't|aren't|don't|doesn't|didn't|unable|nobody|nothing|"
    r"without|rather not|n't)\b|n't\b",
    re.I,
)
_CONDITIONAL = re.compile(
    r"^\s*(?:and |but |so )?(?:if|unless|once|as soon as|in case|should (?:you|it|the|that|they|we)|when(?!ever)|assuming|provided)\b",
    re.I,
)
_HYPOTHETICAL = re.compile(r"\b(?:could|might|may|would|possibly|maybe|perhaps|hopefully)\b", re.I)
# "I'll confirm it in the system before I promise it": checking first is the opposite of promising.
_DEFERRAL = re.compile(
    r"\b(?:confirm|check|verify|make sure|see|find out|look)\w*\b[^.!?]{0,60}\b(?:before|until|then)\b|"
    r"\b(?:until|unless|before|once)\b[^.!?]{0,40}\b(?:confirm|check|verif|see|know)\w*|"
    r"\bas soon as\b[^.!?]{0,40}\b(?:confirm|know|hear)\w*",
    re.I,
)
_COMMITMENT = re.compile(
    r"\b(?:will|'ll|shall|going to|gonna|promise|guarantee\w*|definitely|for sure|certainly|is booked|"
    r"are booked|is confirmed|is reserved|is secured|you've got|you have got|you're all set|take|takes|"
    r"arrives?|is|are|be|should|can|shows?|says|has|have|expect|it's|that's|lands?|appears?|clears?|reaches?|"
    r"comes? (?:through|back)|goes? (?:through|back))\b|'ll\b",
    re.I,
)
_CONTACT = re.compile(
    r"\b(?:call|ring|email|e-mail|text|message|phone|follow up|update|contact|reach out|get back to|"
    # the rep checking in on it at a time is a next step too: "I'll check on it myself tomorrow at 4"
    r"check (?:on it|on them|in on|in with|back)|keep (?:an eye|tabs) on|monitor|keep track|"
    r"send (?:you )?(?:an? )?(?:email|text|confirmation|reference|update))\w*\b",
    re.I,
)


def _negated_before(text: str, position: int, words: int = 4) -> bool:
    """A negator within the few words before `position` ("I can't refund", "no refund")."""
    before = re.split(r"[,;]|(?<!\d):(?!\d)|\s[-–—]\s", text[:position])[-1]
    window = " ".join(before.split()[-words:])
    return bool(_NEGATION.search(window))


def _sub_clauses(text: str) -> list[str]:
    """Clauses of a sentence: split at commas, semicolons, dashes and " but "/" and " before a new
    subject, so "if it's quicker, great, but it's 5 to 10 days" keeps its condition to itself."""
    parts = re.split(
        r"[,;]|(?<!\d):(?!\d)|\s[-–—]\s|\bbut\b|\band (?=if|it|the|you|I\b|we\b)|\bso (?=I\b|you\b|we\b)",
        text,
    )
    return [part for part in parts if part and part.strip()]


def _clause_at(text: str, position: int) -> str:
    """The sub-clause of `text` that contains `position`."""
    start = 0
    for part in _sub_clauses(text):
        found = text.find(part, start)
        if found <= position < found + len(part):
            return part
        start = max(start, found + len(part)) if found >= 0 else start
    return text


def _asserts(part: str) -> bool:
    """The clause states something as so (not a question, condition, hedge, deferral or negation)."""
    return not (
        part.rstrip().endswith("?")
        or _CONDITIONAL.search(part)
        or _HYPOTHETICAL.search(part)
        or _DEFERRAL.search(part)
    )


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z][a-z'-]*", text.lower()) if w not in STOPWORDS]


def _stem_pattern(words: Sequence[str], synonyms: dict[str, str] | None = None) -> re.Pattern[str] | None:
    alternatives = []
    for word in words:
        key = word.rstrip("s")
        root = stem(word)
        root = root[:-1] if root.endswith("e") and len(root) > 4 else root  # "pause" also finds "pausing"
        if re.search(r"([bdgmnprt])\1$", root) and len(root) > 3:
            root = root[:-1]  # "skipped", "shipped": the doubled consonant is the inflection's, "skip" too
        alternatives.append((synonyms or {}).get(key) or rf"{re.escape(root)}\w*")
    return re.compile(r"\b(?:" + "|".join(alternatives) + ")", re.I) if alternatives else None


# --- rule families --------------------------------------------------------------------------------


class ClauseRule:
    def check(self, lines: Sequence[Line]) -> ClauseOutcome:  # pragma: no cover - interface
        raise NotImplementedError


_DETAIL = re.compile(
    r"\b(?:charge|charged|refund\w*|credit|fee|payment|order|ship\w*|replacement|courier|ticket|job|visit\w*|"
    r"technician|tech|engineer|upgrade|invoice|seat|plan|bundle\w*|router|warehouse|escalat\w*|queue|"
    r"work order|eta|fault|outage|bill|subscription|box|cancel\w*|pause|skip\w*|warranty|suit|delivery|account|send|sent)\b",
    re.I,
)


_ACTS_ON_ACCOUNT = re.compile(
    r"\bI(?:'ll| will|'ve| have|'m| am) (?!sorry|so sorry|afraid)\w+|\byour (?:account|order|plan|card|case) (?:shows|is|has|says)\b|"
    r"\byou're on\b|\bI can see (?!why|how|that you|you)",
    re.I,
)


# Reading the account out of the system ("I can see the line at 18 Alder Street is down"): a detail
# said this way is the rep discussing the account, not the customer's detail being echoed back.
_READS_ACCOUNT = re.compile(
    r"\bI can see (?!why|how|that you|you)|\byour (?:account|order|plan|card|case|line) (?:shows|is|has|says)\b|"
    r"\b(?:is|are) showing (?:as|up)\b",
    re.I,
)


@dataclass(slots=True)
class VerifyFirst(ClauseRule):
    """ "Verify the order number before …": the rep must ask for or confirm it before account details."""

    asks: re.Pattern[str]
    echo: re.Pattern[str]

    @classmethod
    def parse(cls, clause: str) -> VerifyFirst | None:
        match = re.search(
            r"\b(?:verify|confirm)\b (?:the )?(?P<thing>[^.;,]+?)\b(?:first|before)\b", clause, re.I
        )
        if not match:
            return None
        thing = match.group("thing").lower()
        heads = [
            w
            for w in re.findall(r"[a-z]+", thing)
            if w not in STOPWORDS and w not in {"number", "holder", "s"}
        ]
        head = "|".join(re.escape(w) for w in heads) or "number"
        echo = r"\d[\d-]{3,}|\b[A-Z]{2,}-\d{3,}\b"
        if "email" in thing:
            echo += r"|\S+@\S+"
        if "name" in thing or "address" in thing:
            echo += r"|\b\d+ [A-Z][a-z]+ (?:Street|St|Road|Rd|Avenue|Ave|Lane)\b"
        return cls(
            re.compile(rf"\b(?:{head})\b(?:\s+number)?|\bnumber\b|\bdetails\b", re.I), re.compile(echo)
        )

    def check(self, lines: Sequence[Line]) -> ClauseOutcome:
        verified_at: int | None = None
        details_at: int | None = None
        for position, line in enumerate(lines):
            # "You're on the 500 plan, right?" states the account's details while asking.
            tag_question = bool(
                re.search(r",\s*(?:right|correct|yeah|yes|isn't it|aren't you)\?\s*$", line.text, re.I)
            )
            asking = (
                line.question
                or re.search(
                    r"^\s*(?:please |can you |could you )?(?:confirm|tell me|give me)\b|"
                    r"\bI(?:'ll| will)? need (?:your|the)\b|\b(?:can|could|may) I (?:have|get|take|grab)\b|"
                    # A request anywhere in the sentence, punctuated or not ("… can you tell me the email first").
                    r"\b(?:can|could|would) you (?:please |just )?(?:tell|give|confirm|read|send|share)\b|"
                    r"\bwhat(?:'s| is) (?:the|your)\b|"
                    r"\bplease (?:confirm|tell me|give me|share|provide|read me)\b|"
                    r",?\s*please[.!]?\s*$",
                    line.text,
                    re.I,
                )
            ) and self.asks.search(line.text)
            reads_account = bool(_READS_ACCOUNT.search(line.text)) and not asking
            if (
                line.clean
                and verified_at is None
                and not tag_question
                and (asking or (self.echo.search(line.text) and not reads_account))
            ):
                verified_at = position
            elif (
                details_at is None
                and (tag_question or not line.question)
                and (_DETAIL.search(line.text) or reads_account)
            ):
                details_at = position
        outcome = ClauseOutcome()
        if details_at is not None and verified_at is not None and verified_at > details_at:
            # Earlier in the same turn only counts when the rep acted on or read out the account
            # ("I'll send the right one tomorrow. What's the order number?"), not when echoing the
            # customer ("a $180 charge you didn't agree to would worry anyone. Your email?").
            same_turn = lines[details_at].turn == lines[verified_at].turn
            if same_turn and not _ACTS_ON_ACCOUNT.search(lines[details_at].text):
                details_at = None
        if details_at is not None and (verified_at is None or verified_at > details_at):
            outcome.violate(lines[details_at])
        elif verified_at is not None:
            outcome.follow(lines[verified_at])
        return outcome


# Words that say what an amount or count limit is about. The clause's own nouns are used too.
_LIMIT_NOUNS = re.compile(
    r"\b(credit|discount|refund|voucher|compensat\w*|coupon|reimburs\w*|pause|upgrad\w*|difference|"
    r"retention|gift card|loyalty|points)\b",
    re.I,
)
_LIMIT_GENERIC = frozenset(
    {"goodwill", "offered", "offer", "may", "once", "per", "conversation", "case", "customer", "call",
     "missed", "appointment", "compensated", "instead", "cancelling", "canceling", "receipts", "receipt",
     "warranty", "repair", "during", "pays", "next", "model", "like-for-like", "exchange", "upgraded"}
)  # fmt: skip
_LIMIT = re.compile(
    r"\b(?:up to|at most|maximum(?: of)?|max(?:imum)?|no more than|not exceed(?:ing)?|capped at|"
    r"no (?:higher|larger|bigger) than)\s+(?:of\s+)?(?P<amount>[$€£]\s?\d+(?:\.\d+)?|\d+(?:\.\d+)?\s?(?:%|percent)|"
    rf"{_NUM}\s+(?:business days?|days?|weeks?|months?))",
    re.I,
)


@dataclass(slots=True)
class AmountLimit(ClauseRule):
    """ "A goodwill credit of up to $20, once", "a pause of up to 8 weeks": a larger offer, or a second
    offer when only one is allowed, breaks it; an offer inside the limit follows it."""

    unit: str  # "$", "€", "£", "%" or "days"
    limit: float
    subject: re.Pattern[str]
    max_offers: int | None
    waived: re.Pattern[str] | None = None  # "with receipts": saying none are needed drops the condition
    named: re.Pattern[str] | None = None  # the limit's own nouns ("credit", "compensation"), no synonyms
    # "costs … are reimbursed up to $60": an entitlement with a cap, so refusing it is a breach too
    # (unlike "a credit … may be offered", which the rep may decline)
    entitled: bool = False

    @classmethod
    def parse(cls, clause: str) -> AmountLimit | None:
        match = _LIMIT.search(clause)
        if not match:
            return None
        amount = match.group("amount")
        if spans := durations(amount):
            unit, limit = "days", spans[0].high
        else:
            found = amounts(amount)
            if not found:
                return None
            unit, limit, _ = found[0]
        nouns = {n.lower() for n in _LIMIT_NOUNS.findall(clause)}
        # what the limit is about in the policy's own words ("laundromat costs … reimbursed")
        topic = {
            w
            for w in _words(clause[: match.start()])
            if w not in _LIMIT_GENERIC and len(w) > 3 and w != "costs"
        }
        if not nouns or "reimbursed" in nouns:
            nouns |= topic
        words = sorted(nouns) or ["credit"]
        synonyms = {
            "discount": r"discount\w*|off\b",
            "reimburs": r"reimburs\w*|pay (?:you )?back|cover|claim\w*|paid (?:back|out)|get (?:\S+ ){0,3}paid",
            "credit": r"credit\w*|on (?:your|the) account|off (?:your|the) (?:next )?(?:bill|order|box|purchase|invoice|renewal)|money off",
            "difference": r"difference|more\b",
            "pause": r"paus\w*|break\b|hold\b|freez\w*",
        }
        subject = _stem_pattern(words, {**synonyms, "reimbursed": synonyms["reimburs"]})
        once = re.search(r"\bonce\b|\bone (?:time|offer)\b", clause, re.I)
        condition = re.search(
            r"\bwith (?:the |a |an |original )?(?P<what>receipts?|proof|invoices?|evidence|photos?|documentation)\b",
            clause,
            re.I,
        )
        waived = None
        if condition:
            what = re.escape(condition.group("what").lower().rstrip("s"))
            waived = re.compile(
                rf"\b(?:no|without|don't need|doesn't need|won't need|no need for|don't worry about|never mind|forget(?: about)?)\s+(?:the |any |your )?{what}|"
                rf"\b{what}s? (?:aren't|isn't|are not|is not|not) (?:needed|required|necessary)",
                re.I,
            )
        return cls(
            unit=unit,
            limit=limit,
            subject=subject or re.compile(r"\bcredit\b"),
            max_offers=1 if once else None,
            waived=waived,
            # "the retention queue" names a process, not the thing the limit is about
            named=_stem_pattern([w for w in words if not w.startswith("retention")]),
            entitled=bool(
                re.search(r"\b(?:are|is) (?:reimbursed|refunded|covered|paid back)\b", clause, re.I)
            )
            and not re.search(r"\bmay\b", clause, re.I),
        )

    def check(self, lines: Sequence[Line]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        already: set[float] = set()  # values offered so far in this conversation
        offers: list[Line] = []
        mentions: list[Line] = []
        previous_turn_offer = -1
        for line in lines:
            if self.waived and self.waived.search(line.text) and not line.question:
                outcome.violate(line)  # "no receipts needed" against "up to $60 with receipts"
            if self._unbounded(line.text) or (self.entitled and self._refuses(line)):
                outcome.violate(line)
            if not line.question and self.named and self.named.search(line.text):
                mentions.append(line)
            offered = self._offers(
                line.text,
                already,
                continuing=previous_turn_offer == line.turn or (bool(offers) and line.question),
            )
            for value in offered:
                already.add(value)
                offers.append(line)
                if value > self.limit + 1e-9:
                    outcome.violate(line)
            if offered:
                previous_turn_offer = line.turn
        if self.max_offers is not None and len(offers) > self.max_offers:
            outcome.violate(offers[self.max_offers])
        if not outcome.violations:
            # Met the situation and stayed inside it: the offer, or the subject handled with no
            # amount over the limit ("compensation requests go to a separate team").
            for line in offers or mentions:
                outcome.follow(line)
        return outcome

    def _refuses(self, line: Line) -> bool:
        """ "We don't cover laundromat costs", "I can't reimburse those": the entitlement denied."""
        if line.question:
            return False
        for part in _sub_clauses(line.text):
            if _CONDITIONAL.search(part):
                continue
            for match in self.subject.finditer(part):
                if _negated_before(part, match.start(), 4) and not re.search(
                    r"\b(?:no need|don't need|won't need|nothing)\b|\bno problem\b", part, re.I
                ):
                    return True
        return False

    def _unbounded(self, text: str) -> bool:
        """ "We'll cover all of that, and anything else you spend": an offer with no ceiling at all."""
        if self.unit == "days":
            return False
        for part in _sub_clauses(text):
            mention = self.subject.search(part)
            if not mention or any(unit == self.unit for unit, _, _ in amounts(part)):
                continue
            if (
                re.search(
                    # "all of it" can be a sum inside the limit; "anything (else)", "whatever" has no ceiling
                    r"\b(?:anything|whatever|every (?:penny|cent)|no limit)\b",
                    part[mention.start() :],
                    re.I,
                )
                and _asserts(part)
                and not _negated_before(part, mention.start())
                and re.search(_GRANT_LEAD, part[: mention.start()], re.I)
            ):
                return True
        return False

    def _offers(self, text: str, already: set[float], *, continuing: bool) -> list[float]:
        """Values offered in this sentence; "the $20 credit" refers back to an earlier offer."""
        if self.unit == "days":
            values = [(s.high, s.start) for s in durations(text) if s.high != math.inf]
        else:
            values = [(value, position) for unit, value, position in amounts(text) if unit == self.unit]
        found: list[float] = []
        for value, position in values:
            clause = _clause_at(text, position)
            mentions_subject = bool(self.subject.search(clause))
            if _negated_before(text, position) or (_CONDITIONAL.search(clause) and not mentions_subject):
                continue
            before = text[:position].lower()
            if value in already and re.search(r"\b(?:the|that|this|your)\s*$", before):
                continue  # "the $20 credit" is the offer already made
            priced_else = _PRICED_ELSE.search(clause) and not mentions_subject
            adds_on = not priced_else and (
                continuing
                or (
                    bool(already or found)
                    and re.search(
                        r"\b(?:another|plus|extra|additional|what about|how about|make it|so)\s*$", before
                    )
                )
            )
            states_limit = abs(value - self.limit) < 1e-9 and re.search(
                r"\b(?:up to|at most|maximum(?: of)?|max|no more than|capped at)\s*$", before
            )
            if mentions_subject or adds_on or states_limit:
                found.append(value)
        return found


# An amount for something other than the offer ("express shipping is an extra $12").
_PRICED_ELSE = re.compile(
    r"\b(?:shipping|delivery|postage|fee|price|costs?|charged?|deposit|plan|subscription)\b", re.I
)

_RETENTION_OFFER = re.compile(
    r"\b(?:paus\w*|discount\w*|\d+\s?% off|percent off|free (?:box|week|meal|month)|cheaper plan|smaller plan|"
    r"switch (?:to|plans)|downgrade|skip (?:a|the next|a few) (?:weeks?|box(?:es)?)|instead of cancel\w*|"
    r"before you go|stay (?:on|with)|keep your (?:plan|subscription|account)|"
    # a price offer in other words: "half price for three months", "a lower rate"
    r"half (?:price|off)|(?:a |the )?(?:lower|reduced|special|cheaper) (?:price|rate)|months? (?:free|at half))\b",
    re.I,
)


@dataclass(slots=True)
class CountLimit(ClauseRule):
    """ "Offer at most one retention option": a second offer (in a later turn) breaks it."""

    most: int

    @classmethod
    def parse(cls, clause: str) -> CountLimit | None:
        match = re.search(
            r"\b(?:at most|no more than|only|just) (one|two|\d) (?:retention|save|offer)", clause, re.I
        )
        if not match:
            return None
        return cls(int(_number(match.group(1))))

    def check(self, lines: Sequence[Line]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        turns_offering: list[Line] = []
        for line in lines:
            match = _RETENTION_OFFER.search(line.text)
            if (
                match
                and not _negated_before(line.text, match.start())
                and all(t.turn != line.turn for t in turns_offering)
            ):
                turns_offering.append(line)
        if len(turns_offering) > self.most:
            outcome.violate(turns_offering[self.most])
        elif turns_offering:
            outcome.follow(turns_offering[0])
        return outcome


_RESOLUTION = re.compile(
    r"\b(?:back|fixed|fix|done|be there|gets? there|getting there|restored|restore|arrive\w*|working|sorted|resolved|repaired|up|online|"
    r"have it|get it|receive it|with you|someone|out to you|gets? to you|reach(?:es)? you|(?:it's|it is|they're|they are) there|"
    r"delivered|deliver\w*|appear\w*|show up|in your account|on your card|refund\w*|come|comes|coming|visit\w*|"
    r"technician|engineer|slot|booked|seat|ship\w*|processed|land|lands|estimat\w*|eta)\b",
    re.I,
)
_NON_COMMITMENT = re.compile(
    r"\b(?:no|not|n't|haven't|hasn't|isn't|won't|nobody|rather not|don't have)\b[^.!?]{0,40}\b(?:date|time|day|eta|estimate|promise|guess)\w*|"
    r"\brather than guess\b|\bwon't guess\b|\bcan't promise\b|\bwon't promise\b",
    re.I,
)
_PAST = re.compile(
    # "said", "told you": reported speech tells what someone else promised, not a promise now
    r"\b(?:was|were|did|had|arrived|posted|came|went|happened|took|been|ago|missed|said|told)\b|"
    r"(?<!have )(?<!get )(?<!got )(?<!had )\b(?:you|we|I|it|they|she|he)\s+(?:\w+ed|paid|sent|made|got|bought|told|said|spent)\b|\blast (?:week|month|"
    + "|".join(_WEEKDAYS)
    + r")\b",
    re.I,
)
_FUTURE = re.compile(r"\b(?:will|shall|going to|gonna|promise|guarantee\w*)\b|'ll\b", re.I)
_STATES_SOURCE = re.compile(
    r"\b(?:system|status page|tracker|tracking|schedul\w*|carrier|outage (?:map|system)|shows?|showing|says)\b",
    re.I,
)


# An estimate said as one ("it's probably a couple of hours", "normally two days"): under a policy
# that sanctions only the system's time, a hedged figure is still a time given to the customer.
_ESTIMATE = re.compile(
    r"\b(?:probably|normally|usually|typically|likely|generally|I'd (?:say|guess|expect)|I reckon|give or take|ballpark|"
    r"give it (?:till|until|to|an?|another))\b",
    re.I,
)
# A verbless outcome with its time ("Back in 2-3 days.", "Fixed by Friday."): as committed as "it'll be".
_OUTCOME_FRAGMENT = re.compile(
    r"^\W*(?:back|fixed|done|sorted|refunded|restored|delivered|there|arriving|with you|up and running|all sorted)\b",
    re.I,
)
# A date that says when a charge was made ("both charges of $119.88 on the 14th") dates the past.
_CHARGE_DATE = re.compile(
    r"\b(?:charges?|charged|payments?|paid|transactions?|billed|debited|taken)\b(?:[^.!?]|\.\d){0,30}\bon the \d{1,2}(?:st|nd|rd|th)\b",
    re.I,
)
# A time of day naming an event rather than promising one ("you take the 1pm payment", "your 3pm meeting").
_EVENT_AFTER_TIME = re.compile(
    r"\s*(?!slot|visit|appointment|window|estimate|eta|fix|restor|deliver|arriv|booking|engineer|technician|deadline)[a-z]{3,}",
    re.I,
)
_FASTER = re.compile(
    r"\b(?:faster|quicker|sooner|earlier) than (?:usual|normal|standard|expected|that|the usual|normal)\b|"
    r"\bexpedit\w*|\bfast[\s-]?track\w*|\brush(?:ed|ing)? (?:it |that |the \w+ )?through\b",
    re.I,
)
# What a call is for ("... to confirm the engineer"): the call's time is not the engineer's.
_CALL_PURPOSE = re.compile(
    r"\bto (?:confirm|check|make sure|see|let you know|update you|go over)\b(?P<rest>.*)", re.I
)
# Saying yes to the customer's proposed time ("Absolutely, noon at the hotel") commits to it.
_ASSENT = re.compile(
    r"^\W*(?:yes|yep|yeah|absolutely|definitely|of course|sure|certainly|no problem)\b", re.I
)
# A goodwill credit or voucher put on the account is its own change, not the thing a policy times,
# unless the policy names it ("I can put a $20 credit on today" against a refund's 5-10 days).
_ACCOUNT_CHANGE = re.compile(r"\b(?:goodwill|credit|voucher|discount|coupon|points)\b", re.I)
# A day counted from an event not yet dated ("the same day they arrive"): no date is given.
_DAY_FROM_EVENT = re.compile(
    r"\b(?:same|next|following) day (?:that |as |when |after )?(?:they|it|we|you|I|the \w+) (?!is|are|will|'ll)\w+",
    re.I,
)


@dataclass(slots=True)
class TimePromise(ClauseRule):
    """ "Never promise a refund date", "never promise faster than 5–10 business days", "share only the
    restore time the system shows (4pm today)": a committed time outside what the policy sanctions
    breaks it; restating the sanctioned time or range, or declining to guess, follows it."""

    window: Span | None  # sanctioned duration range, calendar days
    hours: list[Span]  # sanctioned clock times ("by 4pm", "8am to 12pm")
    days: set[str]  # sanctioned days ("thursday", "today", "tomorrow")
    subject: re.Pattern[str] | None
    # "Never promise": a hedged "might be back by 2" is no promise; "never give an estimate": it is one.
    promise_only: bool
    times_account_changes: bool = False  # the policy itself times a credit or voucher
    no_faster: bool = False  # "never promise a faster date": "quicker than usual" promises it without a date

    @classmethod
    def parse(cls, clause: str, whole_policy: str) -> TimePromise | None:
        promise_verb = r"(?:promise|give|quote|commit|guarantee|provide|offer|share|state|tell)"
        if not (
            re.search(
                rf"\b(?:never|do not|don't|not|only)\b[^.;]*\b{promise_verb}\w*\b[^.;]*"
                r"\b(?:date|time|eta|timeline|day|deadline|faster|sooner|earlier|quicker)\b",
                clause,
                re.I,
            )
            or re.search(rf"\b{promise_verb}\w* only\b[^.;]*\b(?:time|date|day)\b", clause, re.I)
        ):
            return None
        window = None
        spans = [s for s in durations(whole_policy, relative=False) if s.high != math.inf and s.high >= 1]
        if spans:
            window = Span(min(s.low for s in spans), max(s.high for s in spans), 0, 0)
        context = whole_policy[len(clause) :] if whole_policy.startswith(clause) else whole_policy
        hours = [s for s in clock_hours(context) if s.high - s.low < 10]
        if re.search(r"\bby\s+(?:\d{1,2}(?::\d\d)?\s?[ap]m|noon|midday)", context, re.I):
            hours = [Span(0.0, s.high, 0, 0) for s in hours]  # "by 4pm": anything up to 4pm is the estimate
        days = days_named(context) - {"date"}
        object_words = re.search(
            rf"\b{promise_verb}\w*\s+(?:a |an |the |any )?(?:specific |faster |earlier )?(?P<obj>[a-z]+)",
            clause,
            re.I,
        )
        subject = None
        if object_words and object_words.group("obj").lower() not in {
            "date",
            "time",
            "eta",
            "day",
            "faster",
            "sooner",
            "earlier",
            "than",
            "only",
            "restore",
            "delivery",
            "technician",
            "specific",
            "estimated",
        }:
            subject = _stem_pattern([object_words.group("obj")])
        promise_only = bool(re.search(r"\b(?:promise|guarantee|commit)", clause, re.I))
        return cls(
            window=window,
            hours=hours,
            days=days,
            subject=subject,
            promise_only=promise_only,
            times_account_changes=bool(_ACCOUNT_CHANGE.search(whole_policy)),
            no_faster=bool(re.search(r"\b(?:faster|sooner|earlier|quicker)\b", clause, re.I)),
        )

    def check(self, lines: Sequence[Line]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        for line in lines:
            verdict = None
            about = (
                _RESOLUTION.search(line.text)
                or (self.subject and self.subject.search(line.text))
                or (self.window is not None and durations(line.text, relative=False))
                or ((self.hours or self.days) and _STATES_SOURCE.search(line.text))
                or (
                    not self.promise_only
                    and _ESTIMATE.search(line.text)
                    and (durations(line.text) or clock_hours(line.text))
                )
                # agreeing to a time the customer put forward: "Absolutely, noon at the hotel"
                or (
                    _ASSENT.search(line.text) and (clock_hours(line.text) or days_named(line.text) - {"date"})
                )
                or re.search(r"\b(?:I promise|I guarantee|guaranteed)\b", line.text, re.I)
            )
            future = bool(_FUTURE.search(line.text))
            for part in _sub_clauses(line.text) if about else []:
                if _ACCOUNT_CHANGE.search(part) and not self.times_account_changes:
                    continue
                verdict = self._judge(part, future, line.text) or verdict
                if verdict == "violated":
                    break
            if verdict is None and self.no_faster and self._promises_faster(line.text):
                verdict = "violated"
            if verdict == "violated":
                outcome.violate(line)
            elif verdict == "followed" or _NON_COMMITMENT.search(line.text):
                outcome.follow(line)
        return outcome

    def _judge(self, part: str, future: bool, sentence: str = "") -> str | None:
        spans = durations(part)
        if _DAY_FROM_EVENT.search(part):
            spans = [
                s for s in spans if not re.match(r"(?:same|next|following)", part[s.start : s.end], re.I)
            ]
        hours = [
            h
            for h in clock_hours(part)
            if not (
                re.search(r"\b(?:the|your|their|that|this|my|our)\s*$", part[: h.start], re.I)
                and (event := _EVENT_AFTER_TIME.match(part[h.end :]))
                and event.group(0).strip().lower() not in STOPWORDS
            )
        ]
        # "well before Saturday", "in time for Friday": the customer's deadline, a bound, not a day given
        if re.search(r"\b(?:I|we)(?:'ve| have) (?:just |already )?\w+(?:ed|en|t)\b", part, re.I) and not (
            durations(part, relative=False) or hours
        ):
            named = days_named(part)
            if named and named <= {"today"}:
                return None  # "I've processed the refund today": when the rep acted, not when it lands
        days = days_named(part) - {
            m.group(0).lower()
            for m in _WEEKDAY.finditer(part)
            if re.search(r"\b(?:before|ahead of|in time for)\s+(?:the\s+)?$", part[: m.start()], re.I)
        }
        if not spans and not hours and days <= {"date"} and _CHARGE_DATE.search(part):
            return None
        if not (spans or hours or days):
            return None
        if (
            not _FUTURE.search(part)
            and not _RESOLUTION.search(part)
            and re.match(
                r"\s*(?:the|your|my|his|her|their|our) \w+(?: \w+)? (?:is|are|starts?|'s)\b", part, re.I
            )
        ):
            return None  # "the wedding is on Saturday": another thing's date, not the promise
        contact = _CONTACT.search(part)
        if contact and (not self._about_resolution_after(part, contact.end())):
            # "I'll call you at 4pm" is a next step, not the fix's time; but "I'll call you tonight
            # to confirm the technician for tomorrow" still dates the visit in the call's purpose.
            purpose = _CALL_PURPOSE.search(part, contact.end())
            if purpose and future and _RESOLUTION.search(purpose.group("rest")):
                return self._judge(purpose.group("rest"), future, sentence)
            return None
        committed = (
            not (part.rstrip().endswith("?") or _CONDITIONAL.search(part) or _DEFERRAL.search(part))
            and not _NON_COMMITMENT.search(part)
            and not _PAST.search(part)
            and not (self.promise_only and _HYPOTHETICAL.search(part))
            and bool(
                _COMMITMENT.search(part)
                or future
                or _OUTCOME_FRAGMENT.search(part)
                # a yes to a time of day or a day, not to a calendar date (those date past charges)
                or (_ASSENT.search(sentence or part) and bool(hours or days - {"date"}))
            )
        )
        if (
            not future
            and not spans
            and days <= {"date"}
            and (_PAST.search(part) or not hours and _PAST.search(sentence))
        ):
            return None  # "two payments on the 14th, so we charged you twice" dates the past
        if self.window is None and spans and all(s.high == math.inf for s in spans) and not (hours or days):
            return None  # "it's been down more than four hours" sets no date
        negated = _NEGATION.search(part)
        if negated and re.search(
            r"\b(?:faster|sooner|earlier|quicker|before|promise|guarantee)\b", part, re.I
        ):
            return "followed"  # "I can't promise it sooner than 5 business days"
        if not committed:
            # "plan on 5 to 10 business days", "System ETA 4pm today": restating the whole window, or
            # the very time the system shows, is telling it, promise or not.
            restates = (
                self.window is not None
                and any(s.high != math.inf and s.high >= self.window.high - 1e-9 for s in spans)
            ) or (
                bool(hours and self.hours)
                and all(any(abs(h.high - s.high) < 0.01 for s in self.hours) for h in hours)
                and not (days and self.days and not days & self.days)
            )
            return "followed" if restates and not negated and not part.rstrip().endswith("?") else None
        if negated and not re.search(r"\bno later than\b", part, re.I):
            return None
        if self.window is not None and spans:
            span = max(spans, key=lambda s: s.high)
            # Promising it will be done sooner than the policy's longest time promises faster.
            return "followed" if span.high >= self.window.high - 1e-9 else "violated"
        if self.hours or self.days:
            return self._against_sanctioned(part, spans, hours, days)
        if self.window is not None and (days or hours):
            return "violated"  # a specific day against "takes 5–10 business days"
        return "violated"

    @staticmethod
    def _promises_faster(text: str) -> bool:
        """ "I've pushed it through as urgent, so it'll be quicker than usual": faster, with no date."""
        for part in _sub_clauses(text):
            faster = _FASTER.search(part)
            if (
                faster
                and (_FUTURE.search(part) or _COMMITMENT.search(part))
                and _asserts(part)
                and not _negated_before(part, faster.start(), 6)
            ):
                return True
        return False

    @staticmethod
    def _about_resolution_after(part: str, position: int) -> bool:
        """ "I'll email you once it's fixed" vs "I'll email you the tracking by 5pm"."""
        tail = part[position:]
        # "I'll call you Wednesday at 5pm to confirm the engineer": the time is the call's, the
        # engineer is what the call is about.
        tail = tail[: m.start()] if (m := _CALL_PURPOSE.search(tail)) else tail
        return bool(
            re.search(r"\b(?:fixed|restored|arrive\w*|deliver\w*|technician|engineer)\b", tail, re.I)
        ) and not re.search(r"\b(?:once|when|as soon as)\b", tail, re.I)

    def _against_sanctioned(self, part: str, spans: list[Span], hours: list[Span], days: set[str]) -> str:
        if days and self.days and not (days & self.days):
            return "violated"
        if hours and self.hours:
            fits = all(
                any(h.low >= s.low - 1e-9 and h.high <= s.high + 1e-9 for s in self.hours) for h in hours
            )
            exact = any(abs(h.high - s.high) < 0.01 for h in hours for s in self.hours)
            by_deadline = all(s.low == 0 for s in self.hours)
            if by_deadline:
                # The estimate is "by 4pm": promising earlier than 4pm is promising faster than the system.
                return (
                    "followed"
                    if all(h.high >= max(s.high for s in self.hours) - 0.01 for h in hours)
                    else "violated"
                )
            return "followed" if fits or exact else "violated"
        numeric = [s for s in spans if s.high != math.inf]
        if numeric and not days & self.days:
            if self.hours and any(s.high < 1 for s in numeric):
                return "violated"  # "back within the hour" when the system shows 4pm
            offsets = [_DAY_OFFSETS[d] for d in self.days if d in _DAY_OFFSETS]
            if not offsets or any(
                s.high > max(offsets) + 0.5 or s.high < min(offsets) - 0.5 for s in numeric
            ):
                return "violated"  # "3 to 5 business days" when the carrier shows the next business day
        if days and not self.days:
            return "violated"
        return "followed" if days & self.days or not days else "violated"


_DAY_OFFSETS = {"today": 0.0, "tomorrow": 1.2}

_GRANT_LEAD = r"\bI(?:'ll| will|'m going to| am going to| could| can(?!'t|not)|'m| am|'ve| have)\b|\bwe(?:'ll| will| can(?!'t|not)| could)\b|\blet me\b"


@dataclass(slots=True)
class Restriction(ClauseRule):
    """ "Refunds are only possible within 30 days of delivery": granting the thing anyway, or stating a
    wider window, breaks it; declining it, or telling the customer the window, follows it."""

    subject: re.Pattern[str]
    grant: re.Pattern[str]
    window: Span | None

    @classmethod
    def parse(cls, clause: str) -> Restriction | None:
        match = re.search(
            r"\b(?P<subject>[a-z]+?)s? (?:are|is) only (?:available|allowed|possible|valid|accepted|offered)\b",
            clause,
            re.I,
        )
        if not match:
            return None
        word = match.group("subject").lower()
        subject = re.compile(rf"\b{re.escape(stem(word))}\w*", re.I)
        grant = re.compile(
            rf"(?:{_GRANT_LEAD})(?:\s+\w+){{0,6}}?\s+(?:{re.escape(stem(word))}\w*|make an exception"
            # a refund said as the money going back: "I've put the full $179 back on your card"
            + (
                r"|(?:put|paid|send|sent|credited)\s+(?:\S+\s+){0,3}back (?:on|to|into)"
                r"|(?:get|give|send) (?:you )?(?:your |the )?(?:money|cash|\S+) back"
                if stem(word).startswith("refund")
                else ""
            )
            + r")\b",
            re.I,
        )
        spans = [s for s in durations(clause[match.end() :]) if s.high != math.inf]
        return cls(subject=subject, grant=grant, window=spans[0] if spans else None)

    def check(self, lines: Sequence[Line]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        for line in lines:
            text = line.text
            stated = self._states_window(text)
            if stated == "wrong":
                outcome.violate(line)
                continue
            if stated == "same":
                outcome.follow(line)
                continue
            grant = self.grant.search(text)
            if (
                grant
                and _asserts(text[: grant.end()])
                and not _negated_before(text, grant.end(), 6)
                and not re.search(r"\bonly\b", grant.group(0), re.I)  # "I can only refund within 30 days"
                # "I'm afraid a refund isn't possible": the refund named, then refused
                and not re.search(r"\bI'm (?:afraid|sorry)\b", grant.group(0), re.I)
                and not _NEGATION.search(re.split(r"[,;]", text[grant.end() : grant.end() + 25])[0])
            ):
                outcome.violate(line)
                continue
            if self.window is not None and _WINDOW_CLOSED.search(text):
                outcome.follow(line)
                continue
            mention = self.subject.search(text)
            if mention and (
                _negated_before(text, mention.start(), 6)
                or _NEGATION.search(text[mention.end() : mention.end() + 40])
            ):
                outcome.follow(line)
        return outcome

    def _states_window(self, text: str) -> str | None:
        """ "only within 30 days", "the 30-day window": the same window is a stated limit; another is wrong."""
        if self.window is None:
            return None
        for span in durations(text):
            context = text[max(0, span.start - 60) : span.end + 30]
            if re.search(r"\bbeen (?:\w+ )?$", text[: span.start], re.I) or re.match(
                r"\s*ago\b", text[span.end :]
            ):
                continue  # "it's been 40 days", "40 days ago": time gone by, not a window
            named_window = re.search(r"\b(?:returns?|refunds?) (?:window|period|policy)\b", context, re.I)
            window_talk = re.search(
                r"\b(?:window|only|within|limit|policy|past|after|over|beyond|return period)\b", context, re.I
            )
            window_talk = window_talk or named_window
            if not (self.subject.search(context) or window_talk) or not window_talk:
                continue
            if span.high == math.inf:
                # "it's been over 30 days" / "past the 30 days": the limit as a boundary.
                return "same" if abs(span.low - self.window.high) < 0.5 else None
            if abs(span.high - self.window.high) < 0.5:
                return "same"
            if span.high > self.window.high and (self.subject.search(context) or named_window):
                return "wrong"
        return None


_WINDOW_CLOSED = re.compile(
    r"\b(?:outside|past|beyond|after) (?:the|our|your) (?:\w+ )?(?:window|period)\b|\bwindow (?:has |is )?(?:closed|passed)\b",
    re.I,
)

# What someone might do about "bank fees" without saying "reimburse".
_CANNOT_VERBS: dict[str, str] = {
    "reimburs": r"reimburs\w*|refund\w*|cover\w*|pay(?:ing)? (?:for |back )?|repay\w*|compensat\w*|"
    r"(?:give|get|send|put) (?:you )?(?:\S+ ){0,2}back",
    "refund": r"refund\w*|money back|reimburs\w*",
}
_CANNOT_OBJECTS: dict[str, str] = {
    "bank": r"bank\w*|overdraft",
    "fee": r"fees?|charges? from (?:your|the) bank",
}


# Declining without the verb: "bank fees are outside our remit", "that isn't something we cover".
_DECLINED = re.compile(
    r"\b(?:outside|beyond) (?:our|my|the company's) (?:remit|control|scope|policy|responsibility)\b|"
    r"\b(?:not|isn't|aren't) (?:something|anything) (?:we|I) (?:can )?(?:do|cover|pay|handle|refund)\b|"
    r"\b(?:not|isn't|aren't) (?:covered|our responsibility|on us)\b",
    re.I,
)


@dataclass(slots=True)
class CannotDo(ClauseRule):
    """ "We can't reimburse bank fees directly": doing it anyway breaks it; saying so follows it."""

    verb: re.Pattern[str]
    objects: re.Pattern[str]

    @classmethod
    def parse(cls, clause: str) -> CannotDo | None:
        match = re.search(
            r"\b(?:we|you) (?:can't|cannot|can not|do not|don't|may not|are not able to|won't)\s+(?P<verb>[a-z]+)\s+(?P<obj>[^,.;—]+)",
            clause,
            re.I,
        )
        if not match:
            return None
        verb = stem(match.group("verb"))
        words = [w for w in _words(match.group("obj")) if w not in {"directly", "customer", "customers"}][:2]
        if not words:
            return None
        objects = _stem_pattern(words, _CANNOT_OBJECTS)
        known = next((pattern for key, pattern in _CANNOT_VERBS.items() if key.startswith(verb[:5])), None)
        verb_pattern = re.compile(r"\b(?:" + (known or rf"{re.escape(verb)}\w*") + ")", re.I)
        return cls(verb_pattern, objects)  # type: ignore[arg-type]

    def check(self, lines: Sequence[Line]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        for line in lines:
            for part in _sub_clauses(line.text):
                verb = self.verb.search(part)
                about = self.objects.search(part)
                if about and not verb and _DECLINED.search(part):
                    outcome.follow(line)
                if not (verb and about):
                    continue
                if _negated_before(part, verb.start(), 5) or re.search(
                    r"\bwish (?:I|we) (?:could|were able to)\b", part[: verb.start()], re.I
                ):
                    outcome.follow(line)  # "I wish I could cover the bank fee" declines it
                elif re.search(_GRANT_LEAD, part[: verb.start()], re.I) and _asserts(part):
                    outcome.violate(line)
        return outcome


@dataclass(slots=True)
class PromiseUntil(ClauseRule):
    """ "Never promise a seat until it's confirmed": telling the customer the thing is theirs breaks
    it; confirming first ("I'll confirm it in the system before I promise it") follows it."""

    thing: re.Pattern[str]

    @classmethod
    def parse(cls, clause: str) -> PromiseUntil | None:
        match = re.search(
            r"\b(?:never|do not|don't|not)\s+(?:promise|guarantee|confirm|commit(?: to)?)\s+(?:a|an|the|any)?\s*(?P<thing>[a-z]+)\s+(?:until|unless|before)\b",
            clause,
            re.I,
        )
        if not match:
            return None
        return cls(_stem_pattern([match.group("thing")]))  # type: ignore[arg-type]

    _AFFIRM = re.compile(
        r"\b(?:I promise|I guarantee|guaranteed|you(?:'ll| will)? (?:have|get|got)|you've got|I(?:'ve| have) "
        r"(?:got|booked|reserved|secured|saved|held)|(?:is|it's) (?:yours|booked|reserved|secured|confirmed|held|"
        r"guaranteed)|definitely|for sure|you're (?:in|on|all set|booked|confirmed))\b",
        re.I,
    )

    def check(self, lines: Sequence[Line]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        mentioned = False
        for line in lines:
            text = line.text
            refers = self.thing.search(text) or (mentioned and re.search(r"\bit\b", text, re.I))
            if self.thing.search(text):
                mentioned = True
            holds_off = _DEFERRAL.search(text) or re.search(
                r"\b(?:can't|cannot|won't|not able to) (?:promise|guarantee|confirm)\b", text, re.I
            )
            if holds_off and (refers or re.search(r"\bpromis\w*|\bguarant\w*", text, re.I)):
                outcome.follow(line)  # "I'll confirm it in the system before I promise it"
                continue
            if not refers:
                continue
            for part in _sub_clauses(text):
                affirm = self._AFFIRM.search(part)
                if (
                    affirm
                    and _asserts(part)
                    and not _negated_before(part, affirm.start())
                    and (self.thing.search(part) or re.search(r"\bit\b", part, re.I))
                ):
                    outcome.violate(line)
                    break
        return outcome


# Verbs whose forbidden form is said in other words: nobody says "I blame the courier".
_PROHIBITED_LANGUAGE: dict[str, str] = {
    "blame": (
        r"\bfault\b|\bblame\b|\bmistake\b|\bmess(?:ed|ing)? (?:it )?up\b|\bmix(?:ed|ing)? (?:\w+ )?up\b|\bdropped\b|"
        r"\bhopeless\b|\bcareless\b|\bwould have missed\b|\bthey do that\b|\bnot (?:ours|our fault|us)\b|"
        r"\bnothing to do with us\b|\bnot (?:really )?something we control\b|\bthird party\b"
    ),
    "refuse": r"\b(?:not|n't) (?:really )?(?:able|allowed) to\b|\bI (?:can't|cannot) (?:do|process|cancel)\b|\bnot yet\b",
    "stall": (
        r"\bcall back (?:later|next week|another time|tomorrow)\b|\btry again later\b|\bcome in(?:to)?\b[^.!?]*\bin person\b|"
        r"\bsend a letter\b|\bwithout a manager\b|\bnext week\b"
    ),
    "make": r"\bexception\b|\bjust this once\b|\bthis one time\b",
}
_VAGUE_WORDS = frozenset({"other", "any", "another", "anyone", "anything", "customer", "customers"})
_OBJECT_SYNONYMS: dict[str, str] = {
    "courier": r"courier|carrier|delivery (?:driver|guy|company)|postal|third party",
    "department": r"department|team|warehouse|fulfil\w*|billing system",
}
# What a request to do something sounds like when it is addressed to the customer.
_REQUEST = re.compile(
    r"\?\s*$|^\s*(?:please|just|first|go ahead and)\b|\byou(?:'ll| will)? (?:need|have|must|'d need) to\b|\bI need you to\b|"
    r"\b(?:I|we)(?:'ll| will|'d| would)? need (?:it|them|the|your)\b|\b(?:once|when|after) you(?:'ve| have)\b|"
    r"\bcan you\b|\bcould you\b|\bwould you\b|\bhave you tried\b|\bdid you try\b|\btry\b|\bmake sure you\b|"
    r"^\s*(?:restart|reboot|unplug|reset|send|post|return|ship|bring|turn|check|plug)\b|\bonce (?:we|I) (?:get|receive|have)\b|"
    # The instruction said as how things go: "what happens is you send it back first".
    r"\bwhat happens (?:now |next )?is (?:that )?you\b|\byou (?:just |first )?(?:send|post|return|ship|bring|mail|drop)\b",
    re.I,
)
_ASK_OBJECTS: dict[str, str] = {
    "troubleshoot": r"restart\w*|reboot\w*|unplug\w*|power[\s-]?cycl\w*|reset\w*|turn(?:ing)? (?:it|the router|everything) off|"
    r"(?:power|switch)(?:ing)? (?:it |them |everything |the \w+ )?(?:off|down|on)\b|"
    r"plug\w* (?:it )?back|check\w* (?:whether |if |that )?(?:the |all the )?(?:cables?|lights?|wires?|connections?)|troubleshoot\w*|(?:router|line|modem) checks?|"
    r"(?:checks?|steps?|basics) again",
    "return": r"return(?!\s+label)\w*|(?:need|want|get|have) (?:it|them|the \w+(?: \w+)?) back|"
    r"(?:send|sent|post|ship|mail)\w* (?:it|them|the [\w ]{1,20}?)(?: \w+)? back|post (?:it|the \w+) back|ship (?:it|the \w+) back|"
    r"bring (?:it|the \w+) (?:back|in)",
    "repeat": r"what happened|what(?:'s| is) (?:wrong|the (?:problem|issue))|when did|explain|tell me (?:again|what)|walk me through|"
    r"describe|tell me (?:about|more about) (?:the|your) (?:issue|problem|fault)|"
    r"what seems to be the (?:problem|issue|trouble)|what(?:'s| is| has) (?:been )?(?:going on|happening)|"
    r"remind me|go over|from the (?:start|beginning)|how many times",
}


@dataclass(slots=True)
class Prohibition(ClauseRule):
    """ "Do not blame the courier": saying the forbidden thing (in any wording we know) breaks it."""

    language: re.Pattern[str]
    objects: re.Pattern[str] | None

    @classmethod
    def parse(cls, clause: str) -> ClauseRule | None:
        match = re.search(r"\b(?:do not|don't|never|must not|mustn't|avoid)\s+(?P<rest>[^.;]+)", clause, re.I)
        if not match:
            return None
        rest = match.group("rest")
        terms = re.search(r"\b(?:like|such as|e\.g\.|including)\s+(?P<terms>.+)$", rest, re.I)
        if terms and re.match(r"(?:use|say|mention)\b", rest, re.I):
            # "don't use internal billing terms like auth hold or proration": the listed terms are out.
            listed = [t.strip() for t in re.split(r",|\bor\b|\band\b", terms.group("terms")) if t.strip()]
            pattern = "|".join(r"\s+".join(rf"{re.escape(stem(w))}\w*" for w in t.split()) for t in listed)
            return cls(language=re.compile(rf"\b(?:{pattern})", re.I), objects=None)
        if re.match(r"ask\b", rest, re.I):
            return AskProhibition.parse(rest)
        verbs = re.findall(r"[a-z]+", rest.lower())
        if not verbs:
            return None
        patterns = [_PROHIBITED_LANGUAGE[v] for v in verbs if v in _PROHIBITED_LANGUAGE]
        if not patterns:
            patterns = [rf"\b{re.escape(stem(verbs[0]))}\w*"]
        object_words = [
            w for w in verbs[1:] if w not in STOPWORDS | _VAGUE_WORDS and w not in _PROHIBITED_LANGUAGE
        ]
        object_patterns = [
            _OBJECT_SYNONYMS.get(w.rstrip("s"), rf"{re.escape(stem(w))}\w*") for w in object_words
        ]
        objects = re.compile(r"\b(?:" + "|".join(object_patterns) + ")", re.I) if object_patterns else None
        return cls(language=re.compile("|".join(patterns), re.I), objects=objects)

    def check(self, lines: Sequence[Line]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        for line in lines:
            text = line.text
            said = self.language.search(text)
            about = self.objects.search(text) if self.objects else None
            if said and (self.objects is None or about) and not _negated_before(text, said.start()):
                outcome.violate(line)
            elif about:
                outcome.follow(line)
        return outcome


_TAKES_THEIR_WORD = re.compile(
    r"\bI believe you\b|\btake your word\b|\bno need to (?:do|try|go through) (?:that|it|them|those)(?: again)?\b|"
    r"\bwon't (?:make|ask|have) you (?:do|try|to do|to try|doing|trying|going through)\b|\bno more of (?:that|those|it)\b|"
    r"\b(?:don't|won't) need to (?:do|try|repeat) (?:that|it|any of that|those)\b|"
    # The fault named as not the customer's: nothing left for them to try.
    r"\bnothing (?:at|on|wrong (?:at|on|with)) your (?:end|side|kit|equipment)\b|"
    r"\b(?:it's|it is|that's|that is) not (?:your|at your) (?:kit|equipment|end|side|router|setup)\b",
    re.I,
)


@dataclass(slots=True)
class AskProhibition(ClauseRule):
    """ "Don't ask for troubleshooting the customer has already done", "don't ask the customer to return
    the item before the replacement ships": asking for it breaks it; acknowledging it (or offering
    the sanctioned alternative) follows it."""

    asked: re.Pattern[str]
    alternative: re.Pattern[str] | None

    @classmethod
    def parse(cls, rest: str) -> AskProhibition | None:
        words = [
            w
            for w in _words(rest)[1:]
            if w not in _VAGUE_WORDS | {"already", "done", "item", "wrong", "replacement", "ships", "before"}
        ]
        for key, pattern in _ASK_OBJECTS.items():
            if any(stem(w).startswith(key[:6]) for w in words):
                return cls(re.compile(rf"\b(?:{pattern})", re.I), None)
        pattern = _stem_pattern(words[:2])
        return cls(pattern, None) if pattern else None

    def check(self, lines: Sequence[Line]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        for line in lines:
            text = line.text
            asked = self.asked.search(text)
            if not asked:
                if _TAKES_THEIR_WORD.search(text):
                    outcome.follow(line)  # "I believe you on the router"
                continue
            before = text[: asked.start()]
            if (
                re.search(r"\byou(?:'ve| have|'d| had)\s+(?:\w+\s+){0,2}$", before, re.I)
                and not re.search(
                    r"\b(?:once|when|after|if|as soon as|until)\s+you\S*\s+(?:\w+\s+){0,2}$", before, re.I
                )
                and not line.question
            ):
                outcome.follow(line)  # "you've restarted it twice": what they did, not a new ask
                continue
            if re.search(r"\bprepaid\b|\breturn label\b", text, re.I) and not _REQUEST.search(
                text[: asked.start()]
            ):
                outcome.follow(line)
            elif _negated_before(text, asked.start(), 6) or re.search(
                r"\byou(?:'ve| have)\b[^.!?]*\balready\b|\balready\b", text, re.I
            ):
                outcome.follow(line)
            elif _REQUEST.search(text) and not re.search(r"\bprepaid\b|\blabel\b|\bwhenever\b", text, re.I):
                outcome.violate(line)
        return outcome


_OBLIGATION = re.compile(
    r"^(?:(?P<condition>(?:if|when)\b[^,]+),\s*)?(?:please\s+)?"
    r"(?P<verb>offer|explain|direct|confirm|process|provide|give|tell|ask|send|mention|share|say|cancel|"
    r"refer|call)\b(?P<rest>[^;]*)",
    re.I,
)
_PEOPLE = {"customer", "customers", "them", "caller", "user"}
_NOUN_SYNONYMS: dict[str, str] = {
    "callback": r"call ?back|call you|a call|ring you|phone you|give you a (?:ring|call|bell)",
    "confirmation": r"confirm\w*|reference|ref\b",  # a reference code confirms it
    "email": r"e-?mail\w*|[\w.+-]+@[\w-]+\.\w+|inbox",  # sent "to linda@example.com", "in your inbox"
    "reference": r"reference|ref\b",
    "number": r"number|\b[A-Z]{2,}-?\d{3,}|#\s?\d+",
    "discount": r"discount\w*|\d+\s?% off|percent off|off your",
    "credit": r"credit\w*",
}
_REFUSAL_TURN = re.compile(
    r"\bI (?:really |just |simply )?(?:can't|cannot|won't be able|'m not able|am not able|'m unable)\b|\bno refund\b|"
    r"\b(?:isn't|is not|not) possible\b|\bwe (?:can't|cannot|don't)\b|\b(?:outside|past) (?:the|our) (?:\w+ )?window\b",
    re.I,
)
_REASON = re.compile(
    r"\bbecause\b|\bsince\b|\bso that\b|\bthe reason\b|\bthat's why\b|\bwhich is why\b|\bis how we\b|\bthat keeps\b|"
    r"\bcan't be resold\b|\bas new\b",
    re.I,
)
_FIRST_PERSON = re.compile(r"\bI(?:'m|'ll|'ve|'d)?\b|\bwe(?:'ll|'re|'ve)?\b|^\s*(?:okay, )?\w+ed\b", re.I)
_NAME_GIVEN = re.compile(
    r"\b(?i:my name(?:'s| is)|I'm|I am|this is)\s+(?!(?:Sorry|So|Here|Going|Afraid|Really|Not|Just|Happy|Glad)\b)[A-Z][a-z]+\b|"
    # "It's Sam here", "Sam here, by the way"
    r"(?:^\W*|\b(?i:it's|its)\s+)(?!(?:Right|Okay|Ok|Yes|Hi|Hello|Thanks|Everything|Nothing|All|Someone)\b)[A-Z][a-z]+ here\b"
)
_SELF_CALL = re.compile(
    r"\bI(?:'ll| will)\b[^.!?]{0,30}\b(?:call|ring|phone)\b[^.!?]*\b(?:myself|personally)\b|"
    r"\bI(?:'ll| will) personally (?:call|ring|phone)\b|"
    # "I'll call you tonight around 7": the rep, in the first person singular, is the one calling.
    r"\bI(?:'ll| will) (?:call|ring|phone) you\b(?! back if)|\bI(?:'ll| will) give you a (?:call|ring|bell)\b|"
    r"\b(?:a|another) (?:call|ring) from me\b",
    re.I,
)
_DONE_CANCEL = re.compile(
    r"\b(?:I(?:'ve| have)|I(?:'ll| will)|I'm|we've|we have)\b[^.!?]{0,30}\bcancel\w*|\bcancell?ation is\b|"
    r"^\W*(?:[\w ]{1,20},\s*)?(?:all )?cancell?ed[.!]?\s*$|^\W*(?:[\w ]{1,20},\s*)?cancell?ing (?:it|that|this|your \w+)(?: for you)? (?:now|right now)\b|\b(?:is|it's|that's|it is|you're|you are) (?:now |all )?cancell?ed\b|\bcancell?ed (?:it|your)\b",
    re.I,
)
_CANCEL_REFUSAL = re.compile(
    r"\b(?:can't|cannot|not able to|unable to|won't)\b[^.!?]{0,20}\bcancel\w*|\byou(?:'ll)? (?:need|have) to (?:call|use the app|cancel)|"
    # sent elsewhere to do it: "I'd need you to call our retention team to cancel"
    r"\b(?:I|we)(?:'d| would| will|'ll)? need you to (?:call|ring|phone|email|contact|use|go)\b[^.!?]*\bcancel|"
    # put off to another day: "can you call back tomorrow?"
    r"\bcancel\w*\b[^.!?]*\b(?:call|ring|phone|try|come) (?:us )?back (?:later|tomorrow|next week|another (?:day|time)|in a few days)\b",
    re.I,
)


# Saying what happened, not just naming it: "you were charged twice", "the second payment was a mistake".
_EXPLAINS = re.compile(
    r"\b(?:was|were|is|are|happened|because|twice|duplicate|means|which is|shouldn't have|"
    r"came from|comes from|caused|due to|renew\w*|that's why|which is why)\b",
    re.I,
)


@dataclass(slots=True)
class PlainExplanation(ClauseRule):
    """ "Explain charges in plain words": a clean sentence about the topic with no internal acronym
    follows it (the listed jargon, if any, is a Prohibition of its own)."""

    topic: re.Pattern[str]

    @classmethod
    def parse(cls, clause: str) -> PlainExplanation | None:
        match = re.match(
            r"\s*explain (?:the |any )?(?P<topic>[a-z]+) (?:in|using) (?:plain|simple|everyday|clear)\b",
            clause,
            re.I,
        )
        if not match:
            return None
        topic = match.group("topic")
        synonyms = {"charge": r"charg\w*|bill\w*|payments?|paid|taken"}
        return cls(_stem_pattern([topic], synonyms))  # type: ignore[arg-type]

    def check(self, lines: Sequence[Line]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        discussed = False
        for line in lines:
            text = line.text
            discussed = discussed or bool(self.topic.search(text))
            if (
                not line.question
                and self.topic.search(text)
                and _EXPLAINS.search(text)
                and not jargon_terms(text)
            ):
                outcome.follow(line)
        if discussed and outcome.followed is None and len({line.turn for line in lines}) >= 3:
            # The charge came up in a full conversation and was never explained: the same
            # omission rule as any other required step.
            outcome.violations.append(Hit(-1, ""))
        return outcome


@dataclass(slots=True)
class Obligation(ClauseRule):
    """ "Offer store credit as an alternative": done when the rep says it; missed when never said."""

    # Every part must be met somewhere: its head noun (the last pattern) and half of its other words.
    parts: list[list[re.Pattern[str]]]
    channel: re.Pattern[str] | None
    needs_action: bool
    timed: list[bool]  # parts that need a time said with them ("a callback time", "say when …")
    explains_reason: bool
    on_refusal: bool
    cancels: bool = False
    optional: bool = False  # "… instead": an alternative to offer when it comes up, never a miss
    statement: bool = True  # "send", "give": done by saying it, not by asking about it

    @classmethod
    def parse(cls, clause: str) -> Obligation | None:
        match = _OBLIGATION.search(clause.strip())
        if not match:
            return None
        verb = match.group("verb").lower()
        rest = match.group("rest").lower()
        condition = (match.group("condition") or "").lower()
        on_refusal = "refus" in rest or "refus" in condition
        if verb == "explain" and "reason" in rest:
            return cls([], None, False, [], True, on_refusal)
        if verb == "cancel":
            return cls([], None, False, [], False, False, cancels=True)
        if verb == "refer":
            return None  # "refer to what already happened": judged by RepeatAsk
        parts: list[list[re.Pattern[str]]] = []
        timed: list[bool] = []
        channel = None
        optional = bool(re.search(r"\binstead\b", rest))
        for piece in re.split(r"\band\b", rest) if verb == "give" else [rest]:
            piece = re.sub(r"^[\s,]*(?:say|tell(?: them| the customer)?|explain)\s+", " ", piece)
            when = bool(re.match(r"\s*when\b", piece)) or verb == "say" and bool(re.match(r"\s*when\b", rest))
            if re.match(r"\s*call ?back\b.*\b(?:yourself|personally)\b", piece):
                parts.append([_SELF_CALL])  # "and call back yourself"
                timed.append(False)
                continue
            split = re.split(r"\b(as|at|to|for|by|via|before|after|if|with)\b", piece, maxsplit=1)
            obj = split[0]
            if when:  # "say when the confirmation email will arrive": the email, and a time
                obj = re.split(r"\b(?:will|would|'ll|arrives?|comes?|gets?)\b", piece)[0]
            preposition, tail = (split[1], split[2]) if len(split) == 3 else ("", "")
            words = [
                w
                for w in re.findall(r"[a-z]+", obj)
                if w not in STOPWORDS | {"when", "time", "yourself", "instead", "alternative"}
            ]
            if "name" in words and re.search(r"\byour name\b", obj):
                parts.append([_NAME_GIVEN])
                timed.append(False)
                continue
            if set(words) <= _PEOPLE or words == []:
                # "Direct the customer to the status page": the destination is what must be said.
                words = [
                    w for w in re.findall(r"[a-z]+", re.split(r"\bfor\b", tail)[0]) if w not in STOPWORDS
                ]
                if not words and condition:
                    words = [
                        w for w in re.findall(r"[a-z]+", condition) if w not in STOPWORDS and w not in _PEOPLE
                    ][-1:]
            words = [w for w in words if w not in _PEOPLE]
            if preposition in {"by", "via"}:
                channel_words = [w for w in re.findall(r"[a-z]+", tail) if w not in STOPWORDS][:1]
                channel = re.compile(rf"\b{stem(channel_words[0])}\w*", re.I) if channel_words else None
            if channel:
                # "Confirm X by email": the channel plus the confirmation itself (or any part of X) is enough.
                any_word = "|".join([re.escape(stem(verb))] + [re.escape(stem(w)) for w in words])
                parts.append([re.compile(rf"\b(?:{any_word})\w*", re.I)])
                timed.append(when)
            elif words:
                timed.append(when or bool(re.search(r"\b(?:callback|call ?back) time\b", piece)))
                parts.append(
                    [
                        re.compile(r"(?:\b" + _NOUN_SYNONYMS.get(w, re.escape(stem(w)) + r"\w*") + ")", re.I)
                        for w in words
                    ]
                )
        if not parts:
            return None
        statement = verb not in {"offer", "ask"}
        return cls(
            parts,
            channel,
            verb == "process",
            timed,
            False,
            on_refusal,
            optional=optional,
            statement=statement,
        )

    def check(self, lines: Sequence[Line]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        refusals = [line for line in lines if line.clean and _REFUSAL_TURN.search(line.text)]
        if self.explains_reason:
            return self._check_reason(lines, refusals)
        if self.cancels:
            done = next(
                (
                    line
                    for line in lines
                    if line.clean and _DONE_CANCEL.search(line.text) and not _CANCEL_REFUSAL.search(line.text)
                ),
                None,
            )
            refused = next((line for line in lines if _CANCEL_REFUSAL.search(line.text)), None)
            if refused and (done is None or refused.turn < done.turn):
                outcome.violate(refused)
            elif done:
                outcome.follow(done)
            return outcome
        met: list[Line] = []
        for part, timed in zip(self.parts, self.timed, strict=True):
            line = next(
                (line for line in lines if line.clean and self._satisfied(part, timed, line)),
                None,
            )
            if line is None:
                break
            met.append(line)
        if len(met) == len(self.parts):
            outcome.follow(min(met, key=lambda line: line.turn))
            return outcome
        if self.on_refusal and refusals:
            outcome.violate(refusals[0])
        elif not (self.on_refusal or self.optional) and len({line.turn for line in lines}) >= 3:
            # Never done in a full conversation: a miss with no single turn to point at.
            outcome.violations.append(Hit(-1, ""))
        return outcome

    def _satisfied(self, part: list[re.Pattern[str]], timed: bool, line: Line) -> bool:
        text = line.text
        if self.channel and not self.channel.search(text):
            return False
        if self.statement and line.question:
            return False  # "could you confirm the email?" doesn't send one
        hits = 0
        for pattern in part:
            match = pattern.search(text)
            if match and not _negated_before(text, match.start()):
                hits += 1
        head = part[-1].search(text)
        if head is None or _negated_before(text, head.start()):
            return False
        if hits - 1 < (len(part) - 1) // 2:
            return False
        if timed and not (durations(text) or clock_hours(text) or days_named(text)):
            return False
        return not self.needs_action or bool(_FIRST_PERSON.search(text))

    @staticmethod
    def _check_reason(lines: Sequence[Line], refusals: list[Line]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        if not refusals:
            return outcome
        for refusal in refusals:
            if any(line.clean and line.turn == refusal.turn and _REASON.search(line.text) for line in lines):
                outcome.follow(refusal)
                return outcome
        outcome.violate(refusals[0])
        return outcome


@dataclass(slots=True)
class RepeatAsk(ClauseRule):
    """ "Check the case history before answering; refer to what already happened instead of asking the
    customer to repeat it": asking for the story again breaks it; referring to the history follows it."""

    @classmethod
    def parse(cls, clause: str) -> RepeatAsk | None:
        if re.search(
            r"\b(?:check|read|review)\b[^.;]*\b(?:history|notes|record)\b|\binstead of asking\b[^.;]*\brepeat",
            clause,
            re.I,
        ):
            return cls()
        return None

    _ASKS = re.compile(
        _ASK_OBJECTS["repeat"]
        + r"|\bcan you (?:tell|give) me (?:the|your) case\b|\bwhat(?:'s| is) (?:your|the) case number\b"
        # asking the customer for what the case already records: "confirm the dates they were booked"
        + r"|\b(?:confirm|tell me|remind me|let me know)\b[^.?!]{0,60}\b(?:were|was|did|had)\b",
        re.I,
    )
    _REFERS = re.compile(
        r"\bI (?:can )?see (?:on|in|from|that|here|your|case|the case|the notes)\b|\bI(?:'ve| have) (?:read|checked|looked at|gone through|got)\b[^.!?]*\b(?:history|notes|case|file)\b|"
        r"\b(?:history|notes|file|record|case) (?:shows?|says)\b|\b(?:on|in) (?:your|the) (?:case|file|notes|history)\b|"
        r"\byou(?:'ve| have) (?:already )?(?:called|been|had)\b|\b(?:looking at|going by|according to) (?:your|the) (?:case|history|notes|file|record)|"
        r"\bI(?:'ve| have) (?:pulled|brought) up\b|\b(?:pull|open|check|read|review|go through)(?:ing)? (?:up )?(?:the|your) (?:whole |full )?(?:case )?(?:history|notes|file|record)\b|"
        # The case named by its reference as in front of the rep: "I can see WR-5521", "I have WR-5521 open".
        r"\bI (?:can )?see (?:case )?[A-Z]{2,}-?\d{3,}|\bI(?:'ve| have) (?:case )?[A-Z]{2,}-?\d{3,} (?:open|up|here|in front)\b|\bI(?:'ve| have) (?:read|looked|gone|been) (?:through|over)\b|\bI'm looking at (?:your|the)? ?case\b|\bI can see (?:two|both|the|that|\d+)\b",
        re.I,
    )

    def check(self, lines: Sequence[Line]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        for line in lines:
            asked = self._ASKS.search(line.text)
            if asked and _REQUEST.search(line.text) and not _negated_before(line.text, asked.start(), 6):
                outcome.violate(line)
            elif self._REFERS.search(line.text):
                outcome.follow(line)
        return outcome


_FACT_SUBJECT_STOP = frozenset(
    {"customer", "customers", "item", "items", "system", "today", "free", "automatically", "store", "any", "full",
     "upcoming", "faulty", "wrong", "when", "shipped", "calculated", "because", "next", "bill", "outage", "over",
     "hours", "from", "collected", "logs", "network", "covered", "applied", "that", "cutoff", "packed"}
)  # fmt: skip
_GRANTED_IN_FULL = re.compile(
    r"\bin full\b|\bfull (?:\$?[\d.]+ )?(?:refund|back)\b|\bwon't (?:be sent|come|arrive|be charged)\b|"
    r"\bget (?:the )?(?:full )?(?:\$[\d.]+ )?back\b",
    re.I,
)
_CHEAPER_SHIPPING = re.compile(
    r"\b(?:standard|ground|regular|economy|normal) (?:shipping|delivery|post)\b", re.I
)
_CLAIM_IT = re.compile(
    r"\byou(?:'ll| will)? (?:need|have|must) to (?:claim|request|apply|fill|submit|call|ask|email|contact)\w*|"
    r"\b(?:claim|request|apply for) (?:it|the \w+|an? \w+|compensation|credit|money)\b(?! for you)|\bfill (?:in|out) (?:a|the) form\b|"
    r"\bif you (?:ring|call|contact|email|ask|phone)\b|\b(?:ring|call|contact) (?:billing|us|the \w+ team)\b[^.!?]*\bask\b|"
    # "give billing a ring and ask for it": the customer sent to chase what comes by itself.
    r"\bgive (?:billing|us|them|support|the \w+(?: team)?) a (?:ring|call|shout|bell)\b|\bask (?:them |us |billing )?for (?:it|the \w+|an? \w+)\b",
    re.I,
)
_DENIAL = re.compile(
    r"\b(?:too late|already (?:been )?packed|past the cutoff|not (?:eligible|covered|free|available)|isn't (?:covered|free|available)|"
    r"partial refund|half (?:the|a) refund|only refund (?:half|part)|no (?:loaners?|hotspots?)|not in stock|out of stock|"
    r"(?:be|get|still be) charged for|already on (?:its|the) way|already (?:shipped|sent|gone out)|"
    r"(?:can|could) only refund (?:half|part|some)|will still (?:come|arrive|be charged)|"
    r"cut-?off (?:\w+ ){0,3}(?:passed|gone))\b",
    re.I,
)


@dataclass(slots=True)
class Fact(ClauseRule):
    """A sanctioned fact: "a free replacement shipped within 2 business days", "faulty items within one
    year are covered", "credits are applied automatically", "the box can be skipped and refunded in
    full", "a loaner can be collected free". Telling it (or doing it) follows the clause; a different
    quantity, a charge for something free, sending the customer to claim what is automatic, or
    denying what is allowed breaks it."""

    subject: re.Pattern[str]
    spans: list[Span]
    coverage: bool
    free: bool
    automatic: bool
    express: bool
    allowed: re.Pattern[str] | None
    days: set[str]
    hours: list[Span]

    @classmethod
    def parse(cls, clause: str, whole_policy: str) -> Fact | None:
        free = bool(re.search(r"\bfree\b|\bno charge\b|\bno cost\b|\bfree of charge\b", clause, re.I))
        automatic = bool(re.search(r"\bautomatic\w*\b", clause, re.I))
        allowed_verbs = re.findall(r"\bcan be (\w+)(?: and (\w+))?", clause, re.I)
        spans = [s for s in durations(clause) if s.high >= 1 / 24]
        coverage = bool(re.search(r"\b(?:covered|warranty|guarantee|eligible|valid)\b", clause, re.I))
        express = bool(re.search(r"\bovernight\b|\bexpress\b", clause, re.I))
        if not (free or automatic or allowed_verbs or spans or express):
            return None
        nouns = [
            w
            for w in _words(clause)
            if w not in _FACT_SUBJECT_STOP and len(w) > 3 and not re.fullmatch(r"\d+\w*", w)
        ]
        heads = re.findall(  # what the fact is about, in the customer's words too
            r"\b(warranty|replacement|credits?|hotspot|loaner|box(?:es)?|refund|label|exchange|upgrade|pause)\b",
            clause,
            re.I,
        )
        words = sorted({h.lower().rstrip("s") if h.lower() != "boxes" else "box" for h in heads}) or nouns[:2]
        if express:
            words += ["overnight", "express"]
        if allowed_verbs and re.search(r"\bcut-?off\b|\bdeadline\b", clause, re.I):
            words += ["cutoff"]  # "the cutoff has passed" speaks of what "before that cutoff" allows
        subject = _stem_pattern(
            words,
            {
                "box": r"box(?:es)?\b|delivery\b|order\b",
                "credit": r"credit\w*|money off|compensation",
                "cutoff": r"cut-?off|deadline",
            },
        )
        if subject is None:
            return None
        verbs = [v for pair in allowed_verbs for v in pair if v]
        allowed = _stem_pattern(verbs) if verbs else None
        days = days_named(whole_policy) - {"date"}
        hours = clock_hours(clause)
        return cls(subject, spans, coverage, free, automatic, express, allowed, days, hours)

    def check(self, lines: Sequence[Line]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        named_in_turn = -1  # the turn whose earlier sentence named the subject
        for line in lines:
            verdict = self._judge(line.text)
            if verdict is None and named_in_turn == line.turn and self._does_allowed_to_it(line.text):
                verdict = "followed"  # "Thursday's box isn't packed yet. I've skipped it and refunded it."
            if self.subject.search(line.text):
                named_in_turn = line.turn
            if verdict == "violated":
                outcome.violate(line)
            elif verdict == "followed":
                outcome.follow(line)
        return outcome

    def _judge(self, sentence: str) -> str | None:
        """The verdict of the sentence's clauses that talk about the subject ("your warranty covers 12
        months, so I can send a free replacement" has one clause per fact)."""
        if self.express and _CHEAPER_SHIPPING.search(sentence):
            return "violated"
        verdicts = [self._judge_clause(part) for part in _sub_clauses(sentence) if self.subject.search(part)]
        if not verdicts and self.subject.search(sentence):
            verdicts = [self._judge_clause(sentence)]
        if not verdicts and self._refuses_allowed_to_it(sentence):
            return "violated"  # "I can skip it, but I can't refund it": the policy's own act, refused
        if verdicts and _DENIAL.search(sentence):
            return "violated"  # "Thursday's box will still come, and I can only refund half of it"
        if self.express and _CHEAPER_SHIPPING.search(sentence):
            return "violated"  # standard post for what ships overnight, whatever the sentence calls it
        if verdicts and self.free and self._charges(sentence):
            return "violated"  # "has 4G hotspots, but they charge a $20 deposit"
        if "violated" in verdicts:
            return "violated"
        if "followed" in verdicts:
            return "followed"
        # "Grab a hotspot from Market Street, it's on loan at no cost": the fact told across clauses.
        told = verdicts and self._tells(sentence) and not _CONDITIONAL.search(sentence)
        return "followed" if told and not sentence.rstrip().endswith("?") else None

    def _judge_clause(self, text: str) -> str | None:
        mention = self.subject.search(text)
        if not mention:
            return None
        if text.rstrip().endswith("?") and not self._asserted_quantity(text):
            return None
        if _DENIAL.search(text):
            return "violated"
        if self.coverage and re.search(
            r"\b(?:expired|lapsed|ran out|run out|out of warranty|no longer covered)\b", text, re.I
        ):
            return "violated"  # "the warranty's expired on that one"
        if self.allowed:
            verb = self.allowed.search(text)
            if (
                verb
                and _negated_before(text, verb.start(), 5)
                and not re.search(r"\bno need\b|\bdon't need\b|\bwon't need\b", text, re.I)
            ):
                return "violated"
        if _negated_before(text, mention.start(), 3) and not re.search(
            # "no more boxes" says future ones stop, not that this one can't be skipped
            r"\bno (?:charge|cost|need)\b|\bno (?:more|further)\b",
            text,
            re.I,
        ):
            return "violated"
        if self.free and self._charges(text):
            return "violated"
        claim = _CLAIM_IT.search(text) if self.automatic else None
        if (
            claim
            and not _negated_before(text, claim.start(), 4)
            # "I'll ask billing for it" is the rep doing the chasing, not sending the customer
            and not re.search(
                r"\b(?:I|we)(?:'ll| will|'m going to)?\s+(?:\w+\s+)?$", text[: claim.start()], re.I
            )
        ):
            return "violated"
        if self.express and _CHEAPER_SHIPPING.search(text):
            return "violated"
        quantity = self._asserted_quantity(text)
        if quantity is not None:
            return quantity
        if self._cutoff_mismatch(text):
            return "violated"
        if _CONDITIONAL.search(text) and not self.allowed:
            return None
        return "followed" if self._tells(text) else None

    def _refuses_allowed_to_it(self, text: str) -> bool:
        """The act the policy allows, refused on "it" ("I can't refund it", "it can't be skipped now"):
        the verbs the policy names are specific enough to stand for its subject."""
        if not self.allowed or text.rstrip().endswith("?"):
            return False
        for verb in self.allowed.finditer(text):
            on_it = re.match(r"\s+(?:it|them|that|this one)\b", text[verb.end() :], re.I) or re.search(
                r"\b(?:it|that|this one) (?:can't|cannot|can not|won't) be\s+$", text[: verb.start()], re.I
            )
            if on_it and _DENIAL.search(text):
                return True  # "I'd love to skip it, but it's already been packed"
            if (
                on_it
                and _negated_before(text, verb.start(), 5)
                and not re.search(r"\bno need\b|\bdon't need\b|\bwon't need\b", text, re.I)
                and not _CONDITIONAL.search(_clause_at(text, verb.start()))
            ):
                return True
        return False

    def _does_allowed_to_it(self, text: str) -> bool:
        """The allowed act done by the rep to "it"/"them" (the subject named just before)."""
        verb = self.allowed.search(text) if self.allowed else None
        return bool(
            verb
            and re.search(r"\b(?:it|them)\b", text[verb.start() :], re.I)
            and re.search(_GRANT_LEAD + r"|\bdone\b", text[: verb.start()], re.I)
            and _asserts(text)
            and not _negated_before(text, verb.start(), 5)
        )

    def _tells(self, text: str) -> bool:
        """The clause says what the fact says (free, automatic, overnight, covered, skipped and
        refunded…), not merely names its subject ("a refund of the second charge")."""
        checks = [
            self.free
            and re.search(r"\bfree\b|\bno (?:charge|cost)\b|\bon us\b|\bwon't cost\b|\bat no\b", text, re.I),
            self.automatic
            and re.search(
                r"\bautomatic\w*|\bno need to (?:claim|ask|call)|\b(?:don't|won't) (?:need|have) to\b|"
                r"\bby itself\b|\bon its own\b|\bnothing (?:to|you need to) (?:claim|do|ask)\b",
                text,
                re.I,
            ),
            self.express and re.search(r"\bovernight\b|\bexpress\b", text, re.I),
            self.coverage and re.search(r"\bcover\w*|\bwarrant\w*|\bguarant\w*", text, re.I),
            self.allowed and (self.allowed.search(text) or _GRANTED_IN_FULL.search(text)),
            bool(self.spans) and bool(durations(text)),
        ]
        return any(checks)

    @staticmethod
    def _charges(text: str) -> bool:
        if _PAST.search(text) and not _FUTURE.search(text):
            return False  # "you paid $25 for express on the first one" tells what already happened
        charged = [value for unit, value, _ in amounts(text) if unit != "%" and value > 0]
        if charged and not re.search(r"\b(?:refund|back|credit|reimburs)\w*", text, re.I):
            return True
        charge = re.search(
            r"\b(?:you(?:'ll| will)? (?:need|have) to pay|there(?:'s| is) a (?:fee|charge|deposit)|costs? (?:you|extra)|"
            r"rental fee|deposit|charge (?:you|a|for))\b",
            text,
            re.I,
        )
        return bool(charge) and not _negated_before(text, charge.start(), 3)

    def _asserted_quantity(self, text: str) -> str | None:
        """Compare durations said about the subject with the policy's ("12 months" is "one year")."""
        if not self.spans:
            return None
        said = [s for s in durations(text) if s.high >= 1 / 24 or s.high == 0]
        if not said:
            return None
        target = max(self.spans, key=lambda s: s.high)
        for span in said:
            if target.high == math.inf or span.high == math.inf:
                # A threshold ("any outage over 4 hours"): the same threshold, or none, is the fact.
                if target.high == math.inf and span.high == math.inf and abs(span.low - target.low) > 0.01:
                    return "violated"
                continue
            if abs(span.high - target.high) <= max(0.5, target.high * 0.02):
                continue  # 12 months vs one year: 360 vs 365 days
            if span.high > target.high or self.coverage:
                return "violated"
        return "followed"

    def _cutoff_mismatch(self, text: str) -> bool:
        if not re.search(r"\bcut-?off\b|\bdeadline\b", text, re.I):
            return False
        weekdays = "|".join(_WEEKDAYS)
        named = re.findall(
            rf"\b({weekdays})(?:'s)?\s+(?:\S+\s+)?cut-?off|cut-?off\s+(?:is|was|on|at)\s+(?:\w+\s+)?({weekdays})",
            text,
            re.I,
        )
        days = {day.lower() for pair in named for day in pair if day}
        return bool(self.days and days and not days & self.days)


def parse_policy(text: str) -> list[ClauseRule]:
    """The policy's clauses, each as the rule family its wording belongs to (unrecognised clauses drop out)."""
    return list(_parse_policy(text))


@functools.lru_cache(maxsize=4096)
def _parse_policy(text: str) -> tuple[ClauseRule, ...]:
    """Cached per process: a scenario's policies are parsed once, not once per transcript. Rules
    hold no state between checks, so sharing them across threads is safe."""
    rules: list[ClauseRule] = []
    for clause in re.split(r";|\.\s+|\.$|\s[—–]\s|,\s*but\s+", text):
        clause = clause.strip()
        if not clause:
            continue
        rule = (
            RepeatAsk.parse(clause)
            or VerifyFirst.parse(clause)
            or CountLimit.parse(clause)
            or AmountLimit.parse(clause)
            or TimePromise.parse(clause, text)
            or PromiseUntil.parse(clause)
            or Restriction.parse(clause)
            or CannotDo.parse(clause)
            or Prohibition.parse(clause)
            or PlainExplanation.parse(clause)
            or Obligation.parse(clause)
            # The time a policy sanctions ("the system shows … by 6pm") belongs to its TimePromise.
            or (None if any(isinstance(r, TimePromise) for r in rules) else Fact.parse(clause, text))
        )
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def _finding(index: int, rules: Sequence[ClauseRule], lines: Sequence[Line]) -> PolicyFinding:
    outcomes = [rule.check(lines) for rule in rules]
    violations = sorted(
        (hit for o in outcomes for hit in o.violations), key=lambda hit: (hit.turn < 0, hit.turn)
    )
    followed = [o.followed for o in outcomes if o.followed is not None]
    if violations:
        first = violations[0]
        turn = first.turn if first.turn >= 0 else None
        return PolicyFinding(index, "violated", turn, first.quote or None, tuple(violations))
    if followed:
        first = min(followed, key=lambda hit: hit.turn)
        return PolicyFinding(index, "followed", first.turn, first.quote, ())
    return PolicyFinding(index, "not_applicable", None, None, ())


def evaluate_policies(policies: Sequence[str], turns: Sequence[TurnAnalysis]) -> list[PolicyFinding]:
    """One finding per policy (0-based), from the rep's analysed turns."""
    return _evaluate(policies, _lines_of(turns))


def evaluate_rep_lines(policies: Sequence[str], rep_turns: Sequence[tuple[int, str]]) -> list[PolicyFinding]:
    """The same findings from raw rep turns ((transcript turn index, text) pairs), for callers and
    tests that have no signal analysis; injection text is recognised with the scorer's pattern."""
    return _evaluate(policies, _raw_lines(rep_turns))


def _raw_lines(rep_turns: Sequence[tuple[int, str]]) -> list[Line]:
    return [
        _line(turn, s.text, not INJECTION.search(s.text))
        for turn, text in rep_turns
        for s in split_sentences(text)
    ]


def _evaluate(policies: Sequence[str], lines: Sequence[Line]) -> list[PolicyFinding]:
    return [_finding(index, parse_policy(policy), lines) for index, policy in enumerate(policies)]


def line_violations(policies: Sequence[str], text: str) -> list[int]:
    """0-based indexes of the policies one candidate line would break on its own (used to vet a
    suggested "better version" before it is shown). Omissions don't count: a single line can't be
    blamed for what the rest of a conversation should have done."""
    lines = _raw_lines([(0, text)])
    broken = []
    for index, policy in enumerate(policies):
        # Order-dependent rules (verify first, must-do) need the whole conversation to judge.
        rules = [r for r in parse_policy(policy) if not isinstance(r, VerifyFirst | Obligation)]
        finding = _finding(index, rules, lines)
        if any(hit.turn >= 0 for hit in finding.violations):
            broken.append(index)
    return broken
