"""LTI 1.3 against a real platform implementation (`lti1p3platform` on loopback), in Chromium: a course
designer deep-links a scenario into the course; a new rep launches it from the LMS and lands in the
scenario as a provisioned member of the tenant; the score reaches the LMS gradebook as FullyGraded,
and again after a reviewer's adjustment."""

import pytest
from playwright.sync_api import expect

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Membership, Role
from programs import lti, services
from programs.models import LTIGradeLink
from scoring.models import BehaviorScore
from scoring.services import score_adjust, session_score_run
from sessions.models import PracticeSession, Turn
from tests.conftest import build_world
from tests.programs.helpers import two_scenarios
from tests.scoring.factories import SUPPORTIVE_LINES, add_turns
from tests.support.lti_platform import INSTRUCTOR, LEARNER, LoopbackPlatform

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def platform(live_server):
    lms = LoopbackPlatform(tool_base=live_server.url, tenant_slug="acme").start()
    yield lms
    lms.stop()


def _end_and_score(world, session_id):
    """The rep's practice, scripted: the scripted conversation replaces the opening line."""
    session = PracticeSession.objects.for_tenant(world.tenant).get(id=session_id)
    Turn.objects.for_tenant(world.tenant).filter(session=session).delete()
    add_turns(session, SUPPORTIVE_LINES)
    PracticeSession.objects.for_tenant(world.tenant).filter(id=session_id).update(
        status="ended", end_reason="resolved", ended_at=session.started_at)
    with tenant_context(world.tenant):
        return session_score_run(tenant=world.tenant, session_id=session_id)


def test_deep_link_launch_and_grade_passback_with_a_real_platform(page, platform):
    world = build_world("Acme Support", "acme")
    build_world("Bolt Care", "bolt")
    first, _ = two_scenarios(world.tenant)
    admin, lead = world.member(Role.TENANT_ADMIN), world.member(Role.ENABLEMENT_LEAD)
    lti.platform_register(tenant=world.tenant, actor=admin, **platform.registration_fields())
    platform.users["teacher-1"] = {"name": "Dana Designer", "email": lead.user.email, "roles": [INSTRUCTOR]}
    platform.users["student-7"] = {"name": "Noor New", "email": "noor.new@acme.example", "roles": [LEARNER]}

    # The course designer picks the scenario in CoachHub (Deep Linking).
    page.goto(platform.launch_url(user="teacher-1", deep_linking=True))
    expect(page.get_by_role("heading", level=1)).to_have_text("Pick a CoachHub scenario for your course")
    page.get_by_label("Refund refusal").check()
    page.get_by_role("button", name="Add to course").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Added to the course")
    assert platform.links["link-1"]["custom"] == {lti.CUSTOM_SCENARIO: str(first.scenario_id)}

    # A rep who has never been to CoachHub launches the link and lands in the scenario.
    page.context.clear_cookies()
    page.goto(platform.launch_url(user="student-7", link="link-1"))
    page.wait_for_url("**/t/acme/sessions/*/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Refund refusal")
    rep = Membership.objects.for_tenant(world.tenant).get(user__email="noor.new@acme.example")
    assert rep.role == Role.REP
    link = LTIGradeLink.objects.for_tenant(world.tenant).get()
    assert link.user_sub == "student-7"

    # Scored: the score goes to the gradebook, FullyGraded, with the focus behavior as the comment.
    score = _end_and_score(world, link.session_id)
    services.on_session_scored(tenant=world.tenant, session=link.session_id)
    assert len(platform.gradebook) == 1
    grade = platform.gradebook[0]
    assert grade["scoreGiven"] == score.overall and grade["scoreMaximum"] == 100
    assert grade["gradingProgress"] == "FullyGraded" and grade["activityProgress"] == "Completed"
    assert grade["userId"] == "student-7" and grade["comment"].startswith("Focus next on:")
    services.on_session_scored(tenant=world.tenant, session=link.session_id)
    assert len(platform.gradebook) == 1  # nothing changed: nothing sent

    # A reviewer changes a behavior score: the gradebook gets the new score.
    behavior = BehaviorScore.objects.for_tenant(world.tenant).filter(session_score=score).order_by("id").first()
    score_adjust(tenant=world.tenant, actor=lead.user, reviewer=lead, behavior_score=behavior, score=100,
                 reason="Handled the refusal with care")
    services.on_session_scored(tenant=world.tenant, session=link.session_id)
    assert len(platform.gradebook) == 2
    updated = platform.gradebook[1]
    assert updated["scoreGiven"] > grade["scoreGiven"] and "Reviewed by a coach" in updated["comment"]


def test_a_launch_into_a_tenant_that_did_not_register_the_platform_is_refused(page, live_server):
    world = build_world("Acme Support", "acme")
    build_world("Bolt Care", "bolt")
    lms = LoopbackPlatform(tool_base=live_server.url, tenant_slug="bolt").start()
    try:
        lti.platform_register(tenant=world.tenant, actor=world.member(Role.TENANT_ADMIN), **lms.registration_fields())
        lms.users["student-1"] = {"name": "Sam", "email": "sam@acme.example", "roles": [LEARNER]}
        lms.links["link-1"] = {"title": "x", "custom": {lti.CUSTOM_SCENARIO: "1"}}
        page.goto(lms.launch_url(user="student-1", link="link-1"))
        expect(page.get_by_role("alert")).to_contain_text("isn't registered with CoachHub for this workspace")
        assert not Membership.objects.for_tenant(world.tenant).filter(user__email="sam@acme.example").exists()
    finally:
        lms.stop()
