"""Judge answers for any transcript, for tests that script the loopback OpenAI server as the LLM judge.

`valid_judge_answer` passes every check `parse_verdict` makes (rubric keys, one entry per rep turn
and policy, verbatim quotes), so a test can tell "the judge answered" from "the judge's answer was
refused" without hand-writing JSON for each transcript.
"""

from __future__ import annotations

import json
from typing import Any

from scoring.engines.judge_schema import MAX_QUOTE_CHARS
from scoring.transcript import Transcript

FIRST_SCORE = 60
SCORE_STEP = 5


def judge_scores(transcript: Transcript) -> dict[str, int]:
    """The score `valid_judge_answer` gives each rubric behavior: distinct, so a test can tell them apart."""
    return {item.key: FIRST_SCORE + SCORE_STEP * n for n, item in enumerate(transcript.scenario.rubric)}


def valid_judge_answer(transcript: Transcript) -> dict[str, Any]:
    """Every behavior scored on the first rep turn's own words, no policy applicable, no signals."""
    rep_turns = transcript.rep_turn_indices()
    first = rep_turns[0]
    quote = transcript.turns[first].text[:MAX_QUOTE_CHARS]
    scores = judge_scores(transcript)
    return {
        "behaviors": {
            key: {
                "score": score,
                "rationale": "Acknowledged the customer's situation in their own terms.",
                "confidence": 0.8,
                "evidence": [{"turn": first, "quote": quote}],
            }
            for key, score in scores.items()
        },
        "policies": [
            {"policy": n, "status": "not_applicable", "turn": None} for n in range(len(transcript.scenario.policies))
        ],
        "turns": [{"turn": turn, "signals": []} for turn in rep_turns],
        "focus": {
            "behavior": next(iter(scores)),
            "tip": "Name the customer's deadline before you offer a fix.",
            "example": "With the wedding on Saturday, let's get this sorted today.",
        },
    }


def valid_judge_json(transcript: Transcript) -> str:
    return json.dumps(valid_judge_answer(transcript))
