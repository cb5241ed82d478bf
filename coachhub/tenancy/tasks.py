"""Periodic housekeeping of the tenancy core."""

import logging

from celery import shared_task
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
