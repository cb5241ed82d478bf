"""Writes of scoring: `jobs` enqueues and runs scoring jobs; `review` holds manager adjustments,
turn comments and rep disputes."""

from .jobs import (
    SCORE_SOFT_TIME_LIMIT_S,
    SCORE_TIME_LIMIT_S,
    TransientScoringError,
    _claim,
    _write_result,
    on_session_ended,
    rescore_enqueue,
    session_score_enqueue,
    session_score_fail,
    session_score_run,
    sessions_needing_score,
    sweep_enqueue,
    transcript_for_session,
)
from .review import NOTE_MAX, REASON_MAX, dispute_open, dispute_resolve, score_adjust, turn_comment_add

__all__ = [
    "NOTE_MAX",
    "REASON_MAX",
    "SCORE_SOFT_TIME_LIMIT_S",
    "SCORE_TIME_LIMIT_S",
    "TransientScoringError",
    "_claim",  # the job-race tests drive a claim and a result write directly
    "_write_result",
    "dispute_open",
    "dispute_resolve",
    "on_session_ended",
    "rescore_enqueue",
    "score_adjust",
    "session_score_enqueue",
    "session_score_fail",
    "session_score_run",
    "sessions_needing_score",
    "sweep_enqueue",
    "transcript_for_session",
    "turn_comment_add",
]
