"""The demo seeds an onboarding program for the demo team, once, with readiness from its history."""

import pytest

from coachhub.tenancy.demo import seed_demo
from coachhub.tenancy.models import Membership
from programs import selectors
from programs.demo import DEMO_PROGRAM
from programs.models import Program, ProgramEnrollment

pytestmark = pytest.mark.django_db


def test_the_demo_program_is_seeded_once_and_shows_readiness(client_for):
    tenant = seed_demo()
    seed_demo()
    programs = Program.objects.for_tenant(tenant).filter(title=DEMO_PROGRAM)
    assert programs.count() == 1
    rep = Membership.objects.for_tenant(tenant).get(user__email="rep@demo.example")
    enrollment = ProgramEnrollment.objects.for_tenant(tenant).select_related("program").get(membership=rep)
    state = selectors.readiness_for(tenant=tenant, enrollments=[enrollment])[enrollment.id]
    assert len(state.steps) == 2
    manager = Membership.objects.for_tenant(tenant).get(user__email="manager@demo.example")
    page = client_for(manager).get("/t/demo/programs/readiness/")
    assert page.status_code == 200 and rep.user.display_name.encode() in page.content
