"""Writes of the dashboards: a tenant's report settings. (Aggregates live in `aggregates`, digests in
`digest`.)"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from coachhub.core.errors import ApplicationError
from coachhub.tenancy.models import Tenant, User
from coachhub.tenancy.services import audit_record

from .models import TenantReportSettings


def _whole_number(raw, *, field: str, low: int, high: int, message: str) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        value = None
    if value is None or not low <= value <= high:
        raise ApplicationError(message, code="invalid", fields={field: message})
    return value


@transaction.atomic
def report_settings_save(*, tenant: Tenant, actor: User, confidence_threshold, confidence_sessions
                         ) -> TenantReportSettings:
    """Tenant admins define "confident": a score of at least the threshold in N sessions in a row."""
    threshold = _whole_number(confidence_threshold, field="confidence_threshold", low=1, high=100,
                              message="The confidence threshold is a score from 1 to 100.")
    sessions = _whole_number(confidence_sessions, field="confidence_sessions", low=1, high=20,
                             message="The number of sessions in a row is a whole number from 1 to 20.")
    rows = TenantReportSettings.objects.for_tenant(tenant)
    row, _ = rows.select_for_update().get_or_create(tenant=tenant)
    before = (row.confidence_threshold, row.confidence_sessions)
    row.confidence_threshold, row.confidence_sessions, row.updated_at = threshold, sessions, timezone.now()
    row.save()
    audit_record(
        tenant=tenant, actor=actor, action="reports.settings_changed",
        summary=f"Time to confidence: {threshold}+ over {sessions} sessions in a row",
        target=row, data={"before": list(before), "after": [threshold, sessions]},
    )
    return row
