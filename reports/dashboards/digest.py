"""The weekly email digest: each manager's scorecard summary of the last full week, HTML and text.

Exactly once per manager per week: a `DigestDelivery` row (unique per tenant, manager and week) is
claimed before sending, so a re-run or a duplicate job skips; if sending fails the claim is removed
and the next run tries again.
"""

from __future__ import annotations

import logging
from datetime import date

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Membership, Role, Tenant

from .home import scorecard_summary
from .models import DigestDelivery

logger = logging.getLogger(__name__)


def _url(name: str, tenant: Tenant, query: str = "") -> str:
    try:
        path = reverse(name, kwargs={"tenant_slug": tenant.slug})
    except NoReverseMatch:
        return settings.SITE_URL
    return f"{settings.SITE_URL.rstrip('/')}{path}{query}"


def digest_send(*, tenant: Tenant, manager: Membership, week_start: date) -> bool:
    """Send one manager's digest for one week; False when it was already sent (or is being sent)."""
    manager.tenant = tenant
    deliveries = DigestDelivery.objects.for_tenant(tenant)
    try:
        with transaction.atomic():
            claim = deliveries.create(tenant=tenant, manager=manager, week_start=week_start, email=manager.user.email)
    except IntegrityError:
        return False
    try:
        summary = scorecard_summary(viewer=manager, week=week_start)
        context = {
            **summary, "manager": manager, "tenant": tenant, "week": week_start,
            "scorecard_url": _url("scorecard", tenant, f"?week={week_start.isoformat()}"),
        }
        message = EmailMultiAlternatives(
            subject=f"Your team's week of {week_start:%b %-d}: {summary['practiced']} of {summary['reps']} reps practiced",
            body=render_to_string("reports/dashboards/email/digest.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[manager.user.email],
        )
        message.attach_alternative(render_to_string("reports/dashboards/email/digest.html", context), "text/html")
        message.send()
    except Exception:
        deliveries.filter(id=claim.id).delete()
        raise
    deliveries.filter(id=claim.id).update(sent_at=timezone.now())
    return True


def digests_send_for_tenant(*, tenant: Tenant, week_start: date) -> int:
    """Every active manager of the tenant who coaches a team gets their digest (once)."""
    sent = 0
    with tenant_context(tenant):
        managers = (
            Membership.objects.for_tenant(tenant)
            .filter(role=Role.MANAGER, is_active=True, user__is_active=True, team_links__kind="coach")
            .select_related("user")
            .distinct()
        )
        for manager in managers:
            try:
                sent += 1 if digest_send(tenant=tenant, manager=manager, week_start=week_start) else 0
            except Exception:  # one bad address must not stop the rest; the next run retries it
                logger.exception("Weekly digest to manager %s of tenant %s failed.", manager.id, tenant.id)
    return sent
