"""Periodic housekeeping of the tenancy core."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from .context import tenant_context
from .models import AuditEvent, Invitation, Tenant

logger = logging.getLogger(__name__)


@shared_task(name="tenancy.expire_invitations", time_limit=120, soft_time_limit=100)
def expire_invitations() -> int:
    """Records each invitation that lapsed unused in its tenant's audit log, once."""
    now = timezone.now()
    recorded = 0
    for tenant in Tenant.objects.filter(is_active=True):
        with tenant_context(tenant):
            lapsed = Invitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__lte=now)
            already = set(
                AuditEvent.objects.filter(action="invitation.expired").values_list("target_id", flat=True)
            )
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


@shared_task(name="tenancy.apply_retention", time_limit=15 * 60, soft_time_limit=14 * 60)
def apply_retention(tenant_id: int | None = None) -> dict[str, int]:
    """Deletes each tenant's recordings and transcripts that are older than its retention allows
    (one tenant when `tenant_id` is given). Work commits in batches, so a run cut short by its time
    limit is simply continued by the next one; a second run finds nothing to do."""
    from .retention.services import retention_apply

    tenants = Tenant.objects.order_by("id")
    if tenant_id is not None:
        tenants = tenants.filter(id=tenant_id)
    totals: dict[str, int] = {}
    # Every tenant, active or not: a deactivated tenant's recordings age out too.
    for tenant in tenants:
        with tenant_context(tenant):
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
