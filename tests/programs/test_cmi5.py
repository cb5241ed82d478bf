"""cmi5: an LMS launches a CoachHub scenario as an assignable unit; the session's statements reach the
LMS's LRS in cmi5 order (launched by the LMS, then initialized, completed, passed/failed, terminated)
with the cmi5 category, the moveOn category where cmi5 asks for it, the LMS's actor, registration and
context template, sent with the launch's token; nothing follows terminated."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from tincan import Statement

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role
from programs import cmi5, services, statements, xapi
from programs.models import Cmi5Launch
from scoring.models import SessionScore
from scoring.services import session_score_run
from sessions.models import PracticeSession, Turn
from tests.programs.cmi5_lms import COURSE_ID, SESSION_EXTENSION, Cmi5LMS
from tests.programs.helpers import two_scenarios
from tests.programs.test_grade_passback import adjust
from tests.scoring.factories import SUPPORTIVE_LINES, add_turns

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR = {"objectType": "Agent", "name": "Noor New", "account": {"homePage": "https://lms.example", "name": "learner-7"}}


@pytest.fixture
def lms():
    server = Cmi5LMS().start()
    yield server
    server.stop()


def _connect(world, lms) -> None:
    statements.lrs_settings_update(tenant=world.tenant, actor=world.member(Role.TENANT_ADMIN), endpoint=lms.endpoint,
                                   username=lms.key, secret=lms.secret)


def _launch(world, lms, client_for, *, mastery_score=0.5):
    first, _ = two_scenarios(world.tenant)
    params = lms.launch_params(actor=ACTOR, mastery_score=mastery_score,
                               activity_id=cmi5.au_activity_id(tenant_slug=world.tenant.slug,
                                                               scenario_id=first.scenario_id))
    rep = world.member(Role.REP)
    response = client_for(rep).get(reverse("cmi5_launch", args=[world.tenant.slug]), params)
    return params, response


def _end_then_score(world, session_id):
    """The rep ends the session (the runner announces "ended"), then the scorer scores it."""
    session = PracticeSession.objects.for_tenant(world.tenant).get(id=session_id)
    Turn.objects.for_tenant(world.tenant).filter(session=session).delete()
    add_turns(session, SUPPORTIVE_LINES)
    PracticeSession.objects.for_tenant(world.tenant).filter(id=session_id).update(
        status="ended", end_reason="resolved", ended_at=session.started_at + timedelta(minutes=4))
    services.on_session_ended(tenant=world.tenant, session=session_id)  # inline, scoring runs from here
    with tenant_context(world.tenant):
        session_score_run(tenant=world.tenant, session_id=session_id)  # already scored: a no-op
    services.on_session_scored(tenant=world.tenant, session=session_id)
    return SessionScore.objects.for_tenant(world.tenant).get(session_id=session_id, is_current=True)


@pytest.mark.parametrize(("mastery", "verdict"), [(0.5, "passed"), (0.9, "failed")])
def test_a_cmi5_launch_sends_its_statements_in_cmi5_order_with_its_categories(
        world_a, lms, client_for, mastery, verdict):
    _connect(world_a, lms)
    params, response = _launch(world_a, lms, client_for, mastery_score=mastery)
    assert response.status_code == 302 and "/sessions/" in response["Location"], response.content
    launch = Cmi5Launch.objects.for_tenant(world_a.tenant).get()
    assert (launch.registration, launch.mastery_score, launch.move_on) == (params["registration"], mastery, "Passed")

    score = _end_then_score(world_a, launch.session_id)
    services.on_session_scored(tenant=world_a.tenant, session=launch.session_id)  # again: nothing new
    assert lms.verbs() == ["launched", "initialized", "completed", "scored", verdict, "terminated"], lms.verbs()

    by_verb = {s["verb"]["display"]["en-US"]: s for s in lms.stored}
    for verb, body in by_verb.items():
        assert body["actor"] == ACTOR and body["object"]["id"] == params["activityId"], verb
        assert body["context"]["registration"] == params["registration"], verb
        # The LMS's context template rides along: its session id and the course grouping.
        assert body["context"]["extensions"][SESSION_EXTENSION] == lms.launch_data["contextTemplate"]["extensions"][
            SESSION_EXTENSION], verb
        assert {"id": COURSE_ID} in body["context"]["contextActivities"]["grouping"], verb
        categories = {c["id"] for c in body["context"]["contextActivities"].get("category", [])}
        if verb == "scored":  # cmi5 "allowed", not "defined": it must not claim the cmi5 category
            assert cmi5.CATEGORY not in categories
        else:
            assert cmi5.CATEGORY in categories, verb
        assert (cmi5.MOVEON in categories) == (verb in ("completed", verdict)), verb
        if verb != "launched":
            assert xapi.validate(body) == [], verb
            Statement.from_json(json.dumps(body))
            assert lms.authorization_of[body["id"]] == f"Basic {next(iter(lms.issued))}", verb  # the launch's token
    result = by_verb[verdict]["result"]
    assert result["success"] is (verdict == "passed") and result["score"]["scaled"] == round(score.overall / 100, 4)
    assert by_verb[verdict]["context"]["extensions"][cmi5.MASTERY_EXTENSION] == mastery
    assert by_verb["completed"]["result"]["completion"] is True and by_verb["terminated"]["result"]["duration"]

    # After terminated nothing more goes out: a coach's later change stays in CoachHub.
    adjust(world_a, score)
    services.on_session_scored(tenant=world_a.tenant, session=launch.session_id)
    assert len(lms.stored) == 6


def test_a_launch_that_points_elsewhere_or_reuses_its_fetch_url_is_refused_in_words(world_a, lms, client_for):
    url = reverse("cmi5_launch", args=[world_a.tenant.slug])
    rep = client_for(world_a.member(Role.REP))
    missing = rep.get(url, {"endpoint": lms.endpoint})
    assert missing.status_code == 400 and b"missing fetch, actor, registration, activityId" in missing.content
    params, _ = _launch(world_a, lms, client_for)  # no LRS set for the workspace yet
    assert not Cmi5Launch.objects.for_tenant(world_a.tenant).exists()
    _connect(world_a, lms)
    foreign = rep.get(url, {**params, "endpoint": "https://elsewhere.example/xapi/"})
    assert foreign.status_code == 400 and b"doesn&#x27;t use" in foreign.content
    first = rep.get(url, params)
    assert first.status_code == 302
    again = rep.get(url, params)  # the LMS gives a fetch URL's token once
    assert again.status_code == 409 and b"already used" in again.content
    assert Cmi5Launch.objects.for_tenant(world_a.tenant).count() == 1


def test_another_workspaces_scenario_is_not_launchable_here(world_a, world_b, lms, client_for):
    _connect(world_a, lms)
    theirs, _ = two_scenarios(world_b.tenant)
    params = lms.launch_params(actor=ACTOR, activity_id=cmi5.au_activity_id(tenant_slug=world_b.tenant.slug,
                                                                             scenario_id=theirs.scenario_id))
    response = client_for(world_a.member(Role.REP)).get(reverse("cmi5_launch", args=[world_a.tenant.slug]), params)
    assert response.status_code == 404 and not Cmi5Launch.objects.for_tenant(world_a.tenant).exists()
