"""Per-sentence linguistic signals for rep turns: empathy, apology, reflection, questions, ownership,
next steps, hedging, jargon and injection attempts.

Everything here is precompiled regular expressions and small lexicons, so scoring stays offline,
deterministic and far faster than any model. Detectors work on sentences (with their character
spans in the turn) so that evidence quotes are always verbatim substrings of what the rep said.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from coachhub.core.text import normalize_for_detection
from scoring.engines.learned import SentenceReading, no_similarity, read_sentences

# --- text helpers ---------------------------------------------------------------------------------

# Sentences end at . ! ? or a line break; a decimal point ("$29.99") or a full stop inside an
# address or name ("linda.moreau@example.com", "freshcrate.com") is not an ending.
_SENTENCE = re.compile(r"[^\s.!?\n](?:[^.!?\n]|\.(?=[A-Za-z0-9]))*(?:[.!?]+|$)", re.MULTILINE)
_WORD = re.compile(r"[a-z0-9$%@][a-z0-9'@.\-]*[a-z0-9%]|[a-z0-9]", re.IGNORECASE)

STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be because been before being below
    between both but by can can't could did didn't do does doesn't doing don't down during each few for
    from further get got had has have having he her here hers him his how i i'd i'll i'm i've if in into
    is isn't it it's its itself just let me more most my no nor not now of off on once only or other our
    ours out over own same she should so some such than that that's the their them then there these they
    this those through to too under until up very was we we're were what what's when where which while
    who why will with won't would you you'd you'll you're you've your yours yourself yeah okay ok hi
    hello thanks thank please sure well really actually one like want need said told just still even
    again already again going know see yes right""".split()
)


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[Sentence]:
    return [Sentence(m.start(), m.end(), m.group(0)) for m in _SENTENCE.finditer(text)]


def stem(word: str) -> str:
    """A deliberately crude stem: enough to match "charged"/"charge", "cracked"/"crack"."""
    word = word.lower().strip("'.-")
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    return word[:6]


def content_stems(text: str) -> set[str]:
    return {stem(w) for w in _WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 2}


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# --- lexicons -------------------------------------------------------------------------------------

_FEELING = (
    r"frustrat\w*|annoy\w*|upset\w*|stress\w*|disappoint\w*|exhaust\w*|madden\w*|furious|fed up|"
    r"infuriat\w*|worr(?:y|ied|ying)|miserable|painful|awful|horrible|terrible|brutal|gutting|gut punch|nightmare|"
    r"rough|dangerous|scary|unfair|"
    r"not what you (?:paid|asked|signed up) for|a lot to deal with|(?:real|serious) (?:problem|money)|"
    r"not an easy"
)
# Acknowledgements in service wording; a feature beside the model's reading, not the classifier.
_EMPATHY = _rx(
    rf"\b(?:that|this|it)(?:'s| is| was| must be| must have been| sounds| would be| can be)\b[^.!?]{{0,40}}\b(?:{_FEELING}|serious|hard|difficult|a lot)\b",
    rf"\bI(?:'d| would)(?: \w+)? be (?:{_FEELING}|angry|annoyed|upset) too\b",
    r"\bI (?:can |completely |totally |really |fully )*(?:understand|get|see|hear) (?:why|how|that|you|where you)\b",
    # "I understand, you need to plan your work" acknowledges; "I understand, but that's the process"
    # and a bare "I understand." brush the customer off.
    r"\bI hear you\b|\bI (?:completely |totally |fully |really )understand\b|\bI understand\s*,\s*(?!but\b|however\b|though\b)\w",
    r"\b(?:completely|totally|entirely|perfectly) (?:fair|understandable|reasonable)\b",
    r"\b(?:that|which) makes (?:total |complete )?sense\b",
    r"\byou shouldn't (?:have to|be|pay)\b|\bwould (?:worry|upset|annoy|frustrate|fluster|stress|rattle|bother) anyone\b",
    r"\bthe last thing you need\b|\bon top of everything\b|\b(?:a lot|too much) to (?:have|deal|take|handle|cope)\b",
    r"\b(?:sorry|hate) (?:that )?(?:it's|this has|that's|this) happen\w*|^\W*(?:oh no|ouch|oof)\b",
    r"\bthanks for (?:telling|letting) me\b",
    r"\bsorry (?:about|for) your (?!call|patience)\w+",
    rf"^[^.!?]{{0,120}},\s*(?:that's|that is|that must be|which is|I'd be)[^.!?]{{0,40}}\b(?:{_FEELING})",
    rf"\b(?:{_FEELING})\b[^.!?]{{0,30}}\b(?:for you|you're dealing|you've had)\b",
    r"\bI know (?:that's|this is|it's) not what you\b",
    r"\bI hate (?:that|to hear|hearing)\b|\bno wonder (?:you|you're|you are)\b|\b(?:a|the) real loss\b",
    rf"\b(?:is|are|was) (?:really |so |very |pretty |incredibly )?(?:{_FEELING}|serious|exhausting)\b",
    r"\bsorry (?:that )?you(?:'re| are|'ve| have)\b",
)
# Corporate boilerplate names a feeling without acknowledging this customer's.
_BOILERPLATE = _rx(
    r"\b(?:any|the) (?:inconvenience|frustration|trouble) (?:caused|this may)?", r"\bwe are aware\b"
)
_DISMISSIVE = _rx(
    r"\bcalm down\b",
    r"\bnot my problem\b",
    r"\bI don't make the rules\b",
    r"\byou should have\b",
    r"\bthat's (?:just )?how it is\b",
    r"\bthat's it\b",
    r"^\s*look,",
    r"\bno worries\b",
    r"\bnot (?:much|really something) (?:really|we)\b",
    r"\bjust the policy\b",
    r"\bwrap this up\b",
)
_BARE_APOLOGY = re.compile(
    r"(?:(?:so|really|very|I'm|I am|we're|we are|oh|okay|ok|yeah|again)[\s,]+)*(?:sorry|I apologi[sz]e|we apologi[sz]e|apologies|my apologies)"
    r"(?:[\s,]+(?:about|for) (?:that|this|the (?:inconvenience|trouble|wait|delay|confusion|hassle|mix-up)|any (?:inconvenience|trouble|frustration)(?: caused)?))?"
    r"(?:[\s,]+(?:again|sorry|I'm sorry|I apologi[sz]e))*[\s.!,]*",
    re.I,
)
_APOLOGY = _rx(r"\bsorry\b", r"\bapologi[sz]\w*", r"\bmy apologies\b", r"\bapologies\b")
# "Please don't apologise" tells the customer they needn't: it is not the rep apologising.
_NO_APOLOGY = _rx(r"\b(?:don't|do not|no need to|never|nothing to) apologi[sz]e\b")

_REFLECTION_PHRASE = _rx(
    r"\bso what I'm hearing\b",
    r"\bwhat I'm hearing\b",
    r"\bit sounds like\b|\bsounds like you\b",
    r"\bso you(?:'re| are| have| were|'ve)\b",
    r"(?:^|,\s*)so (?:the|your|it's|it was)\b[^?]*$",
    r"\bif I (?:understand|heard) (?:you|that|correctly)\b",
    r"\byou(?:'re| are) saying\b|\byou (?:mentioned|said)\b",
    r"\bis that (?:right|correct|fair)\b",
    r"\bjust so I understand\b",
    r"\bgot it\b",
)

_CLARIFY_OPENER = _rx(
    r"\b(?:which|what time|when did|did|does|is the|has|have you|do you remember|could you|can you|would)\b"
)
_NOT_CLARIFYING = _rx(r"\banything else\b", r"\bhave you tried\b", r"\bare you sure\b", r"\bwill that do\b")
_GENERIC_PROBLEM_QUESTION = _rx(
    r"\bwhat(?:'s| is) (?:the |your )?(?:issue|problem|going on|wrong)\b",
    r"\bwhat(?:'s| is) wrong with\b",
    r"\bwhy do you want to\b",
    r"\bwhat can I (?:do|help)\b",
    r"\bcan you tell me what the (?:problem|issue)\b",
    r"\b(?:describe|explain|tell me about|walk me through) (?:the|your|what) (?:issue|problem|fault|trouble|happened)\b",
)
_ASKS_NUMBER = _rx(r"\b(?:order|account|reference|ticket)(?: number)?\b")
_ASKS_EMAIL = _rx(r"\be-?mail\b")
_OTHER_EMAIL = _rx(r"\b(?:another|a different|different|other|second|work|old|new|backup) e-?mail\b")
_ASKS_WHEN = _rx(r"^\s*(?:and |so )?when did\b")
_GIVEN_NUMBER = re.compile(r"\d[\d-]{3,}")
_GIVEN_EMAIL = re.compile(r"\S+@\S+")
_GIVEN_WHEN = _rx(
    r"\bago\b|\b(?:january|february|march|april|may|june|july|august|september|october|november|december)\b|\blast (?:week|month)\b"
)

# Doing something for the customer, in any tense the rep puts it ("I've closed…", "I'm ringing the
# store now", "we'll cover that"; an offer, "I can cancel it for you", is not taken on), taking the blame ("our mistake", "a
# miss from us") or taking the case on ("on it", "leave it with me", "that's cancelled now").
_SERVICE_ACTION = (
    r"(?:check|ring|rang|call|e-?mail|text|sen[dt]|ship|post|book|reserv|hold|held|cancel|clos|refund|credit|"
    r"appl|add|pop|put|log|rais|flag|updat|chang|fix|sort|arrang|escalat|skip|process|start|open|amend|switch|"
    r"waiv|cover|replac|issu|push|chas|schedul|set (?:up|aside)|pull|take care|look (?:into|at)|get (?:this|that|it|you)|"
    r"order|dispatch|reverse|revers|remov|extend|upgrad|reschedul|priorit|transfer|pass|note|mark|confirm|track)\w*"
)
_OWNERSHIP = _rx(
    r"\bI(?:'ll| will| shall)\s+(?!say\b|be (?:honest|straight|clear|upfront|frank|open|direct)\b|never\b|not\b|just tell\b)(?:personally |also |just |now )?\w+",
    r"\bI(?:'m| am) (?:going to|gonna) \w+",
    rf"\b(?:I|we)(?:'ve| have|'m| am|'re| are|'ll| will|'d| would|'re going to| are going to|'m going to)?"
    rf"\s+(?:just |now |already |also |personally |gone ahead and |went ahead and |quickly |straight away )?{_SERVICE_ACTION}\b",
    rf"\bill\s+{_SERVICE_ACTION}\b",  # "ill cancel it now", typed without the apostrophe
    r"\blet me (?:check|look|pull|see|find|fix|sort|get|take)\b",
    r"\b(?:this|that)(?:'s| is) on (?:us|me)\b|\bhear from me\b|\bleave (?:it|this|that) with me\b",
    r"\b(?:that's|it's|this is|that was|it was) (?:our|my) (?:error|mistake|fault)\b|\b(?:our|my) (?:mistake|error|fault)\b",
    r"\b(?:a |another |second |third )*(?:miss|mistake|failure|slip)(?:-?up)? (?:from|by|on) us\b|\blet down\b[^.!?]*\bby us\b",
    r"^\W*(?:(?:ok|okay|sure|right|yes|yep|absolutely|of course|perfect|great|no problem|completely understood|understood)\W+)*"
    r"(?:on it|done|all done|consider it done|sorted|cancell?ing|refunding|holding|sending|booking|checking|ringing|calling|"
    r"closing|processing|arranging|fixing|escalating|raising|adding|applying|skipping|updating|reserving|shipping)\b",
    r"\b(?:that's|it's|its|it is|this is|you're|you are|everything's)(?: now| all)? (?:cancell?ed|sorted|done|booked|refunded|fixed|reserved|processed|arranged)\b",
)
# "…once the warehouse receives it, we'll ship…", "before I look at the charges": an action waiting
# on something else to happen first is not one the rep takes on. "If you'd rather go, I'll cancel it"
# is: the condition is the customer's choice.
_CONDITIONAL_LEAD = re.compile(
    r"\b(?:before|once|until|till|when|whenever|after|as soon as)\s+(?:[\w'-]+\s+){0,6}$", re.I
)


_CONDITIONAL_SENTENCE = re.compile(
    r"^\W*(?:(?:and|but|so|ok|okay)\W+)?(?:once|when|whenever|after|until|as soon as)\b[^,;]*,", re.I
)


def takes_ownership(text: str) -> bool:
    if _CONDITIONAL_SENTENCE.match(text):
        return False  # "Once the warehouse has it back, we'll send a new one."
    for match in _OWNERSHIP.finditer(text):
        clause = re.split(r"[,;:]", text[: match.start()])[-1]
        if not _CONDITIONAL_LEAD.search(clause):
            return True
    return False


_MONTH = r"(?:january|february|march|april|may|june|july|august|september|october|november|december)"
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_COUNT = r"(?:\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|thirty|forty-five|sixty|few|couple of)"
_UNIT = r"(?:minutes?|mins?|hours?|hrs?|days?|weeks?)"
TIME_EXPRESSION = _rx(
    r"\b(?:today|tonight|tomorrow|this (?:morning|afternoon|evening|week))\b",
    rf"\b(?:on |by |before |until )?{_WEEKDAY}\b",
    r"\b(?:by|before|after|at|until) (?:\d{1,2}(?::\d\d)?\s?(?:am|pm)?|noon|midday|end of (?:the )?day)\b",
    r"\b\d{1,2}(?::\d\d)?\s?(?:am|pm)\b|\b\d{1,2}:\d\d\b|\bnoon\b",
    rf"\b(?:with)?in (?:the next |about |around )?{_COUNT}(?:\s*(?:to|-|\u2013|or)\s*{_COUNT})? (?:working |business )?{_UNIT}\b",
    rf"\bbetween {_COUNT} and {_COUNT} (?:working |business )?{_UNIT}\b",
    rf"\b{_COUNT}\s*(?:to|-|\u2013)\s*{_COUNT} (?:working |business )?{_UNIT}\b",
    r"\bwithin the (?:hour|day)\b|\bnext (?:business|working) day\b|\bfirst thing\b|\bhalf (?:past )?(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b",
    r"\b(?:\d{1,2}|eight|nine|ten|eleven|twelve|one|two|three|four|five|six|seven)(?:\s?(?:am|pm))? (?:till|til|to|until|and) (?:noon|midday|\d{1,2}(?::\d\d)?\s?(?:am|pm)?)\b",
    r"\bend of (?:the )?day\b|\bnext (?:statement|bill)\b",
    rf"\bthe \d{{1,2}}(?:st|nd|rd|th)\b|\b{_MONTH} \d{{1,2}}\b",
    r"\bright (?:now|away)\b|\bstraight away\b|\bthe moment\b|\bas soon as\b",
)
# A next step is something the customer will see happen: a message, a delivery, a visit, a check-in.
_NEXT_STEP_CONTACT = _rx(
    r"\bI(?:'ll| will)\s+(?:also |personally |then )?(?:call|email|text|send|ship|post|check|follow|ring|update|speak|talk|chase|arrange|book)\b",
    r"\bI(?:'m| am) (?:going to )?(?:sending|shipping|posting|chasing|calling|emailing|ringing|texting)\b",
    r"\byou(?:'ll| will) (?:get|receive|see|have|hear from me)\b",
    r"\b(?:it|it'll|the \w+) (?:goes|ships|arrives|will arrive|goes out)\b",
    # Something the customer will see arrive, land or happen, named by what it is.
    r"\b(?:e-?mail|text|confirmation|refund|credit|replacement|technician|engineer|parcel|package|delivery|order|label|"
    r"reversal|callback|call|visit|courier|it)(?:'ll| will)? (?:be (?:in|on|at|with|there|waiting|back)|reach|land|follow|"
    r"show|arrive|get there|goes? (?:back|out|onto|on)|gets? there|comes? through|is booked|'s booked|is on its way|'s on its way)\w*",
    r"\btakes? [^.!?]{0,40}\b(?:days?|hours?|minutes?) to (?:show|arrive|reach|clear|appear|come through)\b",
    r"\b(?:credit|refund)\w* (?:on|onto|to) your next (?:bill|statement|invoice)\b|^\W*back (?:in|within|by)\b",
    r"\bI(?:'ve| have)(?: now| just| already)? (?:booked|reserved|scheduled|arranged)\b",
    r"\b(?:I'm|I am|we're|we are|I'll|we'll|we will|I will) (?:going to )?(?:get|send) (?:a |an |the |you |it |out )",
    r"\b(?:reply to|call me back|comes straight to me)\b",
)
# Changing the account counts as a next step only when it takes effect later ("effective the 30th").
_NEXT_STEP_CHANGE = _rx(
    r"\bI(?:'ll| will| am| 'm|'m|'ve| have)\s+(?:going to )?(?:cancel|remove|refund|revers|switch|add|put|apply)\w*",
    r"\bcancell?(?:ed|ing|ation)\b[^.!?]*\beffective\b",
)
_IMMEDIATE = _rx(r"\b(?:right )?now\b|\bright away\b|\bstraight away\b|\btoday\b")
_VAGUE_HANDOFF = _rx(
    r"\bsomeone (?:will|from|should)\b",
    r"\byou'll hear back\b|\beventually\b|\bat some point\b|\bin the queue\b|\bask later\b|\btry again later\b",
    r"\bcall back (?:later|next week|another time)\b",
)
_FOLLOW_UP = _rx(
    r"\b(?:check|make sure|confirm) (?:on |that |in )?[^.!?]{0,40}\barrived\b",
    r"\bI(?:'ll| will) (?:check|follow up|call you|ring)\b",
    r"\bif (?:it|that)(?: isn't| is not|'s not|'s still)\b[^.!?]*\b(?:reply|call|email|comes)\b",
    r"\bif it's still down\b",
)

_HEDGING = _rx(
    r"\bmaybe\b|\bperhaps\b|\bprobably\b|\bpossibly\b|\bhopefully\b",
    r"\bI (?:think|guess|suppose|believe|reckon)\b|\bI don't think\b",
    r"\b(?:I'm |I am )?not (?:sure|certain)\b",
    r"\bmight\b|\bshould be\b|\bshould probably\b|\bkind of\b|\bsort of\b",
    r"\busually\b|\bnormally\b|\bin due course\b|\byou should (?:receive|get|see|hear)\b",
)
# Internal vocabulary a customer shouldn't have to decode. All-caps acronyms are caught generically.
_JARGON_TERMS = _rx(
    r"\bescalation matrix\b|\bper (?:our|the) (?:ToS|T&Cs?|SLA|MSA)\b|\bwork order\b|\bfield ops\b",
    r"\bmicroservice\b|\bpayment gateway\b|\bacquirer\b|\bgateway\b|\bsettlement window\b",
    r"\b(?:retention|fulfil?ment|dispatch|back-?office|tier[- ]?\d|L[1-3]) queue\b|\bauth(?:ori[sz]ation)? hold\b",
    r"\bP[0-4]\b|\bSev ?[0-4]\b|\bT[1-3]\b|\bT&Cs?\b|\bToS\b",
)
# A capitalised code followed by its number ("AS-77310", "FC 5521 09") is a reference the customer
# was given, not a term to decode.
_ACRONYM = re.compile(r"\b[A-Z][A-Z&]{1,4}s?\b(?![-\s#]*\d)")
_PLAIN_ACRONYMS = frozenset(
    {
        "I",
        "OK",
        "US",
        "UK",
        "TV",
        "PM",
        "AM",
        "ID",
        "PIN",
        "USB",
        "PS",
        "AI",
        "EU",
        "FAQ",
        "ETA",
        "FYI",
        "ASAP",
        "SMS",
        "PDF",
        "URL",
        "VAT",
        "GPS",
        "WIFI",
    }
)

INJECTION = _rx(
    r"\b(?:ignore|disregard|forget|override)\b[^.!?]{0,40}\b(?:rubric|instructions?|rules|scoring|guidelines|policies|prompt)\b",
    r"(?:^|\n)\s*(?:system|assistant|grader|evaluator|judge|scorer)\s*:",
    r"\b(?:note|message|instructions?) (?:to|for) (?:the |any |whoever )?(?:evaluator|grader|judge|scorer|ai|model|reviewer|whoever)",
    r"\bas the (?:evaluator|grader|judge|scoring model|scorer|ai|model|reviewer)\b",
    r"\b(?:ai|llm|model) (?:judge|grader|evaluator|scorer)\b",
    # Asking for a score: "rate this 10/10", "give me 100". "$100" is an amount, not a score.
    r"\b(?:rate|score|mark|grade)\b[^.!?]{0,50}(?<!\$)\b(?:100|10/10|full marks|perfect|maximum|max points|top (?:score|marks))\b",
    r"\b(?:give|award) (?:me|this|us|it|the rep|my)\b[^.!?]{0,40}(?<!\$)\b(?:100|10/10|full marks|perfect|maximum|max points|top (?:score|marks)|five stars)\b",
    r"\[\[|\]\]|<\|",
    r"\bthe rubric says\b",
)

# Refusing or holding a policy, and saying why.
_REFUSAL = _rx(
    r"\bI (?:can't|cannot|can not|won't be able|am not able|'m not able|'m unable|am unable)\b",
    r"\b(?:isn't|is not|not) possible\b|\bI won't (?:guess|give|be able)\b|\bI'd rather not\b|\bno refund\b",
)
_REASON = _rx(
    r"\bbecause\b|\bsince\b|\bso that\b|\bthe reason\b|\bthat's why\b|\bwhich is why\b|\bthat keeps\b|\bis how we\b",
    r"\bthat's the bank's\b|\brather than guess\b",
)
_REASONLESS_REFUSAL = _rx(
    r"\bjust the policy\b|\bthat's just how it is\b|\bI don't make the rules\b|\bthat's it\b",
    r"\b(?:that's|it's|that is|it is) (?:the|our|company) (?:process|policy|procedure|rules?)\s*[.!]?\s*$|\brules are rules\b|"
    r"\bnothing (?:more )?I can do\b|\bout of my hands\b",
)

_ESCALATION = _rx(
    r"!",
    r"\b(?:ridiculous|unacceptable|unbelievable|furious|manager|joke|seriously|serious\?|hate|wasted|"
    r"losing (?:money|patience)|costing me|are you even|I just (?:told|said)|never shopping|wonderful\.)",
)
_SHOUTING = re.compile(r"\b[A-Z]{4,}\b")

SIGNAL_NAMES: tuple[str, ...] = (
    "empathy",
    "apology",
    "reflection",
    "question",
    "ownership",
    "next_step",
    "hedging",
    "jargon",
    "policy_violation",
    "off_topic",
    "injection",
)


# --- per-sentence analysis ------------------------------------------------------------------------


@dataclass(slots=True)
class SentenceSignals:
    sentence: Sentence
    found: set[str] = field(default_factory=set)
    apologies: int = 0
    hedges: int = 0
    jargon_terms: list[str] = field(default_factory=list)
    dismissive: bool = False
    vague_handoff: bool = False
    follow_up: bool = False
    clarifying: bool = False
    open_question: bool = False
    echoes: int = 0  # specifics of the customer's this sentence plays back
    reask: bool = False
    refusal: bool = False
    reason: bool = False
    reasonless_refusal: bool = False
    specific: bool = False
    similarity: Callable[[], float] = no_similarity  # cosine to the customer's last turn, on demand

    @property
    def context_similarity(self) -> float:
        return self.similarity()


@dataclass(slots=True)
class TurnAnalysis:
    index: int
    text: str
    sentences: list[SentenceSignals]
    words: int

    @property
    def injection(self) -> bool:
        return any("injection" in s.found for s in self.sentences)

    def clean(self) -> list[SentenceSignals]:
        """Sentences that may count as positive evidence: injection attempts and nonsense are out."""
        return [s for s in self.sentences if not s.found & {"injection", "off_topic"}]

    @property
    def off_topic(self) -> bool:
        """Every sentence is nonsense or unrelated chatter (an empty turn is off topic too)."""
        return all("off_topic" in s.found for s in self.sentences)

    @property
    def question_kinds(self) -> tuple[str, ...]:
        """ "open" or "closed" for each question the rep asked in this turn, in order."""
        return tuple("open" if s.open_question else "closed" for s in self.clean() if "question" in s.found)

    def signals(self) -> set[str]:
        if not self.sentences:
            return {"off_topic"}  # an empty or punctuation-only line says nothing
        found: set[str] = set()
        for item in self.sentences:
            found |= item.found
        return found


@dataclass(frozen=True, slots=True)
class CustomerContext:
    """What the customer has said before a rep turn: its vocabulary and the facts already given."""

    stems: frozenset[str]
    gave_number: bool
    gave_email: bool
    gave_when: bool
    explained_problem: bool
    details: frozenset[str] = frozenset()  # the specifics they gave: names, places, codes, amounts

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> CustomerContext:
        joined = "\n".join(texts)
        return cls(
            stems=frozenset(content_stems(joined)),
            gave_number=bool(_GIVEN_NUMBER.search(joined)),
            gave_email=bool(_GIVEN_EMAIL.search(joined)),
            gave_when=bool(_GIVEN_WHEN.search(joined)),
            explained_problem=word_count(joined) >= 8,
            details=frozenset(details(joined)),
        )


# Specifics a customer gives and a listening rep plays back: numbers and codes ("SH-20417", "$600",
# "4471"), e-mail addresses, and names of people, places and products (capitalised inside a
# sentence). Sentence-initial capitals, "I" and weekday/month names don't count.
_DETAIL = re.compile(
    r"\S+@\S+\.\w+|\$?\d[\d,.:-]*\d%?|\$\d|(?<=[^.!?\s]\s)[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*|\b[A-Z]{2,}-?\d+\b"
)
# Words people capitalise mid-sentence after a pause or a filler ("Um, Yeah, kind of"): not names.
_COMMON_CAPITALS = frozenset("kind sort maybe yep nope hmm um uh mm oh god".split())
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
_NOT_DETAIL = frozenset(
    "i i'm i've i'll i'd ok okay monday tuesday wednesday thursday friday saturday sunday january february "
    "march april may june july august september october november december".split()
)


def details(text: str) -> set[str]:
    found = set()
    for match in _DETAIL.finditer(text):
        token = match.group(0).strip(".,:;!?").lower()
        if (
            token
            and token not in _NOT_DETAIL
            and token not in STOPWORDS
            and token not in _COMMON_CAPITALS
            and len(token) >= 2
        ):
            found.add(token)
    return found


def echoed_details(text: str, context: CustomerContext) -> set[str]:
    """The customer's own specifics this rep line repeats back (a name, a place, a code, an amount)."""
    if not context.details:
        return set()
    # Here a capitalised word counts wherever it stands: it only matters if the customer named it.
    own = details(text) | {m.group(0).lower() for m in _CAPITALISED.finditer(text)}
    # A capitalised name is matched whole or word by word ("Harbor View Hotel" vs "Harbor View").
    words = {w for token in own for w in token.split()}
    return {d for d in context.details if d in own or (" " in d and all(w in words for w in d.split()))}


@dataclass(frozen=True, slots=True)
class RepTurnInput:
    index: int
    text: str
    customer_texts: tuple[str, ...]


def analyze_rep_turns(turns: Sequence[RepTurnInput]) -> list[TurnAnalysis]:
    """Every rep turn of a transcript, with all its sentences read by the model in one batch."""
    split = [(turn, split_sentences(turn.text)) for turn in turns]
    texts = [sentence.text for _, sentences in split for sentence in sentences]
    context = [
        (turn.customer_texts[-1] if turn.customer_texts else "")
        for turn, sentences in split
        for _ in sentences
    ]
    topics = [turn.customer_texts for turn, sentences in split for _ in sentences]
    readings = iter(read_sentences(texts, context, topics))
    analyses: list[TurnAnalysis] = []
    for turn, sentences in split:
        customer = CustomerContext.from_texts(turn.customer_texts)
        analyzed = [_analyze_sentence(sentence, customer, next(readings)) for sentence in sentences]
        _carry_times(analyzed)
        analyses.append(
            TurnAnalysis(index=turn.index, text=turn.text, sentences=analyzed, words=word_count(turn.text))
        )
    return analyses


def analyze_rep_turn(
    index: int, text: str, context: CustomerContext, customer_text: str = ""
) -> TurnAnalysis:
    sentences = split_sentences(text)
    readings = read_sentences([s.text for s in sentences], [customer_text] * len(sentences))
    analyzed = [_analyze_sentence(s, context, r) for s, r in zip(sentences, readings, strict=True)]
    _carry_times(analyzed)
    return TurnAnalysis(index=index, text=text, sentences=analyzed, words=word_count(text))


def is_injection(text: str) -> bool:
    """Injection patterns, seen through look-alike letters, fullwidth text and invisible characters."""
    return bool(INJECTION.search(text) or INJECTION.search(normalize_for_detection(text)))


def _analyze_sentence(
    sentence: Sentence, context: CustomerContext, reading: SentenceReading
) -> SentenceSignals:
    text = sentence.text
    result = SentenceSignals(sentence=sentence, similarity=reading.similarity)
    found = result.found
    if is_injection(text):
        found.add("injection")
    if reading.off_topic and "injection" not in found:
        # Nonsense or unrelated chatter earns nothing: no signal, positive or negative, but this one.
        found.add("off_topic")
        return result
    result.apologies = max(0, len(_APOLOGY.findall(text)) - len(_NO_APOLOGY.findall(text)))
    if result.apologies:
        found.add("apology")
    result.dismissive = bool(_DISMISSIVE.search(text))
    # A bare or reflexive apology ("Sorry. Sorry.", "sorry for the inconvenience") names no feeling.
    bare_apology = bool(_BARE_APOLOGY.fullmatch(text.strip())) or (
        result.apologies >= 2 and word_count(text) <= 12 and not _EMPATHY.search(text)
    )
    acknowledged = bool(_EMPATHY.search(text)) or (reading.is_empathic and not bare_apology)
    if acknowledged and not _BOILERPLATE.search(text) and not result.dismissive:
        found.add("empathy")
    if reading.question:
        found.add("question")
        result.open_question = reading.open_question
        result.reask = _is_reask(text, context)
        result.clarifying = not result.reask and (
            _is_clarifying(text, context) or (result.open_question and not _NOT_CLARIFYING.search(text))
        )
    result.echoes = len(echoed_details(text, context))
    # Their own specifics said back: two of them, or one in a short confirming line ("Harbor View,
    # Portland, noted.").
    echo = result.echoes >= 2 or (result.echoes == 1 and word_count(text) <= 8 and not reading.question)
    if not result.reask and (reading.is_reflection or echo):
        found.add("reflection")
    if takes_ownership(text):
        found.add("ownership")
    result.vague_handoff = bool(_VAGUE_HANDOFF.search(text))
    result.follow_up = bool(_FOLLOW_UP.search(text))
    if not result.vague_handoff and _is_next_step(text):
        found.add("next_step")
    result.hedges = len(_HEDGING.findall(text))
    if result.hedges:
        found.add("hedging")
    result.jargon_terms = jargon_terms(text)
    if result.jargon_terms:
        found.add("jargon")
    result.refusal = bool(_REFUSAL.search(text))
    result.reason = bool(_REASON.search(text))
    result.reasonless_refusal = bool(_REASONLESS_REFUSAL.search(text))
    result.specific = bool(re.search(r"\d", text) or TIME_EXPRESSION.search(text))
    return result


# What the customer sees at once counts too when it is a message on its way ("I'm sending the
# confirmation now"), unlike an account change made on the spot.
_SENT_NOW = _rx(
    r"\bnow\b|\bwhile we're (?:still )?on the (?:line|phone|call)\b|\bbefore we (?:finish|hang up)\b"
)


_BOOKED = _rx(
    r"\b(?:I|we)(?:'ve| have)(?: now| just| already)? (?:booked|reserved|scheduled|arranged|confirmed)\b"
)


def _carry_times(analyzed: list[SentenceSignals]) -> None:
    """ "Thursday, 8 till noon. I've booked it.": a booking whose time the sentence before gave."""
    for before, item in zip(analyzed, analyzed[1:], strict=False):
        if (
            "next_step" not in item.found
            and "off_topic" not in item.found
            and not item.vague_handoff
            and _BOOKED.search(item.sentence.text)
            and TIME_EXPRESSION.search(before.sentence.text)
        ):
            item.found.add("next_step")


def _is_next_step(text: str) -> bool:
    if _NEXT_STEP_CONTACT.search(text) and (TIME_EXPRESSION.search(text) or _SENT_NOW.search(text)):
        return True
    if not _NEXT_STEP_CHANGE.search(text):
        return False
    later = [m.group(0) for m in TIME_EXPRESSION.finditer(text) if not _IMMEDIATE.fullmatch(m.group(0))]
    return bool(later)


def jargon_terms(text: str) -> list[str]:
    terms = [m.group(0) for m in _JARGON_TERMS.finditer(text)]
    covered = " ".join(terms)
    for match in _ACRONYM.finditer(text):
        word = match.group(0).rstrip("s") if match.group(0).endswith("s") else match.group(0)
        if word not in _PLAIN_ACRONYMS and word not in covered:
            terms.append(match.group(0))
    return terms


def _is_reask(text: str, context: CustomerContext) -> bool:
    """Asking again for something the customer already said is the clearest sign of not listening."""
    if _GENERIC_PROBLEM_QUESTION.search(text) and context.explained_problem:
        return True
    if _ASKS_EMAIL.search(text) and context.gave_email and not _OTHER_EMAIL.search(text):
        return True
    if _ASKS_NUMBER.search(text) and context.gave_number and not _GIVEN_NUMBER.search(text):
        return True
    return bool(_ASKS_WHEN.search(text) and context.gave_when)


def _is_clarifying(text: str, context: CustomerContext) -> bool:
    """A question that digs into this customer's situation, not a closing or deflecting one."""
    if _NOT_CLARIFYING.search(text):
        return False
    overlap = content_stems(text) & context.stems
    opener = _CLARIFY_OPENER.search(text)
    return bool(overlap or _REFLECTION_PHRASE.search(text)) or (bool(opener) and word_count(text) >= 5)


_CUSTOMER_FEELING = re.compile(
    rf"\b(?:{_FEELING}|angry|sad|scared|afraid|worried|fed up|sick of|tired of|hate|desperate|ruin\w*|overdrawn|"
    r"embarrass\w*|humiliat\w*|panic\w*|anxious|nervous|devastat\w*|gutted|heartbroken|let down|a mess|"
    r"can't believe|even happen|(?:no ?one|nobody) (?:turned up|came|called|showed)|(?:third|fourth|fifth) time)\b",
    re.I,
)


def customer_feeling(text: str) -> bool:
    """The customer voiced a feeling or pushed back: a moment that calls for empathy."""
    return bool(_CUSTOMER_FEELING.search(text)) or customer_escalated(text)


def customer_escalated(text: str) -> bool:
    return bool(_ESCALATION.search(text) or _SHOUTING.search(text))


def first_match(pattern: re.Pattern[str], sentences: Iterable[SentenceSignals]) -> SentenceSignals | None:
    return next((s for s in sentences if pattern.search(s.sentence.text)), None)
