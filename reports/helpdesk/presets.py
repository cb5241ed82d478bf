"""Help-desk and contact-centre exports as the vendors emit them: which columns each preset reads, in
which units, and how each weekly KPI is computed from the rows (the definition recorded with the value).

A preset is data, not code: the aggregator (reports.helpdesk.aggregate) turns its column roles and
derivations into one columnar query. Column names are matched case-insensitively after trimming;
a column whose name carries its time zone (Intercom's “Conversation started at (America/New_York)”)
is matched by pattern and the zone read from the header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Units a duration column can be in. Cells may also be written HH:MM:SS (or MM:SS) in any of them.
SECONDS, MINUTES, HOURS, MILLISECONDS = "seconds", "minutes", "hours", "ms"
UNIT_FACTORS = {SECONDS: 1.0, MINUTES: 60.0, HOURS: 3600.0, MILLISECONDS: 0.001}
UNIT_WORDS = {SECONDS: "seconds", MINUTES: "minutes", HOURS: "hours", MILLISECONDS: "milliseconds"}


@dataclass(frozen=True)
class Col:
    """One column role: the first of `names` present in the header wins; `pattern` (a regex on the
    lower-case header name, with an optional `tz` group) is tried after them."""

    names: tuple[str, ...]
    pattern: str = ""

    def find(self, header: list[str]) -> tuple[str, str] | None:
        """(header name, time zone from the header or '') or None."""
        lowered = {name.strip().lower(): name for name in header}
        for name in self.names:
            if name.lower() in lowered:
                return lowered[name.lower()], ""
        if self.pattern:
            for name in header:
                match = re.fullmatch(self.pattern, name.strip().lower())
                if match:
                    zone = match.groupdict().get("tz") or ""
                    # The zone's own spelling (America/New_York), not the lower-cased match.
                    if zone:
                        start, end = match.span("tz")
                        zone = name.strip()[start:end]
                    return name, zone
        return None

    @property
    def shown(self) -> str:
        return self.names[0] if self.names else self.pattern


@dataclass(frozen=True)
class Derivation:
    """How one metric's weekly value comes from the rows.

    kind:
      "duration"  mean per row of the sum of `columns` (durations in `unit`), in seconds
      "flag"      share (%) of rows meeting every test in `tests` [(column index, op, value)];
                  ops: gt, ge, lt, le, eq (numeric), true (yes/true/1/escalated…)
      "goodbad"   CSAT: Good / (Good + Bad) in %; other values (Offered, Not Offered, blank) unrated
      "scale5"    CSAT: share (%) of ratings 4–5 among 1–5 ratings
    """

    metric: str
    kind: str
    columns: tuple[Col, ...]
    definition: str
    unit: str = SECONDS
    tests: tuple[tuple[int, str, float], ...] = ()
    optional: bool = True  # a missing column drops this metric instead of refusing the file


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    agent: Col
    week: Col  # the solved / closed / started time whose ISO week the row counts in
    derivations: tuple[Derivation, ...]
    signature: tuple[Col, ...] = ()  # further columns that identify the export (raise confidence)
    week_words: str = "solved"  # "the ISO week of the <solved> time"
    agent_words: str = "assignee"
    ratings: tuple[Col, Col] | None = None  # (conversation id, rating) of a separate CSAT file
    notes: tuple[str, ...] = field(default_factory=tuple)

    def columns(self) -> list[Col]:
        cols = [self.agent, self.week, *self.signature]
        for derivation in self.derivations:
            cols.extend(derivation.columns)
        unique: list[Col] = []
        for col in cols:
            if col not in unique:
                unique.append(col)
        return unique


def _c(*names: str, pattern: str = "") -> Col:
    return Col(tuple(names), pattern)


HANDLE_CALLS = "average handle time per call = talk + hold + after-call work"
# Ticket exports carry reply and resolution times, which are not handling time: they fill the
# tenant's own KPIs with these keys when it has added them (the import says so when it hasn't).
FIRST_REPLY_TIME, RESOLUTION_TIME = "first_reply_time", "resolution_time"


def _times(*, first: tuple[str, ...], first_unit: str, full: tuple[str, ...], full_unit: str, words: str):
    return (
        Derivation(FIRST_REPLY_TIME, "duration", (_c(*first),),
                   f"first reply time = mean {first[0]} ({words})", unit=first_unit),
        Derivation(RESOLUTION_TIME, "duration", (_c(*full),),
                   f"resolution time = mean {full[0]} ({words})", unit=full_unit),
    )

PRESETS: tuple[Preset, ...] = (
    Preset(
        key="zendesk_tickets", label="Zendesk ticket export",
        agent=_c("Assignee", "Assignee email", "Assignee id"),
        week=_c("Solved at", "Solved"),
        signature=(_c("ID", "Id"), _c("Group"), _c("Created at"), _c("Assignee stations"),
                   _c("Requester wait time in minutes"), _c("Resolution time")),
        derivations=(
            Derivation("escalation_rate", "flag", (_c("Group stations"),),
                       "escalation = share of solved tickets with Group stations > 1 (passed to another group)",
                       tests=((0, "gt", 1),)),
            Derivation("csat", "goodbad", (_c("Satisfaction Score", "Satisfaction score", "Satisfaction"),),
                       "CSAT = Good / (Good + Bad) satisfaction ratings (Offered and Not Offered don't count)"),
            Derivation("first_contact_resolution", "flag", (_c("Replies"), _c("Reopens")),
                       "first contact resolution = share of solved tickets with at most one agent reply and "
                       "no reopen", tests=((0, "le", 1), (1, "eq", 0))),
            *_times(first=("First reply time in minutes",), first_unit=MINUTES,
                    full=("Full resolution time in minutes",), full_unit=MINUTES, words="calendar minutes"),
            Derivation(RESOLUTION_TIME, "duration", (_c("Resolution time"),),
                       "resolution time = mean Zendesk Resolution time (hours)", unit=HOURS),
        ),
    ),
    Preset(
        key="zendesk_ticket_metrics", label="Zendesk API ticket_metrics",
        agent=_c("assignee_id", "assignee_email", "assignee"),
        week=_c("solved_at"),
        signature=(_c("ticket_id"), _c("group_stations"), _c("assignee_stations"), _c("reopens"),
                   _c("replies"), _c("first_resolution_time_in_minutes.calendar")),
        derivations=(
            Derivation("escalation_rate", "flag", (_c("group_stations"),),
                       "escalation = share of solved tickets with group_stations > 1", tests=((0, "gt", 1),)),
            Derivation("csat", "goodbad", (_c("satisfaction_score", "satisfaction_rating.score"),),
                       "CSAT = good / (good + bad) satisfaction ratings"),
            Derivation("first_contact_resolution", "flag", (_c("replies"), _c("reopens")),
                       "first contact resolution = share of solved tickets with at most one agent reply and "
                       "no reopen", tests=((0, "le", 1), (1, "eq", 0))),
            *_times(first=("reply_time_in_minutes.calendar", "reply_time_in_minutes"), first_unit=MINUTES,
                    full=("full_resolution_time_in_minutes.calendar", "full_resolution_time_in_minutes"),
                    full_unit=MINUTES, words="calendar minutes"),
        ),
    ),
    Preset(
        key="freshdesk_tickets", label="Freshdesk / Freshservice ticket export",
        agent=_c("Agent", "Agent email", "Responder id"),
        week=_c("Resolved time", "Resolved Time", "Closed time"),
        signature=(_c("Ticket ID", "Ticket Id"), _c("Group"), _c("Created time"), _c("Status"),
                   _c("Survey results", "Survey Results")),
        week_words="resolved", agent_words="agent",
        derivations=(
            Derivation("csat", "freshdesk_survey", (_c("Survey results", "Survey Results"),),
                       "CSAT = share of surveyed tickets rated Happy / Extremely happy / Satisfied (neutral "
                       "counts as not satisfied)"),
            Derivation("first_contact_resolution", "flag", (_c("Agent interactions", "Agent Interactions"),),
                       "first contact resolution = share of resolved tickets with one agent interaction",
                       tests=((0, "le", 1),)),
            *_times(first=("First response time (in hrs)", "First Response Time (in Hrs)"), first_unit=HOURS,
                    full=("Resolution time (in hrs)", "Resolution Time (in Hrs)"), full_unit=HOURS,
                    words="hours, HH:MM:SS"),
        ),
    ),
    Preset(
        key="intercom_conversations", label="Intercom conversations export",
        agent=_c("Teammate currently assigned", "Teammate assigned", "Teammate"),
        week=_c("Conversation last closed at", "Conversation closed at", pattern=r"conversation (?:last )?closed at \((?P<tz>[^)]+)\)"),
        signature=(_c("Conversation ID"), _c("Conversation started at", pattern=r"conversation started at \((?P<tz>[^)]+)\)"),
                   _c("Number of reassignments"), _c("Time to close (seconds)")),
        week_words="closed", agent_words="teammate currently assigned",
        ratings=(_c("Conversation ID"), _c("Conversation rating")),
        derivations=(
            Derivation("escalation_rate", "flag", (_c("Number of reassignments"),),
                       "escalation = share of closed conversations reassigned at least once",
                       tests=((0, "ge", 1),)),
            Derivation("first_contact_resolution", "flag", (_c("Resolved on first contact"),),
                       "first contact resolution = share of conversations Intercom marks resolved on first contact",
                       tests=((0, "true", 0),)),
            Derivation("avg_handling_time", "duration", (_c("Handling time (seconds)"),),
                       "handling time = mean Intercom handling time (seconds)", unit=SECONDS),
            Derivation("csat", "scale5", (_c("Conversation rating"),),
                       "CSAT = share of 4–5 conversation ratings among rated conversations (1–5 scale)"),
        ),
    ),
    Preset(
        key="intercom_conversations_started", label="Intercom conversations export (by start time)",
        agent=_c("Teammate currently assigned", "Teammate assigned"),
        week=_c(pattern=r"conversation started at \((?P<tz>[^)]+)\)"),
        signature=(_c("Conversation ID"), _c("First response time (seconds)"), _c("Time to close (seconds)")),
        week_words="started", agent_words="teammate currently assigned",
        ratings=(_c("Conversation ID"), _c("Conversation rating")),
        derivations=(
            Derivation("escalation_rate", "flag", (_c("Number of reassignments"),),
                       "escalation = share of conversations reassigned at least once", tests=((0, "ge", 1),)),
            Derivation("first_contact_resolution", "flag", (_c("Resolved on first contact"),),
                       "first contact resolution = share of conversations Intercom marks resolved on first contact",
                       tests=((0, "true", 0),)),
            Derivation("avg_handling_time", "duration", (_c("Handling time (seconds)"),),
                       "handling time = mean Intercom handling time (seconds)", unit=SECONDS),
            Derivation("csat", "scale5", (_c("Conversation rating"),),
                       "CSAT = share of 4–5 conversation ratings among rated conversations (1–5 scale)"),
        ),
    ),
    Preset(
        key="salesforce_cases", label="Salesforce Service Cloud case report",
        agent=_c("Case Owner", "Owner Name", "Case Owner Email"),
        week=_c("Date/Time Closed", "Closed Date"),
        signature=(_c("Case Number"), _c("Date/Time Opened", "Opened Date"), _c("Status"), _c("Subject")),
        week_words="closed", agent_words="case owner",
        derivations=(
            Derivation("escalation_rate", "flag", (_c("Escalated"),),
                       "escalation = share of closed cases with Escalated checked", tests=((0, "true", 0),)),
            Derivation(RESOLUTION_TIME, "elapsed", (_c("Date/Time Opened", "Opened Date"), _c("Date/Time Closed", "Closed Date")),
                       "resolution time = mean time from Date/Time Opened to Date/Time Closed"),
        ),
    ),
    Preset(
        key="salesforce_agentwork", label="Salesforce Omni-Channel AgentWork",
        agent=_c("UserId", "User.Email", "User"),
        week=_c("CloseDateTime"),
        signature=(_c("Id"), _c("AcceptDateTime"), _c("WorkItemId"), _c("ServiceChannelId"), _c("ActiveTime")),
        week_words="closed (CloseDateTime)", agent_words="UserId",
        derivations=(
            Derivation("avg_handling_time", "duration", (_c("HandleTime"),),
                       "handle time = mean AgentWork HandleTime (seconds, accept to close)", unit=SECONDS),
        ),
    ),
    Preset(
        key="hubspot_tickets", label="HubSpot tickets",
        agent=_c("hubspot_owner_id", "Ticket owner"),
        week=_c("closed_date", "Close date"),
        signature=(_c("hs_object_id", "Ticket ID"), _c("createdate", "Create date"), _c("hs_pipeline_stage")),
        week_words="closed", agent_words="ticket owner",
        derivations=(
            *_times(first=("time_to_first_agent_reply", "Time to first agent reply"), first_unit=MILLISECONDS,
                    full=("time_to_close", "Time to close"), full_unit=MILLISECONDS, words="milliseconds"),
        ),
    ),
    Preset(
        key="talkdesk_contacts", label="Talkdesk contacts report",
        agent=_c("User Email", "User Name", "User ID", "Agent Name"),
        week=_c("Started At", "Start Time"),
        signature=(_c("Interaction ID", "Call ID"), _c("Direction", "Type"), _c("Talk Time"), _c("Hold Time"),
                   _c("After Call Work Time")),
        week_words="call's start", agent_words="user",
        derivations=(
            Derivation("avg_handling_time", "duration", (_c("Talk Time"), _c("Hold Time"), _c("After Call Work Time")),
                       HANDLE_CALLS + " (Talkdesk, HH:MM:SS or seconds)", unit=SECONDS),
            Derivation("escalation_rate", "flag", (_c("Transfer Out", "Transfers"),),
                       "escalation = share of calls transferred out", tests=((0, "true", 0),)),
        ),
    ),
    Preset(
        key="genesys_interactions", label="Genesys Cloud interactions / analytics export",
        agent=_c("Agent Email", "Users", "User Name", "Agent", "userId"),
        week=_c("Date", "Interval Start", "intervalStart", "Conversation Start"),
        signature=(_c("nConnected", "Handle"), _c("tTalk"), _c("tHeld"), _c("tAcw"), _c("nTransferred")),
        week_words="interval's start", agent_words="user",
        derivations=(
            Derivation("avg_handling_time", "duration", (_c("tHandle"),),
                       "handle time = mean Genesys tHandle per interaction (milliseconds: talk + hold + ACW)",
                       unit=MILLISECONDS),
            Derivation("escalation_rate", "flag", (_c("nTransferred"),),
                       "escalation = share of interactions with a transfer (nTransferred > 0)",
                       tests=((0, "gt", 0),)),
        ),
    ),
    Preset(
        key="five9_call_log", label="Five9 call log",
        agent=_c("AGENT", "AGENT EMAIL", "AGENT NAME"),
        week=_c("TIMESTAMP", "DATE"),
        signature=(_c("CALL ID"), _c("CAMPAIGN"), _c("CALL TYPE"), _c("DISPOSITION"), _c("HANDLE TIME")),
        week_words="call's TIMESTAMP", agent_words="agent",
        derivations=(
            Derivation("avg_handling_time", "duration", (_c("TALK TIME"), _c("HOLD TIME"), _c("AFTER CALL WORK TIME")),
                       HANDLE_CALLS + " (Five9, HH:MM:SS)", unit=SECONDS),
            Derivation("escalation_rate", "flag", (_c("TRANSFERS"),),
                       "escalation = share of calls with a transfer (TRANSFERS > 0)", tests=((0, "gt", 0),)),
        ),
    ),
)

PRESETS_BY_KEY = {preset.key: preset for preset in PRESETS}
PRESET_CHOICES = [(preset.key, preset.label) for preset in PRESETS]
CONFIDENT = 0.6  # below this share of a preset's columns the file isn't read as that export


@dataclass
class Detection:
    preset: Preset
    confidence: float  # 0–1: the share of the preset's columns found in the header
    found: list[str]
    missing: list[str]


def detect(header: list[str]) -> list[Detection]:
    """Every preset whose agent and week columns and at least one metric column are in the header,
    best first. Confidence is the share of all the preset's columns present."""
    results: list[Detection] = []
    for preset in PRESETS:
        if preset.agent.find(header) is None or preset.week.find(header) is None:
            continue
        if not any(all(c.find(header) for c in d.columns) for d in preset.derivations):
            continue
        columns = preset.columns()
        found = [c.shown for c in columns if c.find(header)]
        missing = [c.shown for c in columns if not c.find(header)]
        results.append(Detection(preset, len(found) / len(columns), found, missing))
    results.sort(key=lambda d: (-d.confidence, -len(d.found)))
    return results
