"""The readiness rules on plain values: recency weighting, pass marks, stuck, ordered programs."""

from datetime import UTC, date, datetime, timedelta

from programs import readiness
from programs.readiness import ScoredSession, StepMarks

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MARKS = StepMarks(step_id=1, scenario_id=10, title="Refund refusal", pass_overall=70, behavior_minimums={"empathy": 60})


def _sessions(*scores, empathy=80):
    return [ScoredSession(session_id=i + 1, ended_at=T0 + timedelta(hours=i), overall=score,
                          behaviors={"empathy": empathy, "clarity": score}) for i, score in enumerate(scores)]


def _step(*scores, max_attempts=None, **kwargs):
    sessions = _sessions(*scores, **kwargs)
    return readiness.step_readiness(MARKS, sessions, attempts=len(sessions), max_attempts=max_attempts)


def test_no_sessions_is_not_started():
    step = _step()
    assert step.state == readiness.NOT_STARTED and step.standing is None


def test_a_pass_after_early_misses_is_ready_because_recent_sessions_count_most():
    step = _step(40, 50, 80, 85)  # oldest first
    assert step.state == readiness.READY
    assert step.passed_session_ids == [4, 3]
    assert step.standing > 70


def test_a_pass_followed_by_a_slump_drops_back_to_practising():
    step = _step(85, 40)
    assert step.passed_session_ids == [1]
    assert step.state == readiness.PRACTISING
    assert "clarity" in step.holding_back  # clarity has no minimum, so the pass mark is its bar


def test_a_behavior_minimum_holds_back_a_rep_whose_overall_passes():
    step = _step(90, 92, empathy=40)
    assert step.state == readiness.PRACTISING and step.passed_session_ids == []
    assert step.holding_back == ["empathy"]


def test_three_failed_sessions_in_a_row_or_no_attempts_left_is_stuck():
    assert _step(50, 55, 60).stuck
    assert not _step(50, 55).stuck
    limited = _step(50, max_attempts=1)
    assert limited.attempts_left == 0 and limited.stuck
    assert not _step(90, max_attempts=1).stuck  # passed on the last attempt


def test_program_is_ready_only_when_every_step_is_and_overdue_only_when_not():
    ready = _step(90)
    practising = _step(40)
    today = date(2026, 12, 1)
    both = readiness.program_readiness([ready, _step(95)], is_ordered=False, due_on=date(2026, 11, 1), today=today)
    assert both.state == readiness.READY and not both.overdue
    half = readiness.program_readiness([ready, practising], is_ordered=False, due_on=date(2026, 11, 1), today=today)
    assert half.state == readiness.PRACTISING and half.overdue and half.passed_steps == 1


def test_an_ordered_program_locks_the_steps_after_the_first_not_passed():
    steps = [_step(40), _step(), _step()]
    readiness.program_readiness(steps, is_ordered=True, due_on=None, today=date(2026, 12, 1))
    assert [step.locked for step in steps] == [False, True, True]


def test_overall_state_across_programs():
    assert readiness.overall_state([readiness.READY, readiness.READY]) == readiness.READY
    assert readiness.overall_state([readiness.NOT_STARTED]) == readiness.NOT_STARTED
    assert readiness.overall_state([readiness.READY, readiness.NOT_STARTED]) == readiness.PRACTISING
