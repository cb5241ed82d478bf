"""Celery entry points of programs: deliver a tenant's pending xAPI statements and LTI grades, and
sweep for statements and grades whose delivery job never arrived or gave up."""

from __future__ import annotations

import logging

from coachhub.tenancy.celery_tasks import each_active_tenant, task, tenant_task
from coachhub.tenancy.models import Tenant

from . import lti, statements

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


GRADE_MAX_RETRIES = 10
GRADE_SWEEP_AFTER_S = 120  # a grade pending this long has lost its job (or its retries ran out)


@tenant_task(bind=True, name="programs.send_grade", acks_late=True, reject_on_worker_lost=True,
             max_retries=GRADE_MAX_RETRIES, ignore_result=True)
def send_grade(self, *, tenant: Tenant, session_id: int) -> None:
    """The session's latest counting score to the LMS gradebook; retried with backoff while the LMS
    is down. Running twice is harmless: the second run finds the gradebook already has it."""
    try:
        lti.grade_send(tenant=tenant, session_id=session_id)
    except lti.PlatformUnavailable as exc:
        logger.warning("LMS of tenant %s unavailable for the grade of session %s (%s).", tenant.id, session_id, exc)
        if self.request.is_eager or self.request.retries >= self.max_retries:
            return  # inline there is no later; the sweeper sends it once the LMS is back
        raise self.retry(countdown=backoff_s(self.request.retries)) from exc


@task(name="programs.sweep_grades", ignore_result=True)
def sweep_grades() -> int:
    """Starts a send for every grade still waiting after its job should have delivered it."""
    started = 0
    for tenant in each_active_tenant():
        for session_id in lti.grades_pending(tenant=tenant, older_than_s=GRADE_SWEEP_AFTER_S):
            send_grade.delay(tenant_id=tenant.id, session_id=session_id)
            started += 1
    return started
