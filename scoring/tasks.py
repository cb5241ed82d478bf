"""Celery entry points of scoring: score one session, and sweep for sessions whose job never arrived."""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from coachhub.tenancy.celery_tasks import each_active_tenant, task, tenant_task, time_limits
from coachhub.tenancy.models import Tenant

from . import services

logger = logging.getLogger(__name__)

MAX_RETRIES = 5
SWEEP_MIN_AGE_S = 60


def _test_delay_s() -> float:
    """Worker fault tests slow jobs down with SCORING_TEST_DELAY_S so they can kill a worker mid-job."""
    try:
        return max(0.0, float(os.environ.get("SCORING_TEST_DELAY_S", "0") or 0))
    except ValueError:
        return 0.0


@tenant_task(
    bind=True,
    name="scoring.score_session",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    ignore_result=True,
)
def score_session(self, *, tenant: Tenant, session_id: int, engine_name: str | None = None) -> None:
    job_id = self.request.id or None
    try:
        services.session_score_run(
            tenant=tenant, session_id=session_id, engine_name=engine_name, job_id=job_id, slow_down_s=_test_delay_s(),
        )
    except (OperationalError, InterfaceError, services.TransientScoringError) as exc:
        if self.request.retries >= self.max_retries:
            logger.error("Giving up scoring session %s after %s retries: %s", session_id, self.max_retries, exc)
            services.session_score_fail(
                tenant=tenant, session_id=session_id,
                error=f"Scoring kept failing on a temporary error; try rescoring later. ({exc})",
            )
            return
        if self.request.is_eager:
            # No broker to come back through (the demo, inline tests): retry in place.
            logger.warning("Retrying scoring of session %s inline: %s", session_id, exc)
            # Same task id, so the retry can take back the claim this attempt still holds.
            self.apply(kwargs={"tenant_id": tenant.id, "session_id": session_id, "engine_name": engine_name},
                       retries=self.request.retries + 1, task_id=self.request.id)
            return
        # 2, 4, 8, 16, 32 seconds: long enough for a database failover or an LLM rate limit to pass.
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
    except SoftTimeLimitExceeded:
        soft_limit, _ = time_limits("scoring.score_session")
        logger.error("Scoring session %s ran past %s s.", session_id, soft_limit)
        services.session_score_fail(
            tenant=tenant, session_id=session_id,
            error=f"Scoring took longer than {soft_limit} seconds and was stopped.",
        )


@task(name="scoring.sweep_unscored", acks_late=True, ignore_result=True)
def sweep_unscored_sessions(*, older_than_s: int = SWEEP_MIN_AGE_S) -> int:
    """Enqueue scoring for ended sessions that have no result and no live job, tenant by tenant.

    Idempotent: enqueueing a session twice is harmless, the job's claim makes the second a no-op."""
    total = 0
    for tenant in each_active_tenant():
        total += services.sweep_enqueue(tenant=tenant, older_than=timedelta(seconds=older_than_s))
    if total:
        logger.info("Sweeper enqueued scoring of %s session(s).", total)
    return total
