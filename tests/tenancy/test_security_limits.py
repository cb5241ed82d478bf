"""Security limits of the tenancy core: the login limit keys on the account however the address is
spelled, operators' pages refuse non-operators plainly, tenant tokens carry no platform powers."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.models import Tenant

pytestmark = pytest.mark.django_db


def _login(email: str, password: str, *, address: str) -> Client:
    client = Client(REMOTE_ADDR=address)
    return client, client.post("/accounts/login/", {"username": email, "password": password})


def test_login_limit_counts_every_spelling_of_one_address_from_many_clients(world_a, settings):
    settings.LOGIN_RATE = "3/m"
    cache.clear()
    user = world_a.member("manager").user
    user.set_password("the-Right-passphrase-1")
    user.save()
    email = user.email  # manager@acme.example
    spellings = [
        email, f" {email}", f"{email}\u3000", email.upper(), f"\t{email.title()} ",
        "ｍａｎａｇｅｒ@acme.example",  # full-width letters: NFKC folds them to ASCII
    ]
    statuses = [
        _login(spelling, "wrong guess", address=f"10.0.{n}.1")[1].status_code for n, spelling in enumerate(spellings)
    ]
    assert statuses[:3] == [200, 200, 200] and set(statuses[3:]) == {429}, statuses
    # Even the right password, spelled differently from yet another address, waits out the minute.
    _, response = _login(f" {email.upper()}\u3000", "the-Right-passphrase-1", address="10.9.9.9")
    assert response.status_code == 429 and "_auth_user_id" not in response.client.session
    # Another account isn't affected.
    _, other = _login(world_a.member("rep").user.email, "wrong guess", address="10.8.8.8")
    assert other.status_code == 200


def test_a_logged_in_non_operator_gets_a_403_page_on_the_platform_page(world_a, client_for):
    admin = client_for(world_a.member("tenant_admin"))
    response = admin.get("/platform/tenants/", follow=True)
    assert response.status_code == 403 and not response.redirect_chain
    assert b"Not allowed" in response.content
    response = admin.post("/platform/tenants/", {"name": "X", "slug": "x", "admin_email": "a@x.example"})
    assert response.status_code == 403 and not Tenant.objects.filter(slug="x").exists()
    assert Client().get("/platform/tenants/").status_code == 302  # anonymous: the login page, as before


def test_a_tenant_token_minted_by_an_operator_cannot_create_tenants(world_a, staff_user):
    from tests.factories import MembershipFactory

    MembershipFactory(tenant=world_a.tenant, user=staff_user, role="tenant_admin")
    _, raw = tenancy_services.api_token_create(tenant=world_a.tenant, user=staff_user, name="ops script")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = {"name": "Evil", "slug": "evil", "admin_email": "boss@evil.example"}
    response = api.post("/api/v1/platform/tenants/", body, content_type="application/json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert not Tenant.objects.filter(slug="evil").exists()
    # The token still works inside its tenant, and the operator's own session still creates tenants.
    assert api.get("/api/v1/t/acme/members/").status_code == 200
    operator = Client()
    operator.force_login(staff_user)
    assert operator.post("/api/v1/platform/tenants/", body, content_type="application/json").status_code == 201


def _invite_existing_account(world_a, world_b, settings) -> str:
    settings.INVITATION_PASSWORD_RATE = "3/m"
    cache.clear()
    _, raw = tenancy_services.invitation_create(
        tenant=world_a.tenant, actor=world_a.member("tenant_admin").user, email=world_b.member("rep").user.email,
        full_name="", role="rep", team=None,
    )
    return f"/invite/{raw}/"


def test_accepting_an_invitation_with_an_existing_password_is_throttled_per_account(world_a, world_b, settings):
    path = _invite_existing_account(world_a, world_b, settings)
    person = world_b.member("rep").user
    person.set_password("the-Right-passphrase-1")
    person.save()
    statuses = [Client(REMOTE_ADDR=f"10.1.{n}.1").post(path, {"password": f"guess {n}"}).status_code for n in range(6)]
    assert statuses[:3] == [400, 400, 400] and set(statuses[3:]) == {429}, statuses
    # The right password waits out the minute too, and nothing was joined meanwhile.
    assert Client(REMOTE_ADDR="10.2.2.2").post(path, {"password": "the-Right-passphrase-1"}).status_code == 429
    from coachhub.tenancy.models import Membership

    assert not Membership.objects.for_tenant(world_a.tenant).filter(user=person).exists()


def test_accepting_invitations_is_throttled_per_client_address(world_a, world_b, settings):
    path = _invite_existing_account(world_a, world_b, settings)
    settings.INVITATION_PASSWORD_RATE = "2/m"
    client = Client(REMOTE_ADDR="10.3.3.3")
    assert [client.post(path, {"password": "nope"}).status_code for _ in range(3)] == [400, 400, 429]


def test_password_reset_emails_are_limited_per_address_and_per_client(world_a, settings, mailoutbox):
    settings.PASSWORD_RESET_RATE = "2/h"
    cache.clear()
    email = world_a.member("rep").user.email
    spellings = [email, f" {email.upper()}", f"{email}\u3000", email]
    statuses = [
        Client(REMOTE_ADDR=f"10.4.{n}.1").post("/accounts/password-reset/", {"email": spelling}).status_code
        for n, spelling in enumerate(spellings)
    ]
    assert statuses[:2] == [302, 302] and set(statuses[2:]) == {429}, statuses
    assert len(mailoutbox) == 2
    # From one client, addresses that don't even exist count too: no flooding anyone's inbox.
    client = Client(REMOTE_ADDR="10.5.5.5")
    codes = [client.post("/accounts/password-reset/", {"email": f"n{n}@elsewhere.example"}).status_code for n in range(3)]
    assert codes == [302, 302, 429]
