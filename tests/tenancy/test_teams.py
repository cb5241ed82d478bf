"""Admins rename and delete teams; a duplicate name says what to do instead of "Taken."."""

from __future__ import annotations

import pytest

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AuditEvent, Membership, Team, TeamMembership
from scenarios import services as scenario_services
from scenarios.models import AssignmentRecipient
from tests.scenarios.factories import spec_dict

pytestmark = pytest.mark.django_db


def test_a_duplicate_team_name_explains_itself_on_create_and_rename(world_a, client_for):
    admin = client_for(world_a.member("tenant_admin"))
    response = admin.post("/t/acme/teams/", {"name": f"  {world_a.team.name} "})
    assert response.status_code == 400
    assert "There is already a team called “Acme Support Team”. Pick another name".encode() in response.content
    assert b"Taken." not in response.content
    assert admin.post("/t/acme/teams/", {"name": "Billing"}).status_code == 302
    with tenant_context(world_a.tenant):
        billing = Team.objects.get(name="Billing")
    response = admin.post(f"/t/acme/teams/{billing.id}/edit/", {"name": world_a.team.name})
    assert response.status_code == 400 and b"There is already a team called" in response.content


def test_admin_renames_a_team_and_its_people_stay(world_a, client_for):
    admin = client_for(world_a.member("tenant_admin"))
    assert admin.get(f"/t/acme/teams/{world_a.team.id}/edit/").status_code == 200
    response = admin.post(f"/t/acme/teams/{world_a.team.id}/edit/", {"name": "Tier 2"}, follow=True)
    assert b"is now called Tier 2" in response.content
    with tenant_context(world_a.tenant):
        team = Team.objects.get(id=world_a.team.id)
        assert team.name == "Tier 2" and TeamMembership.objects.filter(team=team).count() == 3
        assert AuditEvent.objects.get(action="team.renamed").data == {"from": "Acme Support Team", "to": "Tier 2"}


def test_admin_deletes_a_team_after_confirming_and_reps_keep_their_assignments(world_a, client_for):
    lead = world_a.member("enablement_lead")
    scenario = scenario_services.scenario_create(tenant=world_a.tenant, actor=lead.user, spec=spec_dict(slug="returns"))
    scenario_services.scenario_publish(tenant=world_a.tenant, actor=lead.user, scenario=scenario)
    scenario_services.assignment_create(tenant=world_a.tenant, assigned_by=lead, scenario=scenario, teams=[world_a.team])
    admin = client_for(world_a.member("tenant_admin"))
    confirm = admin.get(f"/t/acme/teams/{world_a.team.id}/delete/")
    assert confirm.status_code == 200 and b"3 member and coach links" in confirm.content
    response = admin.post(f"/t/acme/teams/{world_a.team.id}/delete/", follow=True)
    assert b"Team Acme Support Team deleted" in response.content
    with tenant_context(world_a.tenant):
        assert not Team.objects.filter(id=world_a.team.id).exists()
        assert Membership.objects.filter(id=world_a.member("rep").id).exists()
        assert AssignmentRecipient.objects.filter(membership=world_a.member("rep")).count() == 1
        assert AuditEvent.objects.filter(action="team.deleted").exists()


def test_only_admins_of_the_tenant_rename_or_delete_its_teams(world_a, world_b, client_for):
    for role in ("rep", "manager", "enablement_lead"):
        client = client_for(world_a.member(role))
        assert client.post(f"/t/acme/teams/{world_a.team.id}/edit/", {"name": "X"}).status_code == 403
        assert client.post(f"/t/acme/teams/{world_a.team.id}/delete/").status_code == 403
    other_admin = client_for(world_b.member("tenant_admin"))
    assert other_admin.post(f"/t/bolt/teams/{world_a.team.id}/delete/").status_code == 404
    with tenant_context(world_a.tenant):
        assert Team.objects.get(id=world_a.team.id).name == "Acme Support Team"
