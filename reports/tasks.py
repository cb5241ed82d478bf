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


@tenant_task(name="reports.pull_helpdesk", acks_late=True, if_tenant_gone="no_tenant")
def pull_helpdesk(*, tenant: Tenant, connection_id: int, manual: bool = False) -> str:
    """One help-desk API sync; harmless when delivered twice (see helpdesk_sync_run)."""
    from .helpdesk.pulls.services import helpdesk_sync_run

    connection = helpdesk_sync_run(tenant=tenant, connection_id=connection_id, manual=manual)
    return connection.status if connection is not None else "gone"


@task(name="reports.pull_helpdesks")
def pull_helpdesks() -> int:
    """Nightly: queues a sync of every connected help desk that hasn't stopped (a stopped one waits
    for its admin)."""
    from .helpdesk.pulls.selectors import helpdesk_connections_due

    queued = 0
    for tenant in each_active_tenant():
        for connection_id in helpdesk_connections_due(tenant=tenant):
            pull_helpdesk.delay(tenant_id=tenant.pk, connection_id=connection_id)
            queued += 1
    if queued:
        logger.info("pull_helpdesks queued=%s", queued)
    return queued
