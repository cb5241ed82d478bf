"""Writes of the role-play runner: start a session, record the rep's turn, apply the customer's
reply, end the session. `lifecycle` starts and ends sessions; `turns` takes the rep's lines and
the customer's replies."""

from .lifecycle import engine_for, engine_get, session_end, session_start
from .turns import (
    REP_TEXT_MAX,
    ReplyContext,
    TurnTaken,
    reply_answered,
    reply_context,
    reply_failed,
    reply_finished,
    session_customer_reply_apply,
    session_rep_turn_record,
    session_reply,
    session_turn_exchange,
    session_turn_take,
    voice_turn_transcribe,
)

__all__ = [
    "REP_TEXT_MAX",
    "ReplyContext",
    "TurnTaken",
    "engine_for",
    "engine_get",
    "reply_answered",
    "reply_context",
    "reply_failed",
    "reply_finished",
    "session_customer_reply_apply",
    "session_end",
    "session_rep_turn_record",
    "session_reply",
    "session_start",
    "session_turn_exchange",
    "session_turn_take",
    "voice_turn_transcribe",
]
