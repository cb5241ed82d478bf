"""Celery entry points of the dashboards: refresh a rep's week, the hourly sweep, weekly digests."""

from __future__ import annotations

import logging
from datetime import date

from coachhub.tenancy.celery_tasks import each_active_tenant, task, tenant_task
from coachhub.tenancy.models import Tenant

from . import aggregates, digest
from .weeks import last_full_week

logger = logging.getLogger(__name__)


@tenant_task(name="reports.refresh_rep_week", acks_late=True)
def refresh_rep_week(*, tenant: Tenant, session_id: int) -> None:
    aggregates.rep_week_refresh_for_session(tenant=tenant, session_id=session_id)


@task(name="reports.sweep_rep_weeks")
def sweep_rep_weeks() -> int:
    """Hourly: rebuild the current and previous week of every tenant (lost refresh jobs, late imports)."""
    total = 0
    for tenant in each_active_tenant():
        total += aggregates.rep_weeks_sweep(tenant=tenant)
    return total


@task(name="reports.send_weekly_digests")
def send_weekly_digests(*, week_start: str | None = None) -> int:
    """Monday morning: each manager's digest of the last full week. Safe to run again."""
    week = date.fromisoformat(week_start) if week_start else last_full_week()
    total = 0
    for tenant in each_active_tenant():
        total += digest.digests_send_for_tenant(tenant=tenant, week_start=week)
    return total
