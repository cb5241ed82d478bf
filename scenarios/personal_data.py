"""The scenarios' personal data for erasure: a person's copies of assignments, and their name on
the scenarios, versions and assignments they wrote, which stay with the tenant (registered in
coachhub.tenancy.retention.registry)."""

from __future__ import annotations

from coachhub.tenancy.models import Membership, Tenant
from coachhub.tenancy.retention.registry import Erasure, register_personal_data

from .models import Assignment, AssignmentRecipient, Scenario, ScenarioVersion


def person_summary(*, tenant: Tenant, membership: Membership) -> dict[str, int]:
    return {"assignments": AssignmentRecipient.objects.for_tenant(tenant).filter(membership=membership).count()}


def person_erase(erasure: Erasure) -> None:
    erasure.delete("assignments", erasure.rows(AssignmentRecipient).filter(membership=erasure.member))


register_personal_data(
    "scenarios",
    tables=(AssignmentRecipient,),
    order=40,
    erase=person_erase,
    user_references=(
        (Scenario, "created_by"),
        (ScenarioVersion, "created_by"),
        (Assignment, "assigned_by"),
    ),
    summarize=person_summary,
)
