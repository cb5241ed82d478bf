"""Demo content: the whole starter library, published, and one assignment for the demo team, so
rep@demo.example has practice waiting on first login. Idempotent."""

from __future__ import annotations

from coachhub.tenancy.demo import DEMO_TEAM
from coachhub.tenancy.models import Membership, Role, Team, Tenant

from . import services
from .models import Assignment, AssignmentTeam, Scenario

DEMO_ASSIGNED_SLUG = "refund-after-return-window"


def seed_scenarios(tenant: Tenant) -> None:
    lead = (
        Membership.objects.for_tenant(tenant)
        .filter(role__in=[Role.ENABLEMENT_LEAD, Role.TENANT_ADMIN])
        .select_related("user")
        .order_by("role")
        .first()
    )
    actor = lead.user if lead else None
    services.library_install_all(tenant=tenant, actor=actor)
    team = Team.objects.for_tenant(tenant).filter(name=DEMO_TEAM).first()
    scenario = Scenario.objects.for_tenant(tenant).filter(source_library_slug=DEMO_ASSIGNED_SLUG).first()
    if team is None or scenario is None or lead is None:
        return
    already = AssignmentTeam.objects.for_tenant(tenant).filter(team=team, assignment__scenario=scenario)
    if already.exists() or Assignment.objects.for_tenant(tenant).filter(scenario=scenario).exists():
        return
    services.assignment_create(
        tenant=tenant, assigned_by=lead, scenario=scenario, teams=[team], focus_behavior="empathy",
        note="Warm-up: a customer who missed the return window by a few days.",
    )
