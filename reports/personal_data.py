"""The reports' personal data for retention and erasure: a person's KPI values, their weekly
aggregates, the digests sent to them as a manager, and the help-desk agents mapped to them (those
go with the membership: its delete cascades, counted under "other"). Registered in
coachhub.tenancy.retention.registry. Retention keeps all of it: dashboards don't change when
transcripts age out."""

from __future__ import annotations

from coachhub.tenancy.models import Membership, Tenant
from coachhub.tenancy.retention.registry import Erasure, register_personal_data

from .dashboards.models import DigestDelivery, RepWeek
from .helpdesk.models import HelpdeskAgentMapping, HelpdeskConnection
from .models import KpiImport, KpiValue


def person_summary(*, tenant: Tenant, membership: Membership) -> dict[str, int]:
    return {
        "kpi_values": KpiValue.objects.for_tenant(tenant).filter(membership=membership).count(),
        "rep_weeks": RepWeek.objects.for_tenant(tenant).filter(membership=membership).count(),
    }


def person_erase(erasure: Erasure) -> None:
    member = erasure.member
    erasure.delete("kpi_values", erasure.rows(KpiValue).filter(membership=member))
    erasure.delete("rep_weeks", erasure.rows(RepWeek).filter(membership=member))
    erasure.delete("digests", erasure.rows(DigestDelivery).filter(manager=member))


register_personal_data(
    "reports",
    tables=(KpiValue, RepWeek, DigestDelivery, HelpdeskAgentMapping),
    order=30,
    erase=person_erase,
    user_references=((KpiImport, "uploaded_by"), (HelpdeskConnection, "connected_by")),
    summarize=person_summary,
)
