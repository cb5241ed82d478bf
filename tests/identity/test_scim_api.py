"""SCIM 2.0 endpoint: Okta's and Microsoft Entra's documented request sequences replayed as they
send them, deprovisioning ending a signed-in rep's session, and tenant isolation of tokens."""

from __future__ import annotations

import pytest
from django.test import Client

from coachhub.identity.models import ScimUser
from coachhub.tenancy.models import AuditEvent, Membership, TeamMembership
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def okta_user(email: str, given: str = "Ada", family: str = "Lovelace") -> dict:
    # Okta's "Create User" body (developer.okta.com, SCIM 2.0 reference).
    return {
        "schemas": [USER], "userName": email, "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": email, "type": "work"}], "displayName": f"{given} {family}",
        "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7", "groups": [], "password": "1mz050nq",
        "active": True,
    }


def test_okta_sequence_creates_updates_and_deactivates_a_member(scim, world_a):
    # 1. Okta checks whether the user exists.
    found = scim("GET", '/Users?filter=userName eq "ada@acme.example"&startIndex=1&count=100')
    assert found.status_code == 200 and found.json()["totalResults"] == 0
    # 2. Creates them.
    created = scim("POST", "/Users", okta_user("ada@acme.example"))
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["userName"] == "ada@acme.example" and "password" not in body
    assert created["Location"].endswith(f"/Users/{body['id']}")
    membership = Membership.objects.for_tenant(world_a.tenant).get(user__email="ada@acme.example")
    assert membership.is_active and membership.role == "rep" and membership.user.full_name == "Ada Lovelace"
    assert not membership.user.has_usable_password()  # the IdP's password is never kept
    # userName is case-insensitive.
    again = scim("GET", '/Users?filter=userName eq "ADA@acme.EXAMPLE"')
    assert again.json()["totalResults"] == 1
    # 3. A profile change arrives as PUT.
    replaced = scim("PUT", f"/Users/{body['id']}", {**okta_user("ada@acme.example", "Ada", "King"), "id": body["id"]})
    assert replaced.status_code == 200 and replaced.json()["name"]["familyName"] == "King"
    # 4. Deactivation is a PATCH with active false.
    deactivated = scim("PATCH", f"/Users/{body['id']}", {
        "schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}],
    })
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False
    membership.refresh_from_db()
    assert not membership.is_active
    # 5. Reactivation brings the same membership back (history intact).
    scim("PATCH", f"/Users/{body['id']}", {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": True}}]})
    membership.refresh_from_db()
    assert membership.is_active
    actions = set(AuditEvent.objects.for_tenant(world_a.tenant).values_list("action", flat=True))
    assert {"member.provisioned", "member.deprovisioned", "member.reactivated", "scim_user.created"} <= actions


def test_okta_group_push_maps_to_a_team(scim, world_a):
    ada = scim("POST", "/Users", okta_user("ada@acme.example")).json()
    bob = scim("POST", "/Users", okta_user("bob@acme.example", "Bob")).json()
    group = scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "Tier 2", "members": [{"value": ada["id"]}]})
    assert group.status_code == 201, group.content
    group_id = group.json()["id"]
    # Okta's membership change: add one, remove another, in one PATCH.
    changed = scim("PATCH", f"/Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "remove", "path": f'members[value eq "{ada["id"]}"]'},
        {"op": "add", "path": "members", "value": [{"value": bob["id"], "display": "bob@acme.example"}]},
    ]})
    assert changed.status_code == 204, changed.content
    team_people = set(
        TeamMembership.objects.for_tenant(world_a.tenant).filter(team__name="Tier 2")
        .values_list("membership__user__email", flat=True)
    )
    assert team_people == {"bob@acme.example"}
    read = scim("GET", f"/Groups/{group_id}").json()
    assert [m["value"] for m in read["members"]] == [bob["id"]]
    assert scim("GET", f"/Users/{bob['id']}").json()["groups"][0]["display"] == "Tier 2"
    # Rename, then delete: the team stays for its history, SCIM's links go.
    scim("PATCH", f"/Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "value": {"id": group_id, "displayName": "Tier 2 Escalations"}}]})
    assert scim("GET", '/Groups?filter=displayName eq "Tier 2 Escalations"').json()["totalResults"] == 1
    assert scim("DELETE", f"/Groups/{group_id}").status_code == 204
    assert not TeamMembership.objects.for_tenant(world_a.tenant).filter(team__name="Tier 2 Escalations").exists()


def test_entra_sequence_with_its_quirks(scim, world_a):
    # Entra's documented probe: a filter on a random userName must return an empty list.
    probe = scim("GET", '/Users?filter=userName eq "non-existent user"')
    assert probe.status_code == 200 and probe.json()["Resources"] == []
    # Entra creates with the enterprise extension and a UPN as userName.
    created = scim("POST", "/Users", {
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "userName": "Test_User_ab6490ee@acme.example",
        "active": True, "emails": [{"primary": True, "type": "work", "value": "Test_User_fd0ea19b@acme.example"}],
        "meta": {"resourceType": "User"}, "name": {"formatted": "givenName familyName", "familyName": "familyName",
                                                   "givenName": "givenName"},
        "roles": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Support"},
    })
    assert created.status_code == 201, created.content
    user_id = created.json()["id"]
    # The primary e-mail, not the UPN, is the person's address.
    assert Membership.objects.for_tenant(world_a.tenant).filter(user__email="test_user_fd0ea19b@acme.example").exists()
    # Entra filters by externalId too.
    assert scim("GET", '/Users?filter=externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"').json()["totalResults"] == 1
    # Capitalised ops, the emails[type eq "work"].value path, and the enterprise URN path.
    patched = scim("PATCH", f"/Users/{user_id}", {"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updated@acme.example"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
         "value": "Escalations"},
    ]})
    assert patched.status_code == 200, patched.content
    body = patched.json()
    assert body["emails"][0]["value"] == "updated@acme.example"
    assert body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"] == "Escalations"
    assert Membership.objects.for_tenant(world_a.tenant).filter(user__email="updated@acme.example").exists()
    # Entra's periodic "active = True" sent as a string, then the disable as "False".
    for value, expected in (("True", True), ("False", False)):
        response = scim("PATCH", f"/Users/{user_id}", {"schemas": [PATCH], "Operations": [
            {"op": "Replace", "path": "active", "value": value}]})
        assert response.status_code == 200 and response.json()["active"] is expected
    assert not Membership.objects.for_tenant(world_a.tenant).get(user__email="updated@acme.example").is_active
    # Entra's hard delete after the soft one.
    assert scim("DELETE", f"/Users/{user_id}").status_code == 204
    assert scim("GET", f"/Users/{user_id}").status_code == 404


def test_deprovisioning_ends_a_signed_in_reps_session_and_keeps_history(scim, world_a):
    created = scim("POST", "/Users", okta_user("rita@acme.example", "Rita")).json()
    user = Membership.objects.for_tenant(world_a.tenant).get(user__email="rita@acme.example").user
    user.set_password("a-Long-passphrase-9")
    user.save()
    browser = Client()
    assert browser.post("/accounts/login/", {"username": "rita@acme.example", "password": "a-Long-passphrase-9"}).status_code == 302
    home = f"/t/{world_a.tenant.slug}/"
    assert browser.get(home).status_code == 200
    assert scim("DELETE", f"/Users/{created['id']}").status_code == 204
    # The very next request is no longer signed in.
    response = browser.get(home)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    membership = Membership.objects.for_tenant(world_a.tenant).get(user=user)
    assert not membership.is_active  # kept, inactive: sessions and scores still point at it
    event = AuditEvent.objects.for_tenant(world_a.tenant).get(action="member.deprovisioned")
    assert event.data["sessions_ended"] == 1


def test_deprovisioning_in_one_tenant_leaves_the_persons_other_workspace_alone(scim, world_a, world_b):
    person = UserFactory(email="shared@acme.example")
    MembershipFactory(tenant=world_b.tenant, user=person)
    created = scim("POST", "/Users", okta_user("shared@acme.example")).json()
    browser = Client()
    browser.force_login(person)
    scim("PATCH", f"/Users/{created['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "active", "value": False}]})
    assert browser.get(f"/t/{world_a.tenant.slug}/").status_code == 404  # no longer a member of A
    assert browser.get(f"/t/{world_b.tenant.slug}/").status_code == 200  # B's membership untouched
    # A's IdP can't rename or re-address a person B also has.
    renamed = scim("PUT", f"/Users/{created['id']}", {**okta_user("other@acme.example"), "id": created["id"]})
    assert renamed.status_code == 409 and "other workspaces" in renamed.json()["detail"]


def test_a_token_works_only_on_its_own_tenant(scim, world_a, world_b, scim_token, scim_token_b):
    created = scim("POST", "/Users", okta_user("ada@acme.example")).json()
    # B's token on A's URL, A's token on B's URL, no token, a revoked token: all 401.
    assert scim("GET", "/Users", token=scim_token_b).status_code == 401
    assert scim("GET", "/Users", slug=world_b.tenant.slug).status_code == 401
    assert Client().get(f"/scim/v2/t/{world_a.tenant.slug}/Users").status_code == 401
    assert scim("GET", "/Users", slug="no-such-tenant").status_code == 401
    # B's own view knows nothing of A's user, by id or by filter.
    assert scim("GET", f"/Users/{created['id']}", token=scim_token_b, slug=world_b.tenant.slug).status_code == 404
    listing = scim("GET", '/Users?filter=userName eq "ada@acme.example"', token=scim_token_b, slug=world_b.tenant.slug)
    assert listing.json()["totalResults"] == 0
    assert not ScimUser.objects.for_tenant(world_b.tenant).exists()


def test_bad_requests_get_scim_errors_that_name_the_problem(scim):
    unparsable = scim("GET", '/Users?filter=userName eq')
    assert unparsable.status_code == 400 and unparsable.json()["scimType"] == "invalidFilter"
    unsupported = scim("GET", '/Users?filter=title eq "Boss"')
    assert unsupported.status_code == 400 and "title" in unsupported.json()["detail"]
    missing = scim("POST", "/Users", {"schemas": [USER], "emails": [{"value": "x@acme.example"}]})
    assert missing.status_code == 400 and "userName" in missing.json()["detail"]
    scim("POST", "/Users", okta_user("ada@acme.example"))
    duplicate = scim("POST", "/Users", okta_user("ADA@acme.example"))
    assert duplicate.status_code == 409 and duplicate.json()["scimType"] == "uniqueness"
    bad_email = scim("POST", "/Users", {**okta_user("z@acme.example"), "emails": [{"value": "not-an-address"}]})
    assert bad_email.status_code == 400 and "email" in bad_email.json()["detail"]
    bad_path = scim("PATCH", "/Users/00000000-0000-0000-0000-000000000000", {"schemas": [PATCH], "Operations": []})
    assert bad_path.status_code in (400, 404)
    assert scim("GET", "/Users/not-a-uuid").status_code == 404
    assert scim("GET", "/Users?filter=id eq \"not-a-uuid\"").json()["totalResults"] == 0


def test_list_endpoints_take_the_same_queries_for_3_or_12_people(scim):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert scim("GET", path).status_code == 200
        return len(captured)

    def grow(count: int, start: int) -> None:
        ids = [scim("POST", "/Users", okta_user(f"p{n}@acme.example")).json()["id"] for n in range(start, start + count)]
        scim("POST", "/Groups", {"schemas": [GROUP], "displayName": f"Team {start}", "members": [{"value": i} for i in ids]})

    grow(3, 0)
    scim("GET", "/Users")  # the token's last-used stamp is written once; measure after it
    small_users, small_groups = queries_for("/Users"), queries_for("/Groups")
    grow(9, 100)
    assert queries_for("/Users") == small_users
    assert queries_for("/Groups") == small_groups
