"""Celery entry points of programs: deliver a tenant's pending xAPI statements, and sweep for
statements whose delivery job never arrived or gave up."""

from __future__ import annotations

import logging

from coachhub.tenancy.celery_tasks import task, tenant_task
from coachhub.tenancy.models import Tenant

from . import statements

logger = logging.getLogger(__name__)

MAX_RETRIES = 8


def backoff_s(retries: int) -> int:
    return min(5 * 2**retries, 600)


@tenant_task(bind=True, name="programs.deliver_statements", acks_late=True, reject_on_worker_lost=True,
             max_retries=MAX_RETRIES, ignore_result=True)
def deliver_statements(self, *, tenant: Tenant) -> None:
    outcome = statements.statements_deliver(tenant=tenant)
    if outcome.error and outcome.pending:
        logger.warning("LRS of tenant %s unavailable (%s); %s statement(s) wait.", tenant.id, outcome.error,
                       outcome.pending)
        if self.request.is_eager or self.request.retries >= self.max_retries:
            return  # inline there is no later; the sweeper sends them once the LRS is back
        raise self.retry(countdown=backoff_s(self.request.retries))
    if outcome.pending:  # more than one batch waits: go on in a fresh job
        deliver_statements.delay(tenant_id=tenant.id)


@task(name="programs.sweep_statements", ignore_result=True)
def sweep_statements() -> int:
    """Starts a delivery job for each tenant with statements still waiting (its own job enters the tenant)."""
    tenants = statements.tenants_with_pending_statements()
    for tenant in tenants:
        deliver_statements.delay(tenant_id=tenant.id)
    return len(tenants)
