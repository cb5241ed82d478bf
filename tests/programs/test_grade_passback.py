"""AGS grade passback when the LMS is down or hangs: the score waits on its grade link, the task
(inline here; tests/programs/test_grade_worker.py runs a real worker) or the sweeper sends it once the
LMS is back, once, and what arrives is the latest score (a reviewer's adjustment wins). The LMS is the
`lti1p3platform` loopback platform, launched from through the test client, made to fail on demand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role
from programs import lti, services, tasks
from programs.models import LTIGradeLink
from scoring.models import BehaviorScore
from scoring.services import score_adjust, session_score_run
from sessions.models import PracticeSession, Turn
from tests.programs.helpers import two_scenarios
from tests.programs.lms import FlakyPlatform, launch
from tests.scoring.factories import SUPPORTIVE_LINES, add_turns
from tests.support.lti_platform import LEARNER

# The LMS fetches the tool's key set to check its token requests: the tool runs as a live server.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lms(live_server):
    platform = FlakyPlatform(tool_base=live_server.url, tenant_slug="acme").start()
    yield platform
    platform.release.set()
    platform.stop()


def launched_session(world, lms, client, *, sub="student-7", email="noor.new@acme.example"):
    """A learner launches a CoachHub scenario from the LMS; returns their practice session's id."""
    first, _ = two_scenarios(world.tenant)
    lti.platform_register(tenant=world.tenant, actor=world.member(Role.TENANT_ADMIN), **lms.registration_fields())
    lms.users[sub] = {"name": "Noor New", "email": email, "roles": [LEARNER]}
    lms.links["link-1"] = {"title": "Refund refusal", "custom": {lti.CUSTOM_SCENARIO: str(first.scenario_id)}}
    response = launch(client, lms, user=sub, link="link-1")
    assert response.status_code == 302 and "/sessions/" in response["Location"], response.content
    return LTIGradeLink.objects.for_tenant(world.tenant).get(user_sub=sub).session_id


def end_and_score(world, session_id):
    """The rep's practice, scripted; scoring announces "scored" (which queues the passback)."""
    session = PracticeSession.objects.for_tenant(world.tenant).get(id=session_id)
    Turn.objects.for_tenant(world.tenant).filter(session=session).delete()
    add_turns(session, SUPPORTIVE_LINES)
    PracticeSession.objects.for_tenant(world.tenant).filter(id=session_id).update(
        status="ended", end_reason="resolved", ended_at=session.started_at)
    with tenant_context(world.tenant):
        score = session_score_run(tenant=world.tenant, session_id=session_id)
    services.on_session_scored(tenant=world.tenant, session=session_id)
    return score


def adjust(world, score, value=100):
    lead = world.member(Role.ENABLEMENT_LEAD)
    behavior = BehaviorScore.objects.for_tenant(world.tenant).filter(session_score=score).order_by("id").first()
    with tenant_context(world.tenant):
        score_adjust(tenant=world.tenant, actor=lead.user, reviewer=lead, behavior_score=behavior, score=value,
                     reason="Handled the refusal with care")
    services.on_session_scored(tenant=world.tenant, session=score.session_id)


def link_of(world, session_id) -> LTIGradeLink:
    return LTIGradeLink.objects.for_tenant(world.tenant).get(session_id=session_id)


def as_if_minutes_passed(world, minutes=5):
    """The sweeper takes a grade for lost once it has waited a while: move its wait back."""
    LTIGradeLink.objects.for_tenant(world.tenant).exclude(pending_since=None).update(
        pending_since=timezone.now() - timedelta(minutes=minutes))


def test_an_lms_outage_delays_the_grade_and_the_latest_score_arrives_once_when_it_is_back(world_a, lms, client):
    session_id = launched_session(world_a, lms, client)
    lms.failing_with = 503
    score = end_and_score(world_a, session_id)
    link = link_of(world_a, session_id)
    assert lms.refused >= 1 and lms.gradebook == []
    assert link.pending_since is not None and "503" in link.last_error and link.last_score_sent is None

    # A coach changes a behavior score while the LMS is still down: still waiting, nothing lost.
    adjust(world_a, score)
    link = link_of(world_a, session_id)
    assert lms.gradebook == [] and link.pending_since is not None and link.attempts >= 2

    # The sweeper leaves a fresh wait to its job, and sends one that has waited too long.
    lms.failing_with = None
    assert tasks.sweep_grades() == 0
    as_if_minutes_passed(world_a)
    assert tasks.sweep_grades() == 1
    assert len(lms.gradebook) == 1
    grade = lms.gradebook[0]
    assert grade["scoreGiven"] > score.overall and "Reviewed by a coach" in grade["comment"]
    assert grade["gradingProgress"] == "FullyGraded" and grade["userId"] == "student-7"
    link = link_of(world_a, session_id)
    assert (link.pending_since, link.attempts, link.last_error) == (None, 0, "")
    assert link.last_score_sent == grade["scoreGiven"]

    # Again and again: the gradebook already has it.
    as_if_minutes_passed(world_a)
    tasks.sweep_grades()
    tasks.send_grade(tenant_id=world_a.tenant.id, session_id=session_id)
    services.on_session_scored(tenant=world_a.tenant, session=session_id)
    assert len(lms.gradebook) == 1


@override_settings(LTI_SERVICE_TIMEOUT_S=0.5)
def test_an_lms_that_hangs_is_cut_off_and_the_grade_waits(world_a, lms, client):
    session_id = launched_session(world_a, lms, client)
    lms.stalled.set()
    end_and_score(world_a, session_id)  # returns: the timeout cut the hung request off
    link = link_of(world_a, session_id)
    assert link.pending_since is not None and "Timeout" in link.last_error and lms.gradebook == []
    lms.stalled.clear()
    lms.release.set()
    as_if_minutes_passed(world_a)
    tasks.sweep_grades()
    assert [g["userId"] for g in lms.gradebook] == ["student-7"]


def test_a_refused_score_is_recorded_and_not_retried_until_the_score_changes(world_a, lms, client):
    session_id = launched_session(world_a, lms, client)
    lms.failing_with = 400
    score = end_and_score(world_a, session_id)
    link = link_of(world_a, session_id)
    assert link.pending_since is None and "400" in link.last_error
    requests_so_far = lms.score_requests
    as_if_minutes_passed(world_a)
    assert tasks.sweep_grades() == 0 and lms.score_requests == requests_so_far
    lms.failing_with = None
    adjust(world_a, score)  # a new score: sent
    assert len(lms.gradebook) == 1 and "Reviewed by a coach" in lms.gradebook[0]["comment"]


def test_the_task_is_a_no_op_for_a_vanished_session_or_tenant(world_a, lms, client):
    session_id = launched_session(world_a, lms, client)
    tasks.send_grade(tenant_id=world_a.tenant.id, session_id=session_id)  # not scored yet: nothing to send
    assert lms.score_requests == 0 and link_of(world_a, session_id).last_score_sent is None
    # A wait with nothing scored behind it (its score was withdrawn) ends at the next sweep.
    LTIGradeLink.objects.for_tenant(world_a.tenant).update(pending_since=timezone.now() - timedelta(minutes=10))
    assert tasks.sweep_grades() == 1 and link_of(world_a, session_id).pending_since is None
    assert tasks.sweep_grades() == 0 and lms.score_requests == 0
    tasks.send_grade(tenant_id=world_a.tenant.id, session_id=987654)
    tasks.send_grade(tenant_id=987654, session_id=session_id)
    assert lms.score_requests == 0


def test_one_tenants_sweep_never_sends_another_tenants_grades(world_a, world_b, lms, client):
    session_id = launched_session(world_a, lms, client)
    lms.failing_with = 503
    end_and_score(world_a, session_id)
    as_if_minutes_passed(world_a)
    assert lti.grades_pending(tenant=world_b.tenant) == []
    assert lti.grades_pending(tenant=world_a.tenant) == [session_id]
    # bolt's task naming acme's session finds nothing inside bolt.
    lms.failing_with = None
    tasks.send_grade(tenant_id=world_b.tenant.id, session_id=session_id)
    assert lms.gradebook == []
