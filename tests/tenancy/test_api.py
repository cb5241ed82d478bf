"""The API's contract: one error shape, pagination, per-tenant tokens, role checks, the schema."""

import pytest
from django.test import Client

from coachhub.tenancy import services

pytestmark = pytest.mark.django_db


def _token_client(world, role="tenant_admin"):
    membership = world.member(role)
    _, raw = services.api_token_create(tenant=world.tenant, user=membership.user, name="ci")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_token_works_only_on_its_own_tenant(world_a, world_b):
    # The same person in both tenants: a token made in A still can't open B.
    person = world_a.member("tenant_admin").user
    from tests.factories import MembershipFactory

    MembershipFactory(tenant=world_b.tenant, user=person, role="tenant_admin")
    client = _token_client(world_a)
    assert client.get("/api/v1/t/acme/members/").status_code == 200
    response = client.get("/api/v1/t/bolt/members/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}
    me = client.get("/api/v1/me/").json()
    assert [m["tenant"]["slug"] for m in me["memberships"]] == ["acme"]


def test_bad_and_revoked_tokens_get_401(world_a):
    response = Client(HTTP_AUTHORIZATION="Bearer chk_nope").get("/api/v1/t/acme/members/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    membership = world_a.member("rep")
    token, raw = services.api_token_create(tenant=world_a.tenant, user=membership.user, name="x")
    services.api_token_revoke(tenant=world_a.tenant, user=membership.user, token=token)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/t/acme/members/").status_code == 401


def test_lists_paginate(world_a):
    body = _token_client(world_a).get("/api/v1/t/acme/members/?page_size=2").json()
    assert body["count"] == 6 and len(body["results"]) == 2 and body["next"]


def test_rep_sees_only_themself_and_manager_their_team(world_a, client_for):
    rep_view = client_for(world_a.member("rep")).get("/api/v1/t/acme/members/").json()
    assert [m["email"] for m in rep_view["results"]] == [world_a.member("rep").user.email]
    manager_view = client_for(world_a.member("manager")).get("/api/v1/t/acme/members/").json()
    emails = {m["email"] for m in manager_view["results"]}
    assert emails == {world_a.member("rep").user.email, world_a.rep2.user.email, world_a.member("manager").user.email}


def test_validation_errors_name_the_fields(world_a):
    client = _token_client(world_a)
    response = client.post("/api/v1/t/acme/invitations/", {"email": "nope", "role": "king"}, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and set(error["fields"]) == {"email", "role"}
    response = client.post("/api/v1/t/acme/teams/", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_request"


def test_role_denied_is_403_with_code(world_a):
    response = _token_client(world_a, "rep").get("/api/v1/t/acme/invitations/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_admin_manages_invitations_and_teams_through_the_api(world_a, mailoutbox, django_capture_on_commit_callbacks):
    client = _token_client(world_a)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/t/acme/invitations/",
            {"email": "api.rep@acme.example", "role": "rep", "team_id": world_a.team.id},
            content_type="application/json",
        )
    assert created.status_code == 201 and created.json()["status"] == "pending"
    assert mailoutbox[-1].to == ["api.rep@acme.example"]
    inv = created.json()["id"]
    assert client.post(f"/api/v1/t/acme/invitations/{inv}/revoke/").json()["status"] == "revoked"
    again = client.post(f"/api/v1/t/acme/invitations/{inv}/revoke/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invitation_closed"
    team = client.post("/api/v1/t/acme/teams/", {"name": "Night Shift"}, content_type="application/json")
    assert team.status_code == 201
    dup = client.post("/api/v1/t/acme/teams/", {"name": "night shift"}, content_type="application/json")
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "team_exists"


def test_platform_operator_creates_tenant_through_api(staff_user, world_a):
    client = Client()
    client.force_login(staff_user)
    response = client.post(
        "/api/v1/platform/tenants/",
        {"name": "Zed", "slug": "zed", "admin_email": "a@zed.example"},
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["slug"] == "zed"
    clash = client.post(
        "/api/v1/platform/tenants/",
        {"name": "Zed", "slug": "zed", "admin_email": "a@zed.example"},
        content_type="application/json",
    )
    assert clash.status_code == 400 and "slug" in clash.json()["error"]["fields"]


def test_openapi_schema_is_served_and_covers_tenant_routes():
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/t/{tenant_slug}/members/" in schema["paths"]
    assert "/api/v1/t/{tenant_slug}/invitations/{id}/revoke/" in schema["paths"]
    docs = Client().get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    assert b"cdn" not in docs.content.lower()
