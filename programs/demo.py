"""Demo content: an onboarding program of two starter scenarios for the demo team, enrolled a month
back so the demo's practice history shows up as readiness. Idempotent."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from coachhub.tenancy.demo import DEMO_TEAM
from coachhub.tenancy.models import Membership, Role, Team, Tenant
from scenarios.models import Scenario

from . import services
from .models import Program, ProgramEnrollment

DEMO_PROGRAM = "New-hire onboarding"
DEMO_STEPS = [("refund-after-return-window", 60, {"empathy": 50}), ("double-charged-annual-plan", 60, {})]


def seed_programs(tenant: Tenant) -> None:
    if Program.objects.for_tenant(tenant).filter(title=DEMO_PROGRAM).exists():
        return
    lead = Membership.objects.for_tenant(tenant).filter(role=Role.ENABLEMENT_LEAD).select_related("user").first()
    team = Team.objects.for_tenant(tenant).filter(name=DEMO_TEAM).first()
    scenarios = {s.source_library_slug: s for s in Scenario.objects.for_tenant(tenant).filter(
        source_library_slug__in=[slug for slug, _, _ in DEMO_STEPS])}
    if lead is None or team is None or len(scenarios) < len(DEMO_STEPS):
        return
    program = services.program_create(
        tenant=tenant, actor=lead, title=DEMO_PROGRAM, due_on=timezone.localdate() + timedelta(days=14),
        description="Pass both before taking live chats: a refund you must refuse, and an angry double charge.",
    )
    for slug, pass_mark, minimums in DEMO_STEPS:
        services.program_step_add(tenant=tenant, actor=lead, program=program, scenario=scenarios[slug],
                                  pass_overall=pass_mark, behavior_minimums=minimums)
    services.program_assign(tenant=tenant, actor=lead, program=program, teams=[team])
    ProgramEnrollment.objects.for_tenant(tenant).filter(program=program).update(
        assigned_at=timezone.now() - timedelta(days=30)
    )
