"""Reads a rep's message for the things that calm or inflame a customer.

Plain pattern matching, no model: the embedded engine must be instant, offline and explainable
("frustration rose because you said 'calm down'"). The patterns are deliberately generous;
the scoring engines judge quality, this only has to move the customer believably.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

# Past about 170 words a chat message is a wall of text: the customer skims the start and reacts
# to the length. Reading only the start also keeps a turn's pattern matching to a few ms.
WALL_OF_TEXT_CHARS = 1000
ANALYSIS_MAX_CHARS = 1000


def _words(*phrases: str) -> re.Pattern[str]:
    """One case-insensitive pattern matching any phrase on word boundaries."""
    return re.compile(r"\b(?:" + "|".join(phrases) + r")\b", re.IGNORECASE)


_ACKNOWLEDGE = _words(
    r"i'?m (?:so |really |very |truly )?sorry",
    r"i am (?:so |really |very |truly )?sorry",
    r"so sorry",
    r"sorry (?:about|for|that|to hear)",
    r"i apologi[sz]e",
    r"(?:my|our) apologies",
    r"i (?:completely |totally |really |fully )?understand",
    r"i can (?:see|understand|imagine|hear)",
    r"i hear you",
    r"that (?:sounds|must be|must have been|is|was) (?:really |so |very |incredibly |understandably |genuinely )?"
    r"(?:frustrating|stressful|upsetting|annoying|awful|disappointing|difficult|hard|infuriating|worrying|a lot)",
    r"you have every right",
    r"you'?re right to",
    r"you are right to",
    r"understandably",
    r"that'?s not ok(?:ay)?",
    r"that should(?:n'?t| not) have happened",
    r"i'?d be (?:upset|frustrated|angry|annoyed) too",
    r"i would be (?:upset|frustrated|angry|annoyed) too",
    r"thank(?:s| you) for (?:your patience|bearing with|explaining|telling me)",
    r"i appreciate",
)

_PARAPHRASE_LEAD = _words(
    r"so you(?:'re| are)? (?:saying|telling)",
    r"so what you'?re saying",
    r"if i understand",
    r"let me make sure",
    r"just to (?:confirm|check|make sure)",
    r"you said",
    r"you mentioned",
    r"it sounds like",
    r"sounds like",
    r"so the",
    r"so your",
)

_REASON = _words(
    r"because",
    r"the reason",
    r"so that",
    r"in order to",
    r"that'?s why",
    r"which means",
    r"this means",
    r"to protect",
    r"to make sure",
    r"to keep",
    r"for your security",
    r"so we can",
    r"so i can",
)

_POLICY = _words(
    r"polic(?:y|ies)",
    r"(?:company|our) rules?",
    r"not allowed",
    r"against (?:our|the) rules",
    r"we (?:don'?t|do not) do that",
    r"terms (?:and|&) conditions",
    r"terms of service",
    r"(?:can'?t|cannot|can not) do (?:that|it|this)",
)

_OPTION = _words(
    r"i can offer",
    r"we can offer",
    r"i could offer",
    r"(?:one|another|an|the other) option",
    r"(?:two|a few|some) options",
    r"would you (?:like|prefer)",
    r"alternatively",
    r"instead",
    r"how about",
    r"what i can do",
    r"i'?d be happy to",
    r"(?:i|we) (?:can|could) (?:give|send|issue|arrange|set up|switch|move|refund|credit|replace|waive|upgrade|"
    r"pause|transfer|book|skip|cancel|reship|ship|expedite|apply|add)",
)

_COMMITMENT = _words(
    r"i will",
    r"i'?ll",
    r"i am going to",
    r"i'?m going to",
    r"we will",
    r"we'?ll",
    r"i'?ve (?:just )?(?:booked|sent|issued|arranged|scheduled|processed|cancelled|canceled|applied|set up|added|"
    r"put through|escalated)",
    r"i have (?:just )?(?:booked|sent|issued|arranged|scheduled|processed|cancelled|canceled|applied|set up|added)",
    r"you(?:'ll| will) (?:receive|get|have|see)",
)

_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_UNIT = r"(?:minutes?|mins?|hours?|hrs?|(?:business |working )?days?|weeks?)"
_TIME_ATOM = (
    r"(?:(?:by|at|before|around|until) \d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.|o'?clock)?"
    r"|\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)"
    r"|\d{1,2}:\d{2}"
    r"|(?:by |at |before )?(?:noon|midday)|tonight|today|tomorrow(?: morning| afternoon| evening)?"
    r"|this (?:morning|afternoon|evening|week)"
    r"|(?:by )?(?:the )?end of (?:the )?(?:day|week|business day|shift)"
    r"|within (?:the next )?(?:(?:\d+|an?|one|two|three)(?:\s*(?:-|to)\s*\d+)? )?" + _UNIT + r""
    r"|in (?:the next )?(?:\d+|an?|one|two|three|a few|a couple of) " + _UNIT + r""
    r"|in the next " + _UNIT + r""
    r"|(?:by |on |before |next |this )?" + _WEEKDAY + r"(?: morning| afternoon| evening)?"
    r"|right now|right away|immediately|straight away)"
)
# Runs of time words ("by 3pm today", "tomorrow at 10am") are kept whole so the customer can say them back.
_TIME = re.compile(r"\b" + _TIME_ATOM + r"(?:,?\s+" + _TIME_ATOM + r")*\b", re.IGNORECASE)

_DISMISSIVE = _words(
    r"calm down",
    r"relax",
    r"chill(?: out)?",
    r"(?:there'?s |there is )?nothing (?:i|we) can do",
    r"not my (?:problem|fault|job|department)",
    r"not our (?:problem|fault)",
    r"that'?s (?:just )?how it is",
    r"you should(?:'ve| have)",
    r"you need to (?:relax|understand|listen)",
    r"deal with it",
    r"too bad",
    r"whatever",
    r"(?:i )?can'?t help you",
    r"stop (?:yelling|shouting|complaining)",
    r"as i (?:already )?said",
    r"read the (?:terms|policy|fine print)",
    r"you people",
    r"not (?:gonna|going to) happen",
    r"it is what it is",
    r"take it or leave it",
    r"shut up",
    r"stupid",
    r"idiot",
)

_HEDGE = _words(
    r"maybe",
    r"i think",
    r"probably",
    r"(?:i'?m )?not (?:really |entirely |totally |100% )?sure",
    r"i guess",
    r"might be",
    r"possibly",
    r"perhaps",
    r"kind of",
    r"sort of",
    r"hopefully",
    r"i believe",
    r"no idea",
)

# Internal shorthand customers don't speak.
_JARGON: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\bSLAs?\b",
        r"\bRMAs?\b",
        r"\b(?:ticket )?escalation matrix\b",
        r"\b[TL][1-3]\b",
        r"\btier[ -]?[1-3]\b",
        r"\bNOC\b",
        r"\bCRM\b",
        r"\bKBA?\b",
        r"\bRCA\b",
        r"\bP[1-4]\b|\bsev ?[1-4]\b",
        r"\bauth(?:orization)? holds?\b",
        r"\bprorat(?:ion|ed)\b",
        r"\bprovisioning\b",
        r"\bMTTR\b|\bETR\b",
        r"\bToS\b",
    )
)

# Explaining a term right after using it is fine ("an RMA, which is a return number").
_EXPLAINS = _words(
    r"which (?:is|means)", r"that is", r"that means", r"i\.e\.", r"stands for", r"in other words", r"meaning"
)

_INJECTION = _words(
    r"ignore (?:all |any |your |the |my |previous |prior |above |earlier )*(?:instructions?|prompts?|rules|directions)",
    r"disregard (?:all |any |your |the |previous |prior )*(?:instructions?|prompts?|rules)",
    r"you(?:'re| are) (?:an? )?(?:ai|bot|robot|chatbot|language model|llm|assistant)",
    r"are you (?:an? )?(?:ai|bot|robot|real person|human|chatbot)",
    r"(?:large )?language model",
    r"system prompt",
    r"as an ai",
    r"chatgpt|openai|claude|gpt-?\d",
    r"jailbreak",
    r"developer mode",
    r"pretend (?:to be|you are|you're)",
    r"new instructions",
    r"role-?play",
)

_QUESTION_START = re.compile(
    r"(?:^|[.!;]\s+)(?:what|when|where|which|who|whom|whose|why|how|can|could|would|will|did|do|does|is|are|was|were|have|has|"
    r"may|shall)\b",
    re.IGNORECASE,
)
_QUESTION_PHRASE = _words(
    r"can you tell me", r"could you tell me", r"let me know", r"tell me (?:more|about)", r"walk me through"
)

# Open questions that are always on topic: they invite the customer to say what matters.
_DISCOVERY = _words(
    r"what happened",
    r"tell me (?:more|about|what)",
    r"walk me through",
    r"how can i help",
    r"what (?:would|do) you (?:like|need|want|prefer)",
    r"what outcome",
    r"what would (?:help|make)",
    r"what matters",
    r"how (?:is|has) (?:this|that) (?:affected|affecting|impacted)",
)


@dataclass(frozen=True)
class RepSignals:
    """What the rep's message does, independent of the conversation so far."""

    empty: bool
    wall_of_text: bool
    acknowledged: bool
    paraphrase_lead: bool
    asked_question: bool
    discovery_question: bool
    explained_reason: bool
    blamed_policy: bool
    offered_option: bool
    committed: bool
    time_phrase: str | None
    dismissive_phrase: str | None
    hedge_phrase: str | None
    jargon_term: str | None
    injection: bool

    @property
    def concrete_next_step(self) -> bool:
        """ "I will … by 3pm today": a commitment with a when."""
        return self.committed and self.time_phrase is not None

    @property
    def policy_without_reason(self) -> bool:
        return self.blamed_policy and not self.explained_reason


def analyze(rep_text: str) -> RepSignals:
    text = normalize(rep_text[:ANALYSIS_MAX_CHARS])
    time_phrase = max(_TIME.findall(text), key=len, default=None)
    return RepSignals(
        empty=not _ALNUM.search(text),
        wall_of_text=len(rep_text) > WALL_OF_TEXT_CHARS,
        acknowledged=bool(_ACKNOWLEDGE.search(text)),
        paraphrase_lead=bool(_PARAPHRASE_LEAD.search(text)),
        asked_question="?" in text or bool(_QUESTION_START.search(text) or _QUESTION_PHRASE.search(text)),
        discovery_question=bool(_DISCOVERY.search(text)),
        explained_reason=bool(_REASON.search(text)) and len(text.split()) >= 5,
        blamed_policy=bool(_POLICY.search(text)),
        offered_option=bool(_OPTION.search(text)),
        committed=bool(_COMMITMENT.search(text)),
        time_phrase=time_phrase,
        dismissive_phrase=_first_match(_DISMISSIVE, text),
        hedge_phrase=_first_match(_HEDGE, text),
        jargon_term=_unexplained_jargon(text),
        injection=bool(_INJECTION.search(text)),
    )


def normalize(text: str) -> str:
    """Curly quotes to straight, whitespace collapsed: the patterns expect typed English."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip()


def _first_match(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group(0) if match else None


def _unexplained_jargon(text: str) -> str | None:
    if _EXPLAINS.search(text):
        return None
    matches = [match for pattern in _JARGON if (match := pattern.search(text))]
    # The customer trips over the first unfamiliar term they read.
    return min(matches, key=lambda match: match.start()).group(0) if matches else None


# --- words -----------------------------------------------------------------------------------

_STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been before being below
    between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each
    few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
    herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me
    more most mustn't my myself no nor not of off on once only or other ought our ours ourselves out over own
    same shan't she she'd she'll she's should shouldn't so some such than that that's the their theirs them
    themselves then there there's these they they'd they'll they're they've this those through to too under
    until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where where's which
    while who who's whom why why's with won't would wouldn't you you'd you'll you're you've your yours yourself
    yourselves just also really okay ok yes yeah well like get got going want need know think see said say
    tell one thing things now still even sure right please thanks thank hi hello sorry will last night day
    time week good great back much many lot way make take give come look let put kind
    """.split()
)
_TOKEN = re.compile(r"[a-z0-9']+")
_ALNUM = re.compile(r"[^\W_]")


@functools.lru_cache(maxsize=4096)
def stem(word: str) -> str:
    """Crude suffix stripping: enough to match "charged" with "charge" and "boxes" with "box"."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_stems(text: str) -> frozenset[str]:
    """The meaningful words of ``text``, stemmed; numbers are kept because they identify things."""
    stems = set()
    for token in _TOKEN.findall(text.lower()):
        token = token.strip("'")
        if token.endswith("'s"):
            token = token[:-2]
        if not token or token in _STOPWORDS or (len(token) < 3 and not token.isdigit()):
            continue
        stems.add(stem(token))
    return frozenset(stems)


def union_stems(texts: Iterable[str]) -> frozenset[str]:
    result: set[str] = set()
    for text in texts:
        result |= content_stems(text)
    return frozenset(result)


@functools.lru_cache(maxsize=1024)
def phrases_pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern for a group of author-written trigger phrases (one search per group, not per phrase).

    Phrases match from a word start, so "compensat" matches "compensation"."""
    cleaned = [re.escape(normalize(phrase).lower()) for phrase in phrases if phrase.strip()]
    if not cleaned:
        return None
    return re.compile(r"\b(?:" + "|".join(cleaned) + ")", re.IGNORECASE)


def matches_any(text: str, phrases: tuple[str, ...]) -> bool:
    pattern = phrases_pattern(phrases)
    return pattern is not None and bool(pattern.search(text))


# --- questions -------------------------------------------------------------------------------

_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
_INQUIRY_PHRASE = _words(
    r"can you tell me",
    r"could you tell me",
    r"tell me (?:more|about|what|how|why|when|where|if)",
    r"walk me through",
    r"let me know (?:what|how|why|when|where|if)",
    r"(?:can|could|may) i ask",
    r"do you mind (?:me asking|if i ask)",
    r"i'?d like to (?:know|understand|ask)",
    r"i was wondering",
)
# Questions that propose something the rep will do ("Can I call you at 12pm today?"), not ask the
# customer about their situation: a word in them is a passing mention, not a question about it.
_PROPOSAL_START = re.compile(
    r"^(?:(?:so|and|okay|ok|alright|great|then),? )?(?:"
    r"(?:can|could|shall|should|may) (?:i|we)\b(?! ask)"
    r"|would you like (?:me|us)\b|do you want (?:me|us)\b|would it be ok(?:ay)?\b|is it ok(?:ay)? if\b"
    r"|how about\b|what if (?:i|we)\b|why don'?t (?:i|we)\b|would (?:that|this|it)\b"
    r"|(?:will|would) .{0,40}\bwork for you\b|is that ok(?:ay)?\b|does that (?:work|sound)\b"
    r"|(?:will|would) you be (?:at|around|in|available|free|there)\b|are you (?:available|free)\b)",
    re.IGNORECASE,
)


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE.findall(normalize(text)) if part.strip()]


def is_inquiry(sentence: str) -> bool:
    """Does this sentence ask the customer something (a question or a 'tell me …')?"""
    return (
        sentence.endswith("?")
        or bool(_QUESTION_START.match(sentence))
        or bool(_INQUIRY_PHRASE.search(sentence))
    )


def is_proposal(sentence: str) -> bool:
    """Is this question the rep proposing an action ("Can I call you today?") rather than asking?"""
    return bool(_PROPOSAL_START.search(sentence))
