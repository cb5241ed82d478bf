"""Celery entry points of the reports app: the background KPI import and its sweeper."""

from __future__ import annotations

import logging

from celery import shared_task

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Tenant

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="reports.import_kpis", time_limit=14 * 60, soft_time_limit=13 * 60, acks_late=True)
def import_kpis(*, tenant_id: int, import_id: int) -> str:
    """Validates and commits one KPI import; harmless when delivered twice (see kpi_import_run)."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        logger.info("import_kpis: tenant %s is gone or inactive", tenant_id)
        return "no_tenant"
    with tenant_context(tenant):
        kpi_import = services.kpi_import_run(tenant=tenant, import_id=import_id)
    return kpi_import.status if kpi_import is not None else "gone"


@shared_task(name="reports.sweep_kpi_imports", time_limit=120, soft_time_limit=100)
def sweep_kpi_imports() -> int:
    """Re-queues KPI imports whose job never arrived or whose worker died mid-run."""
    requeued = 0
    for tenant in Tenant.objects.filter(is_active=True):
        with tenant_context(tenant):
            requeued += services.kpi_imports_requeue_stuck(tenant=tenant)
    if requeued:
        logger.info("sweep_kpi_imports requeued=%s", requeued)
    return requeued
