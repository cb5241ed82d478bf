"""An assignment follows its scenario's published version: publishing v2 never strands a rep's
"Start practice", while sessions already started stay on the version they began with."""

from __future__ import annotations

import pytest
from django.test import Client

from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.context import tenant_context
from scenarios import services
from scenarios.models import Assignment, AssignmentRecipient, ScenarioVersion
from sessions.models import PracticeSession
from tests.scenarios.factories import spec_dict

pytestmark = pytest.mark.django_db


def _assigned(world):
    lead = world.member("enablement_lead")
    scenario = services.scenario_create(tenant=world.tenant, actor=lead.user, spec=spec_dict(slug="returns"))
    services.scenario_publish(tenant=world.tenant, actor=lead.user, scenario=scenario)
    assignment = services.assignment_create(tenant=world.tenant, assigned_by=lead, scenario=scenario, teams=[world.team])
    with tenant_context(world.tenant):
        recipient = AssignmentRecipient.objects.get(assignment=assignment, membership=world.member("rep"))
    return scenario, assignment, recipient


def _publish_v2(world, scenario):
    lead = world.member("enablement_lead").user
    services.scenario_edit(tenant=world.tenant, actor=lead, scenario=scenario, spec=spec_dict(slug="returns", difficulty="hard"))
    return services.scenario_publish(tenant=world.tenant, actor=lead, scenario=scenario)


def _session(world, session_id) -> PracticeSession:
    with tenant_context(world.tenant):
        return PracticeSession.objects.select_related("version").get(id=session_id)


def test_start_practice_works_after_the_lead_publishes_v2_and_runs_on_v2(world_a, client_for):
    scenario, assignment, recipient = _assigned(world_a)
    rep = client_for(world_a.member("rep"))
    first = rep.post("/t/acme/sessions/start/", {"recipient_id": recipient.id, "mode": "text"})
    first_id = int(first["Location"].rstrip("/").split("/")[-1])
    v2 = _publish_v2(world_a, scenario)
    with tenant_context(world_a.tenant):
        assert Assignment.objects.get(id=assignment.id).version_id == v2.id
    # The rep's page still offers the assignment, and both buttons start practice on v2.
    page = rep.get("/t/acme/practice/")
    assert page.status_code == 200 and f'value="{recipient.id}"'.encode() in page.content
    for mode in ("text", "voice"):
        response = rep.post("/t/acme/sessions/start/", {"recipient_id": recipient.id, "version_id": assignment.version_id,
                                                         "mode": mode})
        assert response.status_code == 302, response.content[:300]
        started = _session(world_a, int(response["Location"].rstrip("/").split("/")[-1]))
        assert started.version_id == v2.id and not started.is_trial and started.recipient_id == recipient.id
    # The session begun on v1 keeps v1 and still takes turns.
    assert _session(world_a, first_id).version.number == 1
    turn = rep.post(f"/t/acme/sessions/{first_id}/turns/", {"text": "I'm sorry, let me look at your order."})
    assert turn.status_code == 200


def test_over_the_api_too_and_an_assignment_left_on_an_archived_version_still_starts(world_a):
    scenario, assignment, recipient = _assigned(world_a)
    v2 = _publish_v2(world_a, scenario)
    with tenant_context(world_a.tenant):
        # An assignment made before publishing moved assignments along still points at v1.
        v1 = ScenarioVersion.objects.get(scenario=scenario, number=1)
        Assignment.objects.filter(id=assignment.id).update(version=v1)
    _, raw = tenancy_services.api_token_create(tenant=world_a.tenant, user=world_a.member("rep").user, name="t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api.post("/api/v1/t/acme/sessions/", {"assignment_recipient_id": recipient.id}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert _session(world_a, response.json()["id"]).version_id == v2.id


def test_archiving_the_whole_scenario_leaves_its_assignment_practicable(world_a, client_for):
    scenario, assignment, recipient = _assigned(world_a)
    services.scenario_archive(tenant=world_a.tenant, actor=world_a.member("enablement_lead").user, scenario=scenario)
    rep = client_for(world_a.member("rep"))
    response = rep.post("/t/acme/sessions/start/", {"recipient_id": recipient.id})
    assert response.status_code == 302
    session = _session(world_a, int(response["Location"].rstrip("/").split("/")[-1]))
    assert session.version_id == assignment.version_id and not session.is_trial
    # Outside an assignment an archived version still can't be practiced by a rep.
    assert rep.post("/t/acme/sessions/start/", {"version_id": assignment.version_id}).status_code == 404
