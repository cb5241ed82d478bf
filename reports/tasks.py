"""Celery entry points of the reports app: the background KPI import and its sweeper."""

from __future__ import annotations

import logging

from coachhub.tenancy.celery_tasks import each_active_tenant, task, tenant_task
from coachhub.tenancy.models import Tenant

from . import services

logger = logging.getLogger(__name__)


@tenant_task(name="reports.import_kpis", acks_late=True, if_tenant_gone="no_tenant")
def import_kpis(*, tenant: Tenant, import_id: int) -> str:
    """Validates and commits one KPI import; harmless when delivered twice (see kpi_import_run)."""
    kpi_import = services.kpi_import_run(tenant=tenant, import_id=import_id)
    return kpi_import.status if kpi_import is not None else "gone"


@task(name="reports.sweep_kpi_imports")
def sweep_kpi_imports() -> int:
    """Re-queues KPI imports whose job never arrived or whose worker died mid-run."""
    requeued = 0
    for tenant in each_active_tenant():
        requeued += services.kpi_imports_requeue_stuck(tenant=tenant)
    if requeued:
        logger.info("sweep_kpi_imports requeued=%s", requeued)
    return requeued
