"""Scoring jobs: enqueueing and running them.

A scoring job is idempotent at the database level: the run's unique key (tenant, session, engine,
scorer version, rubric version) means one row per run, a short `select_for_update` transaction
claims it, the engine runs outside any transaction, and a second short transaction writes the
result only while the claim is still ours. A job that runs twice, concurrently or after a worker
died, leaves exactly one result.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from coachhub.core.llm import (
    LLMBadResponse,
    LLMError,
    LLMProviderError,
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
)
from coachhub.tenancy.budget import BudgetExceeded, CallBudget, metered
from coachhub.tenancy.celery_tasks import time_limits
from coachhub.tenancy.models import AISettings, Tenant
from coachhub.tenancy.selectors import tenant_llm_config
from scoring.engines import BehaviorScorer, EngineUnavailable, scoring_engines
from scoring.transcript import DEFAULT_RUBRIC, RubricItem, Scenario, Transcript, Turn
from sessions.events import announce_on_commit
from sessions.models import PracticeSession, SessionStatus
from sessions.models import Turn as SessionTurn

from ..models import BehaviorScore, ScoreStatus, SessionScore

logger = logging.getLogger(__name__)

# The scoring task's limits (settings.CELERY_TASK_TIME_LIMITS); a claim older than the hard limit
# (plus a margin) belongs to a job that can no longer be running, so another job may take it over.
SCORE_SOFT_TIME_LIMIT_S, SCORE_TIME_LIMIT_S = time_limits("scoring.score_session")
STALE_CLAIM_AFTER = timedelta(seconds=SCORE_TIME_LIMIT_S + 60)
UNAVAILABLE_VERSION = "unavailable"


class TransientScoringError(Exception):
    """Marker for failures worth retrying (the database or the LLM endpoint blinked)."""


# What a temporary LLM failure was, in words for the score page when the job finally gives up.
# (The LLM errors' own messages ask whoever called to try again; a score page needs the reason.)
TRANSIENT_LLM_REASONS: dict[type[LLMError], str] = {
    LLMTimeout: "the AI judge took too long to answer",
    LLMRateLimited: "the AI service was rate limiting requests",
    LLMProviderError: "the AI service had a problem on its side",
    LLMUnavailable: "the AI service could not be reached",
}


def _transient_reason(error: LLMError) -> str:
    for kind, reason in TRANSIENT_LLM_REASONS.items():
        if isinstance(error, kind):
            return reason
    return "the AI service failed temporarily"


# --- enqueueing ---------------------------------------------------------------------------------


def on_session_ended(*, tenant: Tenant, session_id: int) -> None:
    """Listener of the runner's `ended` event (after its commit): queue the session's scoring job."""
    _publish_score_job(tenant_id=tenant.id, session_id=session_id)


def session_score_enqueue(*, tenant: Tenant, session: PracticeSession) -> None:
    """Queue scoring of an ended session once the surrounding transaction commits.

    Called by `session_end` inside its transaction. If the broker is down the error is logged, the
    session ends anyway, and the periodic sweeper enqueues the job once the broker is back."""
    tenant_id, session_id = tenant.id, session.id
    transaction.on_commit(lambda: _publish_score_job(tenant_id=tenant_id, session_id=session_id), robust=True)


# Publishing must not hold a request hostage while the broker is down: a couple of quick tries, then
# the sweeper's turn.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def _publish_score_job(*, tenant_id: int, session_id: int, engine_name: str | None = None) -> bool:
    from ..tasks import score_session  # the task module imports this one

    kwargs: dict[str, Any] = {"tenant_id": tenant_id, "session_id": session_id}
    if engine_name:
        kwargs["engine_name"] = engine_name
    try:
        score_session.apply_async(kwargs=kwargs, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except Exception:  # the broker's errors vary by transport; none may break ending a session
        logger.exception("Could not enqueue scoring of session %s (tenant %s); the sweeper will retry.",
                         session_id, tenant_id)
        return False
    return True


# --- running a scoring job ----------------------------------------------------------------------


def _engine_for(tenant: Tenant, engine_name: str | None) -> str:
    if engine_name:
        return engine_name
    settings_row = AISettings.objects.for_tenant(tenant).first()
    return settings_row.scorer_engine if settings_row else "embedded"


def _delivery_number(delivery: dict, *names: str, integer: bool) -> Any:
    for name in names:
        value = delivery.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            continue
        return int(value) if integer else float(value)
    return None


def transcript_for_session(*, session: PracticeSession, turns: list[SessionTurn]) -> Transcript:
    """The engine-neutral transcript: the pinned version's spec plus the session's turns in order."""
    spec = session.version.as_spec()
    rubric_items = tuple(
        RubricItem(key=item.key, weight=float(item.weight), description=item.description)
        for item in spec.rubric.behaviors
    )
    scenario = Scenario(
        title=spec.title, moment=spec.moment, policies=spec.policies, rubric=rubric_items or DEFAULT_RUBRIC,
    )
    transcript_turns = []
    for turn in turns:
        delivery = turn.delivery if isinstance(turn.delivery, dict) else {}
        transcript_turns.append(
            Turn(
                speaker="rep" if turn.speaker == "rep" else "customer",
                text=turn.text,
                latency_ms=turn.latency_ms,
                words_per_minute=_delivery_number(delivery, "words_per_minute", "wpm", integer=False),
                pauses=_delivery_number(delivery, "pauses", "long_pauses", integer=True),
                fillers=_delivery_number(delivery, "fillers", "filler_words", integer=True),
            )
        )
    return Transcript(scenario=scenario, turns=tuple(transcript_turns))


def _renumber(result: dict, turn_numbers: list[int]) -> dict:
    """Engines count turns by position in the transcript; the page anchors turns by `Turn.index`."""

    def number(position: Any) -> Any:
        if isinstance(position, int) and 0 <= position < len(turn_numbers):
            return turn_numbers[position]
        return position

    for behavior in result.get("behaviors", {}).values():
        for item in behavior.get("evidence", []):
            item["turn"] = number(item.get("turn"))
    for verdict in result.get("policies", []):
        verdict["turn"] = number(verdict.get("turn"))
    for signals in result.get("turns", []):
        signals["turn"] = number(signals.get("turn"))
    return result


def _claim(
    *, tenant: Tenant, session: PracticeSession, engine: str, version: str, job_id: str
) -> SessionScore | None:
    """Find or create the run's row and claim it; None when there is nothing to do."""
    key = {
        "session": session,
        "engine": engine,
        "scorer_version": version,
        "rubric_version": session.version.number,
    }
    rows = SessionScore.objects.for_tenant(tenant)
    try:
        with transaction.atomic():
            rows.get_or_create(tenant=tenant, **key, defaults={"membership_id": session.membership_id})
    except IntegrityError:
        pass  # a concurrent job created it first; the unique key makes a second row impossible
    now = timezone.now()
    with transaction.atomic():
        score = rows.select_for_update().get(**key)
        if score.status == ScoreStatus.DONE:
            return None
        if (
            score.status == ScoreStatus.RUNNING
            and score.claim_token != job_id
            and score.started_at is not None
            and score.started_at > now - STALE_CLAIM_AFTER
        ):
            return None  # another job is on it
        score.status = ScoreStatus.RUNNING
        score.claim_token = job_id
        score.started_at = now
        score.finished_at = None
        score.error = ""
        score.attempts += 1
        score.save(update_fields=["status", "claim_token", "started_at", "finished_at", "error", "attempts"])
    return score


def _record_failure(*, tenant: Tenant, score_id: int, job_id: str, error: str, status: str = ScoreStatus.FAILED
                    ) -> None:
    with transaction.atomic():
        score = SessionScore.objects.for_tenant(tenant).select_for_update().filter(id=score_id).first()
        if score is None or score.status != ScoreStatus.RUNNING or score.claim_token != job_id:
            return
        score.status = status
        score.error = error[:2000] if status == ScoreStatus.FAILED else ""
        score.claim_token = ""
        score.finished_at = timezone.now() if status == ScoreStatus.FAILED else None
        score.save(update_fields=["status", "error", "claim_token", "finished_at"])


def _load_session(tenant: Tenant, session_id: int) -> PracticeSession | None:
    return (
        PracticeSession.objects.for_tenant(tenant)
        .select_related("version", "scenario")
        .filter(id=session_id)
        .first()
    )


def session_score_run(
    *,
    tenant: Tenant,
    session_id: int,
    engine_name: str | None = None,
    job_id: str | None = None,
    slow_down_s: float = 0.0,
) -> SessionScore | None:
    """Score one ended session; a no-op when this run is already done or another job holds it.

    Returns the row this call finished (done or failed), or None when it did nothing. Raises
    `TransientScoringError` (after releasing its claim) for failures worth retrying: a timeout, rate
    limit, 5xx or unreachable endpoint. A judge whose answers stay invalid after its own retries is a
    recorded failure, not a retry.
    `slow_down_s` holds the claim before scoring: only the worker fault tests set it."""
    job_id = job_id or uuid.uuid4().hex
    session = _load_session(tenant, session_id)
    if session is None:
        logger.info("Session %s of tenant %s is gone; nothing to score.", session_id, tenant.id)
        return None
    if session.status != SessionStatus.ENDED:
        logger.info("Session %s is still in progress; it is scored when it ends.", session_id)
        return None
    name = _engine_for(tenant, engine_name)
    try:
        llm_config = tenant_llm_config(tenant=tenant) if scoring_engines.needs_llm(name) else None
        engine: BehaviorScorer = scoring_engines.create(name, llm_config=llm_config)
    except EngineUnavailable as exc:
        return _fail_unavailable(tenant=tenant, session=session, engine=name, job_id=job_id, reason=str(exc))

    score = _claim(tenant=tenant, session=session, engine=engine.name, version=engine.version, job_id=job_id)
    if score is None:
        return None
    if slow_down_s > 0:
        time.sleep(slow_down_s)
    turns = list(SessionTurn.objects.for_tenant(tenant).filter(session=session).order_by("index"))
    try:
        transcript = transcript_for_session(session=session, turns=turns)
        # An engine's up-front estimate is reserved here (an engine that reports no usage pays all of
        # it); an engine that makes several calls (the judge) meters each through the CallBudget.
        with metered(tenant=tenant, estimate=engine.token_estimate(transcript)) as meter:
            result = engine.score(transcript, budget=CallBudget(tenant=tenant))
            used = engine.tokens_used(result)
            if used is not None:
                meter.charge(used)
    except BudgetExceeded as exc:
        _record_failure(tenant=tenant, score_id=score.id, job_id=job_id, error=exc.message)
        return SessionScore.objects.for_tenant(tenant).get(id=score.id)
    except EngineUnavailable as exc:
        _record_failure(tenant=tenant, score_id=score.id, job_id=job_id,
                        error=f"The {name} scoring engine is unavailable: {exc}")
        return SessionScore.objects.for_tenant(tenant).get(id=score.id)
    except TransientScoringError:
        # Let the job's retry claim it again right away instead of waiting out a stale claim.
        _record_failure(tenant=tenant, score_id=score.id, job_id=job_id, error="", status=ScoreStatus.QUEUED)
        raise
    except LLMBadResponse as exc:
        # The judge already asked again (its own bounded retries) and every answer was unusable:
        # the model or prompt is the problem, not the moment, so re-queueing would only multiply
        # the calls. Final, with nothing of the invalid answer stored; `rescore` can try again.
        logger.warning("Scoring session %s: the %s judge's answers were unusable (%s).", session_id, name, exc.detail)
        _record_failure(tenant=tenant, score_id=score.id, job_id=job_id,
                        error=f"The {name} scoring engine failed: {exc.message}")
        return SessionScore.objects.for_tenant(tenant).get(id=score.id)
    except LLMError as exc:
        if exc.retryable:
            # Timeouts, rate limits, 5xx, an unreachable endpoint: the task retries with backoff.
            logger.warning("Scoring session %s: %s (%s); the job will retry.", session_id, exc.code, exc.detail)
            _record_failure(tenant=tenant, score_id=score.id, job_id=job_id, error="", status=ScoreStatus.QUEUED)
            raise TransientScoringError(_transient_reason(exc)) from exc
        # A rejected key or request: configuration, which no retry can fix.
        logger.warning("Scoring session %s: %s (%s).", session_id, exc.code, exc.detail)
        _record_failure(tenant=tenant, score_id=score.id, job_id=job_id,
                        error=f"The {name} scoring engine failed: {exc.message}")
        return SessionScore.objects.for_tenant(tenant).get(id=score.id)
    except Exception as exc:
        logger.exception("Scoring session %s with %s failed.", session_id, name)
        _record_failure(tenant=tenant, score_id=score.id, job_id=job_id,
                        error=f"The {name} scoring engine failed: {type(exc).__name__}: {exc}")
        return SessionScore.objects.for_tenant(tenant).get(id=score.id)
    return _write_result(tenant=tenant, score_id=score.id, job_id=job_id, result=result.to_dict(),
                         turn_numbers=[turn.index for turn in turns], weights=_weights(session))


def _weights(session: PracticeSession) -> dict[str, float]:
    return {item.key: float(item.weight) for item in session.version.as_spec().rubric.behaviors}


def _fail_unavailable(*, tenant: Tenant, session: PracticeSession, engine: str, job_id: str, reason: str
                      ) -> SessionScore | None:
    """Record that the engine can't run here. A failed row is final for the sweeper, so a missing
    engine shows up as a clear error on the page instead of a job retried forever."""
    score = _claim(tenant=tenant, session=session, engine=engine, version=UNAVAILABLE_VERSION, job_id=job_id)
    if score is None:
        return None
    message = f"The {engine} scoring engine is unavailable: {reason}"
    logger.warning("Scoring session %s: %s", session.id, message)
    _record_failure(tenant=tenant, score_id=score.id, job_id=job_id, error=message)
    return SessionScore.objects.for_tenant(tenant).get(id=score.id)


@transaction.atomic
def _write_result(
    *, tenant: Tenant, score_id: int, job_id: str, result: dict, turn_numbers: list[int], weights: dict[str, float]
) -> SessionScore | None:
    rows = SessionScore.objects.for_tenant(tenant)
    score = rows.select_for_update().filter(id=score_id).first()
    if score is None or score.status != ScoreStatus.RUNNING or score.claim_token != job_id:
        return None  # the claim went to another job (ours was presumed dead); its result stands
    result = _renumber(result, turn_numbers)
    BehaviorScore.objects.for_tenant(tenant).filter(session_score=score).delete()
    BehaviorScore.objects.for_tenant(tenant).bulk_create(
        BehaviorScore(
            tenant=tenant,
            session_score=score,
            behavior=key,
            weight=weights.get(key, 1.0),
            ai_score=behavior.get("score"),
            rationale=behavior.get("rationale", ""),
            confidence=float(behavior.get("confidence") or 0.0),
            evidence=behavior.get("evidence", []),
        )
        for key, behavior in result.get("behaviors", {}).items()
    )
    focus = result.get("focus") or {}
    # The newest finished run becomes what people see; older runs stay as history.
    rows.filter(session_id=score.session_id, is_current=True).exclude(id=score.id).update(is_current=False)
    score.status = ScoreStatus.DONE
    score.is_current = True
    score.overall = result.get("overall")
    score.result = result
    score.focus_behavior = focus.get("behavior", "")
    score.focus_tip = focus.get("tip", "")
    score.focus_example = focus.get("example", "")
    score.delivery = result.get("delivery")
    score.claim_token = ""
    score.finished_at = timezone.now()
    score.save()
    _announce_scored(tenant=tenant, session_id=score.session_id)
    return score


def _announce_scored(*, tenant: Tenant, session_id: int) -> None:
    """Weekly dashboards, learning records and grade passback follow scores and adjustments: their
    listeners run after commit."""
    announce_on_commit("scored", tenant=tenant, session_id=session_id)


def session_score_fail(*, tenant: Tenant, session_id: int, error: str) -> None:
    """A job gave up after its retries: mark its unfinished runs failed with the reason."""
    with transaction.atomic():
        rows = SessionScore.objects.for_tenant(tenant).select_for_update().filter(
            session_id=session_id, status__in=[ScoreStatus.QUEUED, ScoreStatus.RUNNING]
        )
        for score in rows:
            score.status = ScoreStatus.FAILED
            score.error = error[:2000]
            score.claim_token = ""
            score.finished_at = timezone.now()
            score.save(update_fields=["status", "error", "claim_token", "finished_at"])


# --- the sweeper and rescoring ------------------------------------------------------------------


def sessions_needing_score(*, tenant: Tenant, older_than: timedelta, limit: int = 500) -> list[int]:
    """Ended, non-trial sessions whose scoring job never arrived (no run at all), or whose run sits
    queued or claimed past the time limit (its worker died and the message is gone). Failed runs
    are final here: a broken engine should not be retried forever; `rescore` retries them."""
    now = timezone.now()
    cutoff = now - older_than
    scores = SessionScore.objects.for_tenant(tenant)
    unscored = (
        PracticeSession.objects.for_tenant(tenant)
        .filter(status=SessionStatus.ENDED, is_trial=False, ended_at__lte=cutoff)
        .exclude(id__in=scores.values("session_id"))
        .order_by("ended_at")
        .values_list("id", flat=True)[:limit]
    )
    stuck = (
        scores.filter(session__is_trial=False)
        .filter(
            # Queued rows are released claims whose retry never came, or runs nobody picked up.
            Q(status=ScoreStatus.QUEUED, created_at__lte=cutoff)
            | Q(status=ScoreStatus.RUNNING, started_at__lte=now - STALE_CLAIM_AFTER)
        )
        .exclude(session_id__in=scores.filter(status=ScoreStatus.DONE).values("session_id"))
        .values_list("session_id", flat=True)[:limit]
    )
    return sorted({*unscored, *stuck})


def sweep_enqueue(*, tenant: Tenant, older_than: timedelta) -> int:
    count = 0
    for session_id in sessions_needing_score(tenant=tenant, older_than=older_than):
        count += 1 if _publish_score_job(tenant_id=tenant.id, session_id=session_id) else 0
    return count


def rescore_enqueue(*, tenant: Tenant, engine_name: str | None = None, since=None) -> int:
    """Queue background rescoring of a tenant's ended sessions. A run with a newer scorer (or another
    engine) gets its own row and becomes current when done; the same scorer again is a no-op, except
    for failed runs, which it retries."""
    sessions = PracticeSession.objects.for_tenant(tenant).filter(status=SessionStatus.ENDED)
    if since is not None:
        sessions = sessions.filter(ended_at__gte=since)
    count = 0
    for session_id in sessions.order_by("ended_at").values_list("id", flat=True).iterator():
        count += 1 if _publish_score_job(tenant_id=tenant.id, session_id=session_id, engine_name=engine_name) else 0
    return count
