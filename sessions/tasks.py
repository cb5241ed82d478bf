"""Celery entry points of the role-play runner: the realism check a lead starts from the scenario page."""

from __future__ import annotations

import logging

from celery.exceptions import SoftTimeLimitExceeded

from coachhub.tenancy.celery_tasks import tenant_task, time_limits
from coachhub.tenancy.models import Tenant
from sessions.services.realism import scenario_realism_check_fail, scenario_realism_check_run

logger = logging.getLogger(__name__)

CHECK_TASK = "sessions.check_scenario_realism"


@tenant_task(name=CHECK_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def check_scenario_realism(*, tenant: Tenant, version_id: int, requested_at: str) -> None:
    """Runs the check and stores its report; harmless twice (the second run finds it stored)."""
    try:
        scenario_realism_check_run(tenant=tenant, version_id=version_id, requested_at=requested_at)
    except SoftTimeLimitExceeded:
        soft_limit, _ = time_limits(CHECK_TASK)
        logger.error("Realism check of version %s ran past %s s.", version_id, soft_limit)
        scenario_realism_check_fail(
            tenant=tenant, version_id=version_id, requested_at=requested_at,
            error=f"The check took longer than {soft_limit} seconds and was stopped. Try again, or use a faster model.",
        )
