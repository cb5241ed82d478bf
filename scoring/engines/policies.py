"""Checks a rep's turns against the scenario's written policies, one policy sentence at a time.

Policies are free text, so each clause is recognised as one of a few families by its wording
(verify-first, amount limits, "never promise a date", restrictions, prohibitions, obligations) and
checked with patterns built from the clause itself: its identifier, amount, object nouns. A clause
the parser does not recognise stays `not_applicable`: better honest silence than a guessed verdict.
Text flagged as an injection attempt can break a policy but never counts as following one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from scoring.engines.signals import STOPWORDS, SentenceSignals, TurnAnalysis, stem

# --- outcome types --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hit:
    turn: int
    quote: str


@dataclass(slots=True)
class ClauseOutcome:
    followed: Hit | None = None
    violations: list[Hit] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PolicyFinding:
    policy: int
    status: str
    turn: int | None
    quote: str | None
    violations: tuple[Hit, ...]


def _clauses_of(turns: Sequence[TurnAnalysis]) -> list[tuple[int, SentenceSignals, bool]]:
    """(turn index, sentence, is_clean) for every rep sentence, in order."""
    return [(t.index, s, "injection" not in s.found) for t in turns for s in t.sentences]


_NEGATION = re.compile(r"\b(?:no|not|never|can't|cannot|won't|isn't|don't|unable|nobody|n't)\b", re.I)


def _negated_before(text: str, position: int) -> bool:
    """A negator within the four words before `position` ("I can't refund", "no refund")."""
    window = " ".join(text[:position].split()[-4:])
    return bool(_NEGATION.search(window))


def _sub_clauses(text: str) -> list[str]:
    return [part for part in re.split(r"[,;:]| and (?=if|it|the|you)", text) if part.strip()]


# --- families -------------------------------------------------------------------------------------


class ClauseRule:
    def check(self, turns: Sequence[TurnAnalysis]) -> ClauseOutcome:  # pragma: no cover - interface
        raise NotImplementedError


_DETAIL = re.compile(
    r"\b(?:charge|charged|refund\w*|credit|fee|payment|order|ship\w*|replacement|courier|ticket|job|visit\w*|"
    r"technician|tech|engineer|upgrade|invoice|seat|plan|bundle\w*|router|warehouse|escalat\w*|queue|"
    r"work order|eta|fault)\b",
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
            r"\b(?:verify|confirm|check)\b (?:the )?(?P<thing>[^.;,]+?)\b(?:first|before)\b", clause, re.I
        )
        if not match:
            return None
        thing = match.group("thing").lower()
        if "email" in thing:
            return cls(re.compile(r"\be-?mail\b", re.I), re.compile(r"\S+@\S+"))
        heads = [
            w for w in re.findall(r"[a-z]+", thing) if w not in STOPWORDS and w not in {"number", "holder's"}
        ]
        head = "|".join(re.escape(w) for w in heads) or "number"
        return cls(re.compile(rf"\b(?:{head})\b(?:\s+number)?|\bnumber\b", re.I), re.compile(r"\d[\d-]{3,}"))

    def check(self, turns: Sequence[TurnAnalysis]) -> ClauseOutcome:
        verified_at: Hit | None = None
        details_at: Hit | None = None
        for turn, sentence, clean in _clauses_of(turns):
            text = sentence.sentence.text
            asking = "question" in sentence.found and self.asks.search(text)
            if clean and verified_at is None and (asking or self.echo.search(text)):
                verified_at = Hit(turn, text)
            elif details_at is None and "question" not in sentence.found and _DETAIL.search(text):
                details_at = Hit(turn, text)
        outcome = ClauseOutcome()
        if details_at and (verified_at is None or verified_at.turn > details_at.turn):
            outcome.violations.append(details_at)
        elif verified_at:
            outcome.followed = verified_at
        return outcome


_AMOUNT = re.compile(r"(?P<dollar>\$\s?(?P<d>\d+(?:\.\d+)?))|(?P<p>\d+(?:\.\d+)?)\s?%")


@dataclass(slots=True)
class AmountLimit(ClauseRule):
    """ "A goodwill credit of up to $20, once": any larger offer, or a second offer, breaks it."""

    unit: str
    limit: float
    subject: re.Pattern[str]
    max_offers: int | None

    @classmethod
    def parse(cls, clause: str) -> AmountLimit | None:
        match = re.search(
            r"\b(?:up to|at most|maximum(?: of)?|max(?:imum)?|no more than|not exceed(?:ing)?)\s+(?:of\s+)?"
            r"(?:\$\s?(?P<d>\d+(?:\.\d+)?)|(?P<p>\d+(?:\.\d+)?)\s?%)",
            clause,
            re.I,
        )
        if not match:
            return None
        unit = "$" if match.group("d") else "%"
        limit = float(match.group("d") or match.group("p"))
        nouns = re.findall(r"\b(credit|discount|refund|voucher|compensation|coupon)\b", clause, re.I)
        words = {n.lower() for n in nouns} or {"credit"}
        if "discount" in words:
            words.add("off")
        subject = re.compile(r"\b(?:" + "|".join(sorted(words)) + r")\b", re.I)
        once = re.search(r"\b(?:once|one)\b", clause, re.I)
        return cls(unit=unit, limit=limit, subject=subject, max_offers=1 if once else None)

    def check(self, turns: Sequence[TurnAnalysis]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        offers: list[tuple[Hit, bool]] = []
        previous_turn_offer = -1
        for turn, sentence, clean in _clauses_of(turns):
            text = sentence.sentence.text
            amounts = self._new_offers(
                text,
                continuing=previous_turn_offer == turn or (bool(offers) and "question" in sentence.found),
            )
            for amount in amounts:
                hit = Hit(turn, text)
                offers.append((hit, clean))
                if amount > self.limit:
                    outcome.violations.append(hit)
            if amounts:
                previous_turn_offer = turn
        if self.max_offers is not None and len(offers) > self.max_offers:
            outcome.violations.append(offers[self.max_offers][0])
        clean_offers = [hit for hit, clean in offers if clean]
        if clean_offers and not outcome.violations:
            outcome.followed = clean_offers[0]
        return outcome

    def _new_offers(self, text: str, *, continuing: bool) -> list[float]:
        """Amounts offered in this sentence; "the $20 credit" refers back to an earlier offer."""
        found: list[float] = []
        mentions_subject = bool(self.subject.search(text))
        for match in _AMOUNT.finditer(text):
            unit = "$" if match.group("dollar") else "%"
            if unit != self.unit or _negated_before(text, match.start()):
                continue
            before = text[: match.start()].lower()
            if before.rstrip().endswith(("the", "full")):
                continue
            # A bare amount right after an offer ("make it $40", "what about 50% then?") revises the offer.
            adds_on = continuing or re.search(
                r"\b(?:another|plus|extra|additional|what about|how about|make it)\s*$", before
            )
            if mentions_subject or adds_on:
                found.append(float(match.group("d") or match.group("p")))
        return found


_PROMISE_TIME = re.compile(
    r"\b(?:today|tonight|tomorrow|this (?:morning|afternoon|evening|week)|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|noon|midday)\b|\b(?:by|before|at|until) \d{1,2}(?::\d\d)?\b|\b\d{1,2}(?::\d\d)?\s?(?:am|pm)\b|"
    r"\bin (?:about |around )?(?:\d+|ten|five|fifteen|thirty|an?) (?:minutes?|hours?|days?)\b|"
    r"\bthe \d{1,2}(?:st|nd|rd|th)\b",
    re.I,
)
_COMMITMENT = re.compile(
    r"\b(?:will|'ll|should|going to|gonna|promise|definitely|for sure|to be)\b|'ll\b", re.I
)
_RESOLUTION = re.compile(
    r"\b(?:back|fixed|fix|done|there|restored|arrive|arriving|working|sorted|resolved|repaired)\b|"
    r"\bin your account\b|\bon your card\b",
    re.I,
)
_NON_COMMITMENT = re.compile(
    r"\b(?:no|not|n't|haven't|hasn't|isn't|won't|nobody|rather not|don't have)\b[^.!?]{0,40}\b(?:date|time|day|eta|estimate)\b|"
    r"\brather than guess\b|\bwon't guess\b",
    re.I,
)


@dataclass(slots=True)
class NoTimePromise(ClauseRule):
    """ "Never promise a refund date": a resolution tied to a specific day or hour breaks it."""

    sanctioned: re.Pattern[str] | None

    @classmethod
    def parse(cls, clause: str, whole_policy: str) -> NoTimePromise | None:
        if not re.search(
            r"\b(?:never|do not|don't|not)\b[^.;]*\b(?:promise|give|quote|commit|guarantee|provide|offer)\b[^.;]*"
            r"\b(?:date|time|eta|timeline|day|deadline)\b",
            clause,
            re.I,
        ):
            return None
        # "refunds take 5-10 business days" in the same policy is the approved way to talk about time.
        sanctioned = None
        if re.search(r"\bbusiness days\b", whole_policy, re.I):
            sanctioned = re.compile(r"\b\d+\s*(?:-|to)\s*\d+ business days\b", re.I)
        return cls(sanctioned=sanctioned)

    def check(self, turns: Sequence[TurnAnalysis]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        for turn, sentence, clean in _clauses_of(turns):
            text = sentence.sentence.text
            if self.sanctioned and self.sanctioned.search(text):
                if clean and outcome.followed is None:
                    outcome.followed = Hit(turn, text)
                continue
            if any(self._promises(part) for part in _sub_clauses(text)):
                outcome.violations.append(Hit(turn, text))
            elif clean and outcome.followed is None and _NON_COMMITMENT.search(text):
                outcome.followed = Hit(turn, text)
        return outcome

    @staticmethod
    def _promises(part: str) -> bool:
        if _NON_COMMITMENT.search(part):
            return False
        return bool(_PROMISE_TIME.search(part) and _COMMITMENT.search(part) and _RESOLUTION.search(part))


@dataclass(slots=True)
class Restriction(ClauseRule):
    """ "Refunds are only available within 30 days": granting the thing anyway breaks it."""

    grant: re.Pattern[str]
    subject: re.Pattern[str]

    @classmethod
    def parse(cls, clause: str) -> Restriction | None:
        match = re.search(
            r"\b(?P<subject>[a-z]+?)s? (?:are|is) only (?:available|allowed|possible|valid)\b", clause, re.I
        )
        if not match:
            return None
        subject = re.escape(match.group("subject").lower())
        grant = re.compile(
            rf"\bI(?:'ll| will|'m going to| am going to| could| can(?!'t|not)|'m| am)\b(?:\s+\w+){{0,6}}?\s+"
            rf"(?:{subject}\w*|make an exception)\b",
            re.I,
        )
        return cls(grant=grant, subject=re.compile(rf"\b{subject}\w*", re.I))

    def check(self, turns: Sequence[TurnAnalysis]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        for turn, sentence, clean in _clauses_of(turns):
            text = sentence.sentence.text
            grant = self.grant.search(text)
            if grant and not _negated_before(text, grant.end()):
                outcome.violations.append(Hit(turn, text))
                continue
            mention = self.subject.search(text)
            if clean and outcome.followed is None and mention and _negated_before(text, mention.start()):
                outcome.followed = Hit(turn, text)
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


@dataclass(slots=True)
class Prohibition(ClauseRule):
    """ "Do not blame the courier": saying the forbidden thing (in any wording we know) breaks it."""

    language: re.Pattern[str]
    objects: re.Pattern[str] | None

    @classmethod
    def parse(cls, clause: str) -> Prohibition | None:
        match = re.search(r"\b(?:do not|don't|never|must not|mustn't)\s+(?P<rest>[^.;]+)", clause, re.I)
        if not match:
            return None
        verbs = re.findall(r"[a-z]+", match.group("rest").lower())
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

    def check(self, turns: Sequence[TurnAnalysis]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        for turn, sentence, clean in _clauses_of(turns):
            text = sentence.sentence.text
            said = self.language.search(text)
            about = self.objects.search(text) if self.objects else None
            if said and (self.objects is None or about) and not _negated_before(text, said.start()):
                outcome.violations.append(Hit(turn, text))
            elif about and clean and outcome.followed is None:
                outcome.followed = Hit(turn, text)
        return outcome


_OBLIGATION = re.compile(
    r"^(?:(?P<condition>(?:if|when)\b[^,]+),\s*)?(?:please\s+)?"
    r"(?P<verb>offer|explain|direct|confirm|process|provide|give|tell|ask|send|mention|share)\b(?P<rest>[^;]*)",
    re.I,
)
_PEOPLE = {"customer", "customers", "them", "caller", "user"}
_NOUN_SYNONYMS: dict[str, str] = {"callback": r"call ?back|call you|a call"}
_REFUSAL_TURN = re.compile(
    r"\bI (?:really |just |simply )?(?:can't|cannot|won't be able)\b|\bno refund\b|\bnot possible\b", re.I
)
_REASON = re.compile(
    r"\bbecause\b|\bsince\b|\bso that\b|\bthe reason\b|\bthat's why\b|\bwhich is why\b|\bis how we\b|\bthat keeps\b",
    re.I,
)
_FIRST_PERSON = re.compile(r"\bI(?:'m|'ll|'ve|'d)?\b|\bwe(?:'ll|'re|'ve)?\b|^\s*(?:okay, )?\w+ed\b", re.I)


@dataclass(slots=True)
class Obligation(ClauseRule):
    """ "Offer store credit as an alternative": done when the rep says it; missed when never said."""

    required: list[re.Pattern[str]]
    channel: re.Pattern[str] | None
    needs_action: bool
    explains_reason: bool
    on_refusal: bool

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
            return cls([], None, False, True, on_refusal)
        parts = re.split(r"\b(as|at|to|for|by|via|before|after|when|if|with)\b", rest, maxsplit=1)
        obj = parts[0]
        preposition, tail = (parts[1], parts[2]) if len(parts) == 3 else ("", "")
        words = [w for w in re.findall(r"[a-z]+", obj) if w not in STOPWORDS]
        if set(words) <= _PEOPLE or words == []:
            # "Direct the customer to the status page": the destination is what must be said.
            words = [w for w in re.findall(r"[a-z]+", re.split(r"\bfor\b", tail)[0]) if w not in STOPWORDS]
            if not words and condition:
                words = [
                    w for w in re.findall(r"[a-z]+", condition) if w not in STOPWORDS and w not in _PEOPLE
                ][-1:]
        channel = None
        if preposition in {"by", "via"}:
            channel_words = [w for w in re.findall(r"[a-z]+", tail) if w not in STOPWORDS][:1]
            channel = re.compile(rf"\b{stem(channel_words[0])}\w*", re.I) if channel_words else None
        if channel:
            # "Confirm X by email": the channel plus the confirmation itself (or any part of X) is enough.
            any_word = "|".join([re.escape(stem(verb))] + [re.escape(stem(w)) for w in words])
            required = [re.compile(rf"\b(?:{any_word})\w*", re.I)]
        else:
            required = [
                re.compile(r"\b(?:" + _NOUN_SYNONYMS.get(w, re.escape(stem(w)) + r"\w*") + ")", re.I)
                for w in words
            ]
        if not required:
            return None
        return cls(required, channel, verb == "process", False, on_refusal)

    def check(self, turns: Sequence[TurnAnalysis]) -> ClauseOutcome:
        outcome = ClauseOutcome()
        clauses = _clauses_of(turns)
        refusals = [
            (turn, s) for turn, s, clean in clauses if clean and _REFUSAL_TURN.search(s.sentence.text)
        ]
        if self.explains_reason:
            return self._check_reason(turns, refusals)
        for turn, sentence, clean in clauses:
            if clean and self._satisfied(sentence.sentence.text):
                outcome.followed = Hit(turn, sentence.sentence.text)
                return outcome
        clean_turns = [t for t in turns if t.clean()]
        if self.on_refusal and refusals:
            outcome.violations.append(Hit(refusals[0][0], refusals[0][1].sentence.text))
        elif not self.on_refusal and len(clean_turns) >= 3:
            # Never done in a full conversation: a miss with no single turn to point at.
            outcome.violations.append(Hit(-1, ""))
        return outcome

    def _satisfied(self, text: str) -> bool:
        if self.channel and not self.channel.search(text):
            return False
        for pattern in self.required:
            match = pattern.search(text)
            if not match or _negated_before(text, match.start()):
                return False
        return not self.needs_action or bool(_FIRST_PERSON.search(text))

    @staticmethod
    def _check_reason(
        turns: Sequence[TurnAnalysis], refusals: list[tuple[int, SentenceSignals]]
    ) -> ClauseOutcome:
        outcome = ClauseOutcome()
        if not refusals:
            return outcome
        by_turn = {t.index: t for t in turns}
        for turn, sentence in refusals:
            if any(_REASON.search(s.sentence.text) for s in by_turn[turn].clean()):
                outcome.followed = Hit(turn, sentence.sentence.text)
                return outcome
        outcome.violations.append(Hit(refusals[0][0], refusals[0][1].sentence.text))
        return outcome


def parse_policy(text: str) -> list[ClauseRule]:
    rules: list[ClauseRule] = []
    for clause in re.split(r";|\.\s+|\.$", text):
        clause = clause.strip()
        if not clause:
            continue
        rule = (
            VerifyFirst.parse(clause)
            or AmountLimit.parse(clause)
            or NoTimePromise.parse(clause, text)
            or Restriction.parse(clause)
            or Prohibition.parse(clause)
            or Obligation.parse(clause)
        )
        if rule is not None:
            rules.append(rule)
    return rules


def evaluate_policies(policies: Sequence[str], turns: Sequence[TurnAnalysis]) -> list[PolicyFinding]:
    findings: list[PolicyFinding] = []
    for index, policy in enumerate(policies):
        outcomes = [rule.check(turns) for rule in parse_policy(policy)]
        violations = sorted((hit for o in outcomes for hit in o.violations), key=lambda hit: hit.turn)
        followed = [o.followed for o in outcomes if o.followed is not None]
        if violations:
            first = next((hit for hit in violations if hit.turn >= 0), violations[0])
            turn = first.turn if first.turn >= 0 else None
            findings.append(PolicyFinding(index, "violated", turn, first.quote or None, tuple(violations)))
        elif followed:
            first = min(followed, key=lambda hit: hit.turn)
            findings.append(PolicyFinding(index, "followed", first.turn, first.quote, ()))
        else:
            findings.append(PolicyFinding(index, "not_applicable", None, None, ()))
    return findings
