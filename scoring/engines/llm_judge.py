"""The LLM judge: scores a transcript with a model behind an OpenAI-compatible endpoint.

Same interface and result shape as the embedded scorer. The model gets the rubric as its system
message and the transcript as delimited data (``judge_prompt``); its JSON answer is validated and
every quote checked verbatim (``judge_schema``), and an unusable answer is retried, then refused
with ``LLMBadResponse``. After that comes defense in depth: rep turns the embedded detector flags as
injection attempts can't be positive evidence, whatever the model said about them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import openai

from coachhub.core.llm import LLMBadResponse, LLMConfig, RetryNotice, chat_complete, shared_client
from scoring.engines.base import (
    BehaviorScore,
    Focus,
    PolicyVerdict,
    ScoreResult,
    TurnSignals,
    weighted_overall,
)

# The embedded scorer's own delivery summary, so both engines report voice figures identically.
from scoring.engines.embedded import _delivery as delivery_of
from scoring.engines.judge_prompt import build_messages
from scoring.engines.judge_schema import InvalidVerdict, JudgeVerdict, parse_verdict
from scoring.engines.signals import SIGNAL_NAMES, CustomerContext, analyze_rep_turn
from scoring.transcript import Transcript

# Room for six behaviors with evidence, a verdict per policy and signals for ~20 rep turns.
DEFAULT_MAX_TOKENS = 4096
# Scoring must be repeatable: greedy decoding, and a fixed seed where the provider honors one.
JUDGE_TEMPERATURE = 0.0
JUDGE_SEED = 0
JSON_MODE = {"type": "json_object"}

JUDGE_BAD_RESPONSE_MESSAGE = (
    "The AI judge's answer didn't pass validation, so no scores were saved. Try scoring again."
)
_NO_CONTEXT = CustomerContext.from_texts([])


class LLMJudge:
    """Behavior scorer that asks a model, trusting nothing it says that we can check."""

    name = "llm"
    version = "1.0"

    def __init__(
        self,
        config: LLMConfig,
        *,
        client: openai.OpenAI | None = None,
        on_retry: Callable[[RetryNotice], None] | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> None:
        self.config = dataclasses.replace(config, temperature=JUDGE_TEMPERATURE)
        self.model = config.model
        self._client = client
        self._on_retry = on_retry
        self._max_tokens = max_tokens

    def score(self, transcript: Transcript) -> ScoreResult:
        return assemble_result(transcript, self.judge(transcript))

    def judge(self, transcript: Transcript) -> JudgeVerdict:
        """The model's validated verdict, before the injection defenses; raises LLMError."""
        accepted: list[JudgeVerdict] = []
        attempts = 0

        def accept(text: str) -> None:
            nonlocal attempts
            attempts += 1
            try:
                accepted.append(parse_verdict(text, transcript))
            except InvalidVerdict as exc:
                raise LLMBadResponse(
                    JUDGE_BAD_RESPONSE_MESSAGE, detail=f"judge answer {attempts} rejected: {exc}"
                ) from exc

        try:
            chat_complete(
                self.config,
                build_messages(transcript),
                client=self._client or shared_client(self.config),
                max_tokens=self._max_tokens,
                seed=JUDGE_SEED,
                on_retry=self._on_retry,
                accept=accept,
                response_format=JSON_MODE,
            )
        except LLMBadResponse as exc:
            # The shared message speaks of "the AI customer"; this failure is the judge's.
            raise LLMBadResponse(JUDGE_BAD_RESPONSE_MESSAGE, detail=exc.detail) from exc
        # chat_complete returns only after `accept` passed on its last answer.
        return accepted[-1]


# --- defense in depth ----------------------------------------------------------------------------


def injection_turns(transcript: Transcript) -> frozenset[int]:
    """Rep turns the embedded detector flags as attempts to address the evaluator."""
    return frozenset(
        index
        for index, turn in enumerate(transcript.turns)
        if turn.is_rep and analyze_rep_turn(index, turn.text, _NO_CONTEXT).injection
    )


def neutralize_behavior(score: BehaviorScore, flagged: frozenset[int]) -> BehaviorScore:
    """Evidence from flagged turns is dropped; a score that rested only on them is not observed."""
    if score.score is None:
        return score
    clean = tuple(item for item in score.evidence if item.turn not in flagged)
    if len(clean) == len(score.evidence):
        return score
    if not clean:
        return BehaviorScore.not_observed()
    return dataclasses.replace(score, evidence=clean)


def neutralize_policy(verdict: PolicyVerdict, flagged: frozenset[int]) -> PolicyVerdict:
    """A policy can't count as followed on the strength of a line aimed at the evaluator."""
    if verdict.status == "followed" and verdict.turn in flagged:
        return PolicyVerdict(verdict.policy, "not_applicable", None)
    return verdict


def flag_turns(turns: tuple[TurnSignals, ...], flagged: frozenset[int]) -> tuple[TurnSignals, ...]:
    """The model's signals, plus ``injection`` on every turn the detector flagged."""
    return tuple(
        TurnSignals(item.turn, tuple(n for n in SIGNAL_NAMES if n in item.signals or n == "injection"))
        if item.turn in flagged
        else item
        for item in turns
    )


def assemble_result(transcript: Transcript, verdict: JudgeVerdict) -> ScoreResult:
    flagged = injection_turns(transcript)
    behaviors = {key: neutralize_behavior(score, flagged) for key, score in verdict.behaviors.items()}
    weights = {item.key: item.weight for item in transcript.scenario.rubric}
    focus: Focus | None = verdict.focus
    if focus is not None and behaviors[focus.behavior].score is None:
        focus = None
    return ScoreResult(
        behaviors=behaviors,
        policies=tuple(neutralize_policy(item, flagged) for item in verdict.policies),
        turns=flag_turns(verdict.turns, flagged),
        focus=focus,
        overall=weighted_overall(behaviors, weights),
        delivery=delivery_of(transcript),
    )
