"""Periodic housekeeping of the tenancy core."""

import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from .celery_tasks import each_active_tenant, each_tenant, task
from .models import AuditEvent, Invitation, Tenant
from .retention.services import retention_apply

logger = logging.getLogger(__name__)


@task(name="tenancy.expire_invitations")
def expire_invitations() -> int:
    """Records each invitation that lapsed unused in its tenant's audit log, once."""
    now = timezone.now()
    recorded = 0
    for tenant in each_active_tenant():
        lapsed = Invitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__lte=now)
        already = set(AuditEvent.objects.filter(action="invitation.expired").values_list("target_id", flat=True))
        for invitation in lapsed:
            if str(invitation.pk) in already:
                continue
            AuditEvent.objects.create(
                tenant=tenant, action="invitation.expired", target_type="Invitation",
                target_id=str(invitation.pk), summary=f"Invitation to {invitation.email} expired unused",
            )
            recorded += 1
    logger.info("expire_invitations recorded=%s", recorded)
    return recorded


@task(name="tenancy.apply_retention")
def apply_retention(tenant_id: int | None = None) -> dict[str, int]:
    """Deletes each tenant's recordings and transcripts that are older than its retention allows
    (one tenant when `tenant_id` is given). Work commits in batches, so a run cut short by its time
    limit is simply continued by the next one; a second run finds nothing to do."""
    # Every tenant, active or not: a deactivated tenant's recordings age out too.
    tenants = Tenant.objects.all() if tenant_id is None else Tenant.objects.filter(id=tenant_id)
    totals: dict[str, int] = {}
    for tenant in each_tenant(tenants):
        try:
            run = retention_apply(tenant=tenant)
        except SoftTimeLimitExceeded:
            raise
        except Exception:  # one tenant's failure (storage down) must not keep the others' data
            logger.exception("apply_retention failed for tenant %s", tenant.pk)
            continue
        for key, value in run.as_dict().items():
            totals[key] = totals.get(key, 0) + value
    logger.info("apply_retention %s", totals)
    return totals
