"""Celery entry points of programs: deliver a tenant's pending xAPI statements, and sweep for
statements whose delivery job never arrived or gave up."""

from __future__ import annotations

import logging

from celery import shared_task

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Tenant

from . import statements

logger = logging.getLogger(__name__)

MAX_RETRIES = 8


def backoff_s(retries: int) -> int:
    return min(5 * 2**retries, 600)


@shared_task(bind=True, name="programs.deliver_statements", acks_late=True, reject_on_worker_lost=True,
             max_retries=MAX_RETRIES, soft_time_limit=5 * 60, time_limit=6 * 60, ignore_result=True)
def deliver_statements(self, *, tenant_id: int) -> None:
    tenant = Tenant.objects.filter(id=tenant_id, is_active=True).first()
    if tenant is None:
        logger.info("Tenant %s is gone or inactive; not delivering its statements.", tenant_id)
        return
    with tenant_context(tenant):
        outcome = statements.statements_deliver(tenant=tenant)
    if outcome.error and outcome.pending:
        logger.warning("LRS of tenant %s unavailable (%s); %s statement(s) wait.", tenant_id, outcome.error,
                       outcome.pending)
        if self.request.is_eager or self.request.retries >= self.max_retries:
            return  # inline there is no later; the sweeper sends them once the LRS is back
        raise self.retry(countdown=backoff_s(self.request.retries))
    if outcome.pending:  # more than one batch waits: go on in a fresh job
        deliver_statements.delay(tenant_id=tenant_id)


@shared_task(name="programs.sweep_statements", ignore_result=True, soft_time_limit=60, time_limit=90)
def sweep_statements() -> int:
    tenants = statements.tenants_with_pending_statements()
    for tenant in tenants:
        deliver_statements.delay(tenant_id=tenant.id)
    return len(tenants)
