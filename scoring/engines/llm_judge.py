"""The LLM judge: scores a transcript with a model behind an OpenAI-compatible endpoint.

Same interface and result shape as the embedded scorer. The model gets the rubric as its system
message and the transcript as delimited data (``judge_prompt``); its JSON answer is validated and
every quote checked verbatim (``judge_schema``), and an unusable answer is retried, then refused
with ``LLMBadResponse``. After that comes defense in depth: rep turns the embedded detector flags as
injection attempts can't be positive evidence, whatever the model said about them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

import openai

from coachhub.core.llm import (
    LLMAuthError,
    LLMBadResponse,
    LLMConfig,
    LLMError,
    LLMProviderError,
    LLMRateLimited,
    LLMRequestError,
    LLMTimeout,
    LLMUnavailable,
    RetryNotice,
    context_window,
    estimate_prompt_tokens,
    retry_delay,
    shared_client,
    stream_complete,
)
from coachhub.tenancy.budget import CallBudget, Meter
from coachhub.tenancy.budget import estimate_prompt_tokens as reserved_prompt_tokens
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
from scoring.engines.judge_schema import (
    InvalidVerdict,
    JudgeVerdict,
    parse_verdict,
    verdict_schema,
    wire_schema,
)
from scoring.engines.learned import question_kinds_by_form
from scoring.engines.signals import SIGNAL_NAMES, CustomerContext, analyze_rep_turn, split_sentences
from scoring.transcript import Transcript

logger = logging.getLogger(__name__)

# Room for six behaviors with evidence, a verdict per policy and signals for ~20 rep turns.
DEFAULT_MAX_TOKENS = 4096
# Below this an answer can't hold a verdict; a context that leaves less is reported, not tried.
MIN_ANSWER_TOKENS = 512
# Tokens kept free between the prompt estimate (~4 characters a token) and the context's end.
CONTEXT_MARGIN_TOKENS = 256
# A judge reads a long prompt before its first token (a small local server: well over 20 s), so
# it gets its own, longer budget for the whole answer, after which the request is cancelled.
DEFAULT_TIMEOUT_S = 180.0
# Scoring must be repeatable: greedy decoding, and a fixed seed where the provider honors one. A
# retry after a rejected answer moves the seed and shows the model what was wrong with it.
JUDGE_TEMPERATURE = 0.0
JUDGE_SEED = 0
MAX_ANSWER_ATTEMPTS = 3
JSON_MODE = {"type": "json_object"}
# What of a rejected answer goes back to the model with the reasons it was rejected.
MAX_FED_BACK_CHARS = 6000

JUDGE_BAD_RESPONSE_MESSAGE = (
    "The AI judge's answer didn't pass validation, so no scores were saved. Try scoring again."
)
JUDGE_MESSAGES: dict[type[LLMError], str] = {
    LLMTimeout: "The AI judge took too long to score this session, so it was stopped. Try scoring again later.",
    LLMRateLimited: "The AI judge is busy right now. Try scoring again in a moment.",
    LLMProviderError: "The AI judge's service had a problem on its side. Try scoring again in a moment.",
    LLMUnavailable: "Can't reach the AI judge. An admin should check the AI settings.",
    LLMAuthError: "The AI judge's service turned down our credentials. An admin needs to check the API key.",
    LLMRequestError: "The AI judge's service rejected the request. An admin should check the model in the AI settings.",
    LLMBadResponse: JUDGE_BAD_RESPONSE_MESSAGE,
}
BUSY_MESSAGE = "The AI judge is already scoring this session. Wait for it to finish."
TOO_LONG_MESSAGE = (
    "This session is too long for the AI judge's model ({context} tokens of context). Use a model with a "
    "longer context, or score it with the embedded scorer."
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
        max_tokens: int | None = None,
        timeout_s: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from django.conf import settings

        self.timeout_s = float(timeout_s or getattr(settings, "LLM_JUDGE_TIMEOUT_S", 0) or DEFAULT_TIMEOUT_S)
        # The whole answer's budget is also the read timeout: the first token waits on the prompt.
        self.config = dataclasses.replace(config, temperature=JUDGE_TEMPERATURE, timeout_s=self.timeout_s)
        self.model = config.model
        self._client = client
        self._on_retry = on_retry
        self._max_tokens = max_tokens or int(getattr(settings, "LLM_JUDGE_MAX_TOKENS", 0) or 0) or None
        self._sleep = sleep

    def score(self, transcript: Transcript, *, budget: CallBudget | None = None) -> ScoreResult:
        return assemble_result(transcript, self.judge(transcript, budget=budget))

    def token_estimate(self, transcript: Transcript) -> int:
        return 0  # each call is metered on its own through the job's `budget`

    def tokens_used(self, result: ScoreResult) -> int | None:
        return 0

    def judge(self, transcript: Transcript, *, budget: CallBudget | None = None) -> JudgeVerdict:
        """The model's validated verdict, before the injection defenses; raises LLMError, always
        with a message that names the judge. With a `budget`, every call reserves its prompt and
        answer first (the answer capped to what the tenant has left) and settles what it used."""
        try:
            with _one_call_per_transcript(transcript):
                return self._judge(transcript, budget)
        except LLMError as exc:
            raise _as_judge_error(exc) from exc

    def _judge(self, transcript: Transcript, budget: CallBudget | None) -> JudgeVerdict:
        client = self._client or shared_client(self.config)
        messages = build_messages(transcript)
        max_tokens = self._answer_budget(messages, client)
        schema = verdict_schema(transcript)
        feedback: list[dict[str, str]] = []
        problems: list[str] = []
        transient_retries = 0
        attempt = 0
        attempts = max(1, min(MAX_ANSWER_ATTEMPTS, 1 + self.config.max_retries))
        while attempt < attempts:
            asked = [*messages, *feedback]
            meter, answer_tokens = _call_meter(budget, asked, max_tokens)
            try:
                result = stream_complete(
                    self.config,
                    asked,
                    client=client,
                    max_tokens=answer_tokens,
                    seed=JUDGE_SEED + attempt,
                    response_format=_response_format(self.config, schema),
                    deadline_s=self.timeout_s,
                )
                if meter is not None:
                    meter.charge(result.usage.total_tokens)
            except LLMTimeout:
                raise  # the request was cancelled; asking again would only queue another long read
            except LLMError as exc:
                if meter is not None and not getattr(exc, "partial", False):
                    meter.charge(0)  # refused before the model wrote anything
                if _format_refused(self.config, exc):
                    continue  # asked again with a format it takes; not an attempt the model spent
                if isinstance(exc, LLMRequestError):
                    raise
                transient_retries += 1
                delay = retry_delay(exc, transient_retries, self.config)
                if delay is None:
                    raise
                if self._on_retry is not None:
                    self._on_retry(RetryNotice(retry=transient_retries, error=exc, delay_s=delay))
                self._sleep(delay)
                continue
            finally:
                if meter is not None:
                    meter.close()  # uncharged (a timeout, a broken stream): the whole reservation
            attempt += 1
            if result.finish_reason == "length":
                problem = f"the answer was cut off at the token limit ({answer_tokens} tokens); answer more briefly"
            else:
                try:
                    return parse_verdict(result.text, transcript)
                except InvalidVerdict as exc:
                    problem = str(exc)
            problems.append(f"judge answer {attempt} rejected: {problem}")
            logger.info("LLM judge answer %d rejected: %s", attempt, problem)
            if self._on_retry is not None and attempt < attempts:
                self._on_retry(
                    RetryNotice(
                        retry=attempt,
                        error=LLMBadResponse(JUDGE_BAD_RESPONSE_MESSAGE, detail=problem),
                        delay_s=0.0,
                    )
                )
            # The next try sees its own answer and what was wrong with it, and samples with another seed.
            feedback = [
                {"role": "assistant", "content": result.text[:MAX_FED_BACK_CHARS]},
                {
                    "role": "user",
                    "content": f"That answer was rejected: {problem}. Reply again with only the corrected JSON object.",
                },
            ]
        raise LLMBadResponse(JUDGE_BAD_RESPONSE_MESSAGE, detail="; ".join(problems))

    def _answer_budget(self, messages: list[dict[str, str]], client: openai.OpenAI) -> int:
        """Tokens the answer may use: the admin's figure, else the default, never past what the
        server's context leaves after the prompt (when the server says how large it is)."""
        wanted = self._max_tokens or DEFAULT_MAX_TOKENS
        context = context_window(self.config, client=client)
        if context is None:
            return wanted
        room = context - estimate_prompt_tokens(messages) - CONTEXT_MARGIN_TOKENS
        if room < MIN_ANSWER_TOKENS:
            raise LLMRequestError(
                TOO_LONG_MESSAGE.format(context=context),
                detail=f"prompt ~{estimate_prompt_tokens(messages)} tokens, context {context}",
            )
        return min(wanted, room)


def _call_meter(
    budget: CallBudget | None, messages: list[dict[str, str]], max_tokens: int
) -> tuple[Meter | None, int]:
    """The call's meter (None without a budget) and the answer it may ask for."""
    if budget is None:
        return None, max_tokens
    # The budget's conservative count (non-Latin scripts, chat overhead), not the ~4 chars/token guess.
    prompt = reserved_prompt_tokens([message["content"] for message in messages])
    meter = budget.call(prompt_tokens=prompt, answer_tokens=max_tokens, minimum_answer=min(MIN_ANSWER_TOKENS, max_tokens))
    return meter, meter.tokens - prompt


# How an endpoint takes the answer's shape, best first: OpenAI, vLLM and Ollama accept
# ``json_schema``; llama-cpp-python's server refuses it (with a 500) but constrains
# ``json_object`` to a ``schema``; anything else gets plain JSON mode. An endpoint that refuses one
# moves to the next for the rest of the process.
_FORMAT_LEVELS = ("json_schema", "json_object_schema", "json_object")
_format_level: dict[tuple[str, str], int] = {}


def _response_format(config: LLMConfig, schema: dict) -> dict:
    level = _FORMAT_LEVELS[_format_level.get((config.base_url, config.model), 0)]
    if level == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "judge_verdict", "schema": wire_schema(schema), "strict": False},
        }
    if level == "json_object_schema":
        return {"type": "json_object", "schema": wire_schema(schema)}
    return JSON_MODE


def _format_refused(config: LLMConfig, exc: LLMError) -> bool:
    """Did the server turn down our ``response_format``? Then step down a level and ask again."""
    key = (config.base_url, config.model)
    level = _format_level.get(key, 0)
    if level >= len(_FORMAT_LEVELS) - 1:
        return False
    about_format = any(word in (exc.detail or "") for word in ("response_format", "json_schema", "schema"))
    if not (isinstance(exc, LLMRequestError) or (isinstance(exc, LLMProviderError) and about_format)):
        return False
    _format_level[key] = level + 1
    logger.info(
        "LLM judge endpoint refused response_format %s (%s); trying %s",
        _FORMAT_LEVELS[level],
        " ".join((exc.detail or "").split())[:200],
        _FORMAT_LEVELS[level + 1],
    )
    return True


def _as_judge_error(exc: LLMError) -> LLMError:
    """The same failure, in words that name the judge (the shared messages speak of the customer)."""
    if exc.message in JUDGE_MESSAGES.values() or exc.message in (BUSY_MESSAGE,) or exc.message.startswith(
        "This session is too long"
    ):
        return exc
    message = next((text for kind, text in JUDGE_MESSAGES.items() if isinstance(exc, kind)), JUDGE_BAD_RESPONSE_MESSAGE)
    judged = type(exc).__new__(type(exc))
    LLMError.__init__(judged, message, detail=exc.detail)
    for attribute in ("retry_after_s", "partial"):
        if hasattr(exc, attribute):
            setattr(judged, attribute, getattr(exc, attribute))
    judged.retryable = exc.retryable
    return judged


# One judge call in flight per transcript (so per session: a retried scoring job, or a rescore
# clicked twice, waits its turn instead of queueing a second long read on a one-slot server).
# Held in the shared cache where there is one (Redis in production), else in this process.
_local_calls: set[str] = set()
_local_lock = threading.Lock()


def _holder_is_gone(holder: object) -> bool:
    """Is the process named by ``holder`` ("host:pid") on this machine and no longer running?"""
    host, _, pid = str(holder or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's call: only its expiry frees it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextlib.contextmanager
def _one_call_per_transcript(transcript: Transcript) -> Iterator[None]:
    from django.core.cache import cache

    from scoring.transcript import transcript_to_dict

    digest = hashlib.sha256(json.dumps(transcript_to_dict(transcript), sort_keys=True).encode()).hexdigest()[:32]
    key = f"llm-judge:in-flight:{digest}"
    with _local_lock:
        if key in _local_calls:
            raise LLMRateLimited(BUSY_MESSAGE, detail="a judge call for this transcript is in flight")
        _local_calls.add(key)
    shared = False
    owner = f"{socket.gethostname()}:{os.getpid()}"
    try:
        try:
            shared = cache.add(key, owner, timeout=int(DEFAULT_TIMEOUT_S * 2))
            if not shared and _holder_is_gone(cache.get(key)):
                # The process that held it died mid-call (killed worker): its job was redelivered here.
                cache.set(key, owner, timeout=int(DEFAULT_TIMEOUT_S * 2))
                shared = True
            if not shared:
                raise LLMRateLimited(BUSY_MESSAGE, detail="a judge call for this transcript is in flight elsewhere")
        except LLMError:
            raise
        except Exception:  # no shared cache reachable: the process-local guard still holds
            shared = False
        yield
    finally:
        if shared:
            with contextlib.suppress(Exception):
                cache.delete(key)
        with _local_lock:
            _local_calls.discard(key)


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


def with_question_kinds(turns: tuple[TurnSignals, ...], transcript: Transcript) -> tuple[TurnSignals, ...]:
    """The judge says whether a turn asks; the kind of each question is read from its form."""
    return tuple(
        dataclasses.replace(
            item,
            questions=question_kinds_by_form([s.text for s in split_sentences(transcript.turns[item.turn].text)])
            or ("closed",),
        )
        if "question" in item.signals and 0 <= item.turn < len(transcript.turns)
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
        turns=with_question_kinds(flag_turns(verdict.turns, flagged), transcript),
        focus=focus,
        overall=weighted_overall(behaviors, weights),
        delivery=delivery_of(transcript),
    )
