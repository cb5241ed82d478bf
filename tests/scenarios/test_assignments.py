"""Assignments: who may assign to whom, team expansion, what reps see, and the runner's hooks."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from coachhub.core.errors import ApplicationError, Conflict
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Membership, Tenant
from scenarios import selectors, services
from scenarios.library import library_get
from scenarios.models import Assignment, AssignmentRecipient, Scenario
from tests.factories import TeamFactory, TeamMembershipFactory
from tests.scenarios.factories import spec_dict

pytestmark = pytest.mark.django_db


def _published(world, slug="returns"):
    lead = world.member("enablement_lead").user
    scenario = services.scenario_create(tenant=world.tenant, actor=lead, spec=spec_dict(slug=slug))
    services.scenario_publish(tenant=world.tenant, actor=lead, scenario=scenario)
    return scenario


def _recipients(world, assignment) -> dict[str, str | None]:
    rows = AssignmentRecipient.objects.for_tenant(world.tenant).filter(assignment=assignment)
    return {r.membership.user.email: (r.via_team.name if r.via_team else None) for r in rows}


def test_team_assignment_pins_the_published_version_and_expands_to_reps(world_a):
    scenario = _published(world_a)
    lead = world_a.member("enablement_lead")

    assignment = services.assignment_create(
        tenant=world_a.tenant, assigned_by=lead, scenario=scenario, teams=[world_a.team], reps=[world_a.loner],
        focus_behavior="empathy", max_attempts=3,
    )

    assert assignment.version.status == "published" and assignment.version.scenario_id == scenario.id
    assert _recipients(world_a, assignment) == {
        "rep@acme.example": world_a.team.name,
        "rep2@acme.example": world_a.team.name,
        "loner@acme.example": None,
    }
    # Publishing a new version moves the open assignment along (tests/scenarios/test_assignment_versions.py).
    services.scenario_edit(
        tenant=world_a.tenant, actor=lead.user, scenario=scenario, spec=spec_dict(slug="returns", difficulty="hard")
    )
    services.scenario_publish(tenant=world_a.tenant, actor=lead.user, scenario=scenario)
    assignment.refresh_from_db()
    assert assignment.version.number == 2


def test_only_published_scenarios_and_their_behaviors_can_be_assigned(world_a):
    lead = world_a.member("enablement_lead")
    draft_only = services.scenario_create(tenant=world_a.tenant, actor=lead.user, spec=spec_dict(slug="draft-only"))
    with pytest.raises(Conflict) as caught:
        services.assignment_create(tenant=world_a.tenant, assigned_by=lead, scenario=draft_only, teams=[world_a.team])
    assert caught.value.code == "scenario_not_published"

    with pytest.raises(ApplicationError) as caught:
        services.assignment_create(
            tenant=world_a.tenant, assigned_by=lead, scenario=_published(world_a), teams=[world_a.team],
            focus_behavior="haggling",
        )
    assert set(caught.value.fields) == {"focus_behavior"}
    assert not Assignment.objects.for_tenant(world_a.tenant).exists()


def test_manager_can_assign_only_the_reps_and_teams_they_coach(world_a, client_for):
    scenario = _published(world_a)
    manager = world_a.member("manager")
    other_team = TeamFactory(tenant=world_a.tenant, name="Night shift")
    TeamMembershipFactory(team=other_team, membership=world_a.loner)

    for reps, teams in (([world_a.loner], []), ([], [other_team])):
        with pytest.raises(ApplicationError) as caught:
            services.assignment_create(tenant=world_a.tenant, assigned_by=manager, scenario=scenario, reps=reps, teams=teams)
        assert caught.value.code == "recipient_not_allowed" and caught.value.status_code == 403

    client = client_for(manager)
    form = client.get(f"/t/acme/assignments/new/?scenario={scenario.id}").content.decode()
    assert f'value="{world_a.rep2.id}"' in form
    assert f'value="{world_a.loner.id}"' not in form and "Night shift" not in form
    response = client.post("/t/acme/assignments/new/", {"scenario": scenario.id, "reps": [world_a.loner.id]})
    assert response.status_code == 400
    response = client.post(
        "/api/v1/t/acme/assignments/", {"scenario_id": scenario.id, "rep_ids": [world_a.loner.id]},
        content_type="application/json",
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "recipient_not_allowed"
    assert not Assignment.objects.for_tenant(world_a.tenant).exists()

    response = client.post(
        "/api/v1/t/acme/assignments/", {"scenario_id": scenario.id, "team_ids": [world_a.team.id]},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert {r["email"] for r in response.json()["recipients"]} == {"rep@acme.example", "rep2@acme.example"}


def test_another_tenants_scenario_or_people_cannot_be_assigned(world_a, world_b, client_for):
    foreign = _published(world_b)
    mine = _published(world_a, slug="mine")
    client = client_for(world_a.member("enablement_lead"))

    response = client.post(
        "/api/v1/t/acme/assignments/", {"scenario_id": foreign.id, "team_ids": [world_a.team.id]},
        content_type="application/json",
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "scenario_not_found"
    response = client.post(
        "/api/v1/t/acme/assignments/", {"scenario_id": mine.id, "rep_ids": [world_b.member("rep").id]},
        content_type="application/json",
    )
    assert response.status_code == 404
    response = client.post("/t/acme/assignments/new/", {"scenario": foreign.id, "teams": [world_a.team.id]})
    assert response.status_code == 400
    for path in (f"/t/acme/scenarios/{foreign.id}/", f"/api/v1/t/acme/scenarios/{foreign.id}/"):
        assert client.get(path).status_code == 404
    for path in (f"/t/acme/scenarios/{foreign.id}/duplicate/", f"/api/v1/t/acme/scenarios/{foreign.id}/duplicate/"):
        assert client.post(path).status_code == 404
    assert not Assignment.objects.for_tenant(world_a.tenant).exists()
    assert Scenario.objects.for_tenant(world_a.tenant).count() == 1


def test_rep_sees_open_assignments_on_home_until_done_or_cancelled(world_a, client_for):
    scenario = _published(world_a)
    lead = world_a.member("enablement_lead")
    assignment = services.assignment_create(
        tenant=world_a.tenant, assigned_by=lead, scenario=scenario, teams=[world_a.team], max_attempts=2,
        note="Try the <warranty> route",
    )
    rep = world_a.member("rep")
    client = client_for(rep)

    body = client.get("/t/acme/").content.decode()
    assert scenario.title in body and "2 attempts left" in body
    assert "Try the &lt;warranty&gt; route" in body
    assert scenario.title not in client_for(world_a.loner).get("/t/acme/").content.decode()

    recipient = selectors.open_recipients_for(tenant=world_a.tenant, membership=rep).get()
    services.assignment_record_attempt(tenant=world_a.tenant, recipient=recipient, completed=False)
    assert "1 attempt left" in client.get("/t/acme/").content.decode()
    done = services.assignment_record_attempt(tenant=world_a.tenant, recipient=recipient, completed=True)
    assert done.attempts == 2 and done.completed_at is not None
    assert scenario.title not in client.get("/t/acme/").content.decode()

    rep2 = world_a.rep2
    assert selectors.open_recipients_for(tenant=world_a.tenant, membership=rep2).exists()
    services.assignment_cancel(tenant=world_a.tenant, cancelled_by=lead, assignment=assignment)
    assert not selectors.open_recipients_for(tenant=world_a.tenant, membership=rep2).exists()


def test_managers_see_completion_of_their_reps(world_a, client_for):
    scenario = _published(world_a)
    lead = world_a.member("enablement_lead")
    assignment = services.assignment_create(
        tenant=world_a.tenant, assigned_by=lead, scenario=scenario, teams=[world_a.team], reps=[world_a.loner]
    )
    recipient = AssignmentRecipient.objects.for_tenant(world_a.tenant).get(membership=world_a.rep2)
    services.assignment_record_attempt(tenant=world_a.tenant, recipient=recipient, completed=True)

    manager_page = client_for(world_a.member("manager")).get(f"/t/acme/assignments/{assignment.id}/")
    lead_page = client_for(lead).get(f"/t/acme/assignments/{assignment.id}/")

    assert manager_page.context["progress"].done == 1 and manager_page.context["progress"].total == 2
    assert "loner@acme.example" not in manager_page.content.decode()
    assert lead_page.context["progress"].total == 3
    api = client_for(world_a.member("manager")).get("/api/v1/t/acme/assignments/").json()
    assert (api["results"][0]["done"], api["results"][0]["total"]) == (1, 2)
    home = client_for(world_a.member("manager")).get("/t/acme/").content.decode()
    assert "1/2 done" in home


def test_manager_cancels_only_their_own_assignments(world_a, client_for):
    scenario = _published(world_a)
    by_lead = services.assignment_create(
        tenant=world_a.tenant, assigned_by=world_a.member("enablement_lead"), scenario=scenario, teams=[world_a.team]
    )
    response = client_for(world_a.member("manager")).post(f"/api/v1/t/acme/assignments/{by_lead.id}/cancel/")
    assert response.status_code == 403
    by_lead.refresh_from_db()
    assert by_lead.cancelled_at is None


def test_seed_demo_installs_the_library_and_assigns_the_demo_team():
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    tenant = Tenant.objects.get(slug="demo")
    with tenant_context(tenant):
        assignments_after_first_run = Assignment.objects.for_tenant(tenant).count()
    call_command("seed_demo", stdout=open("/dev/null", "w"))

    with tenant_context(tenant):
        scenarios = Scenario.objects.for_tenant(tenant)
        assert scenarios.count() == 6 and all(s.source_library_slug for s in scenarios)
        assert all(selectors.scenario_published_version(s) for s in scenarios.prefetch_related("versions"))
        assert Assignment.objects.for_tenant(tenant).count() == assignments_after_first_run, "idempotent"
        rep = Membership.objects.for_tenant(tenant).get(user__email="rep@demo.example")
        open_titles = [
            r.assignment.scenario.title for r in selectors.open_recipients_for(tenant=tenant, membership=rep)
        ]
        # The demo's warm-up assignment; the demo's manager history may add this week's round too
        # (four-weekly, so which days it is still open depends on today's date).
        assert library_get("refund-after-return-window").title in open_titles
        assert len(open_titles) == len(set(open_titles)), "no scenario assigned twice"
