"""Readiness: from a rep's scored sessions to "not started → practising → ready", with the evidence.

Pure functions over plain values, so the rules are easy to read and test; selectors gather the rows.
Recent sessions count more: a step's standing is the mean of its last sessions weighted 1, ½, ¼, …
(newest first), so a pass followed by a slump drops back to practising, and a few early misses
stop counting once the rep is consistently above the mark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

RECENT_SESSIONS = 5  # how many of a step's latest scored sessions its standing is drawn from
DECAY = 0.5  # each older session weighs this much of the one after it
STUCK_AFTER_FAILS = 3  # this many failed sessions in a row on a step not passed = stuck

NOT_STARTED, PRACTISING, READY = "not_started", "practising", "ready"
STATE_LABELS = {NOT_STARTED: "Not started", PRACTISING: "Practising", READY: "Ready"}


@dataclass(frozen=True)
class ScoredSession:
    """One scored session as readiness sees it: the score that counts (reviewer adjustments
    included) overall and per behavior."""

    session_id: int
    ended_at: datetime
    overall: int
    behaviors: dict[str, int]
    adjusted: bool = False


@dataclass(frozen=True)
class StepMarks:
    step_id: int
    scenario_id: int
    title: str
    pass_overall: int
    behavior_minimums: dict[str, int]

    def failures(self, overall: float, behaviors: dict[str, float]) -> list[str]:
        """What keeps these scores from passing: "overall" and/or behavior keys."""
        missing = ["overall"] if overall < self.pass_overall else []
        missing += [key for key, minimum in self.behavior_minimums.items() if behaviors.get(key, 0) < minimum]
        return missing


@dataclass
class StepReadiness:
    marks: StepMarks
    state: str
    attempts: int  # ended sessions on this step, scored or not
    sessions: list[ScoredSession]  # newest first
    passed_session_ids: list[int]
    standing: float | None  # recency-weighted overall
    behavior_standing: dict[str, float]
    holding_back: list[str]  # behavior keys below their minimum (or below the pass mark without one)
    attempts_left: int | None
    stuck: bool
    locked: bool = False

    @property
    def passed(self) -> bool:
        return self.state == READY


@dataclass
class ProgramReadiness:
    state: str
    steps: list[StepReadiness]
    overdue: bool
    stuck: bool
    last_session_at: datetime | None = None
    holding_back: list[str] = field(default_factory=list)

    @property
    def passed_steps(self) -> int:
        return sum(1 for step in self.steps if step.passed)

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


def weighted(values: list[float]) -> float | None:
    """Recency-weighted mean of values given newest first."""
    values = values[:RECENT_SESSIONS]
    if not values:
        return None
    weights = [DECAY**age for age in range(len(values))]
    return sum(v * w for v, w in zip(values, weights, strict=True)) / sum(weights)


def step_readiness(
    marks: StepMarks, sessions: list[ScoredSession], *, attempts: int, max_attempts: int | None
) -> StepReadiness:
    sessions = sorted(sessions, key=lambda s: (s.ended_at, s.session_id), reverse=True)
    passed_ids = [s.session_id for s in sessions if not marks.failures(s.overall, s.behaviors)]
    standing = weighted([s.overall for s in sessions])
    behavior_keys = sorted({key for s in sessions for key in s.behaviors} | set(marks.behavior_minimums))
    behavior_standing = {}
    for key in behavior_keys:
        value = weighted([s.behaviors[key] for s in sessions if key in s.behaviors])
        if value is not None:
            behavior_standing[key] = round(value, 1)
    holding_back = [
        key for key, value in behavior_standing.items()
        if value < marks.behavior_minimums.get(key, marks.pass_overall)
    ]
    holding_back += [key for key in marks.behavior_minimums if key not in behavior_standing]
    if not sessions:
        state = NOT_STARTED
    elif passed_ids and not marks.failures(standing, behavior_standing):
        state = READY
    else:
        state = PRACTISING
    attempts_left = None if max_attempts is None else max(0, max_attempts - attempts)
    recent_fails = 0
    for session in sessions:
        if not marks.failures(session.overall, session.behaviors):
            break
        recent_fails += 1
    stuck = state != READY and (attempts_left == 0 or recent_fails >= STUCK_AFTER_FAILS)
    return StepReadiness(
        marks=marks, state=state, attempts=attempts, sessions=sessions, passed_session_ids=passed_ids,
        standing=None if standing is None else round(standing, 1), behavior_standing=behavior_standing,
        holding_back=sorted(set(holding_back), key=holding_back.index), attempts_left=attempts_left, stuck=stuck,
    )


def program_readiness(
    steps: list[StepReadiness], *, is_ordered: bool, due_on: date | None, today: date
) -> ProgramReadiness:
    if is_ordered:
        blocked = False
        for step in steps:
            step.locked = blocked
            blocked = blocked or not step.passed
    if steps and all(step.passed for step in steps):
        state = READY
    elif all(step.state == NOT_STARTED for step in steps):
        state = NOT_STARTED
    else:
        state = PRACTISING
    holding_back: list[str] = []
    for step in steps:
        if not step.passed:
            holding_back += [key for key in step.holding_back if key not in holding_back]
    ended = [s.ended_at for step in steps for s in step.sessions]
    return ProgramReadiness(
        state=state,
        steps=steps,
        overdue=state != READY and due_on is not None and due_on < today,
        stuck=any(step.stuck for step in steps),
        last_session_at=max(ended) if ended else None,
        holding_back=holding_back,
    )


def overall_state(states: list[str]) -> str:
    """A rep's readiness across their programs."""
    if states and all(state == READY for state in states):
        return READY
    if all(state == NOT_STARTED for state in states):
        return NOT_STARTED
    return PRACTISING
