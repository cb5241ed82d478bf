"""Celery entry points of the dashboards: refresh a rep's week, the hourly sweep, weekly digests."""

from __future__ import annotations

import logging
from datetime import date

from celery import shared_task

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Tenant

from . import aggregates, digest
from .weeks import last_full_week

logger = logging.getLogger(__name__)


def _tenant(tenant_id: int) -> Tenant | None:
    tenant = Tenant.objects.filter(id=tenant_id, is_active=True).first()
    if tenant is None:
        logger.info("Tenant %s is gone or inactive; nothing to do.", tenant_id)
    return tenant


@shared_task(name="reports.refresh_rep_week", time_limit=120, soft_time_limit=100, acks_late=True)
def refresh_rep_week(*, tenant_id: int, session_id: int) -> None:
    tenant = _tenant(tenant_id)
    if tenant is None:
        return
    with tenant_context(tenant):
        aggregates.rep_week_refresh_for_session(tenant=tenant, session_id=session_id)


@shared_task(name="reports.sweep_rep_weeks", time_limit=30 * 60, soft_time_limit=28 * 60)
def sweep_rep_weeks() -> int:
    """Hourly: rebuild the current and previous week of every tenant (lost refresh jobs, late imports)."""
    total = 0
    for tenant in Tenant.objects.filter(is_active=True).order_by("id"):
        with tenant_context(tenant):
            total += aggregates.rep_weeks_sweep(tenant=tenant)
    return total


@shared_task(name="reports.send_weekly_digests", time_limit=30 * 60, soft_time_limit=28 * 60)
def send_weekly_digests(*, week_start: str | None = None) -> int:
    """Monday morning: each manager's digest of the last full week. Safe to run again."""
    week = date.fromisoformat(week_start) if week_start else last_full_week()
    total = 0
    for tenant in Tenant.objects.filter(is_active=True).order_by("id"):
        total += digest.digests_send_for_tenant(tenant=tenant, week_start=week)
    return total
