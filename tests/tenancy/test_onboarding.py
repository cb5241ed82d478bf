"""Onboarding end to end: a platform operator creates a tenant, its admin accepts the emailed
invitation, sets a password, logs in, and invites others; invitations expire, resend and revoke."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AuditEvent, Invitation, Membership, Role, Tenant, User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _link_from_last_email() -> str:
    body = mail.outbox[-1].body
    return re.search(r"http://[^\s]+/invite/[^\s/]+/", body).group(0).split("://", 1)[1].split("/", 1)[1]


def _log_in(email: str, password: str) -> tuple[Client, object]:
    client = Client()
    response = client.post("/accounts/login/", {"username": email, "password": password}, follow=True)
    return client, response


def test_operator_creates_tenant_and_first_admin_joins_and_logs_in(staff_user, django_capture_on_commit_callbacks):
    operator = Client()
    operator.force_login(staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(
            "/platform/tenants/",
            {"name": "Northwind Care", "slug": "northwind", "admin_email": "Boss@Northwind.example", "admin_name": "Bo Ss"},
        )
    assert response.status_code == 302
    tenant = Tenant.objects.get(slug="northwind")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["boss@northwind.example"]
    assert "Northwind Care" in mail.outbox[0].subject
    assert mail.outbox[0].alternatives, "the invitation has an HTML part too"

    path = "/" + _link_from_last_email()
    invitee = Client()
    page = invitee.get(path)
    assert page.status_code == 200 and b"Tenant admin" in page.content
    weak = invitee.post(path, {"full_name": "Bo Ss", "password": "short", "password_confirm": "short"})
    assert weak.status_code == 400 and b"too short" in weak.content
    accepted = invitee.post(
        path, {"full_name": "Bo Ss", "password": "a-Long-passphrase-9", "password_confirm": "a-Long-passphrase-9"}
    )
    assert accepted.status_code == 302 and accepted["Location"] == "/t/northwind/"
    assert invitee.get("/t/northwind/").status_code == 200

    # The link is single-use.
    assert Client().get(path).status_code == 410

    client, response = _log_in("boss@northwind.example", "a-Long-passphrase-9")
    assert response.redirect_chain[-1][0] == "/t/northwind/"
    assert b"members" in response.content  # the tenant admin's home
    with tenant_context(tenant):
        membership = Membership.objects.get(user__email="boss@northwind.example")
        assert membership.role == Role.TENANT_ADMIN
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"tenant.created", "invitation.created", "invitation.accepted"} <= actions


def test_non_operator_cannot_create_tenants(world_a, client_for):
    admin = client_for(world_a.member("tenant_admin"))
    response = admin.post("/platform/tenants/", {"name": "X", "slug": "x", "admin_email": "a@x.example"})
    assert response.status_code == 403
    assert not Tenant.objects.filter(slug="x").exists()


def test_admin_invites_a_rep_into_a_team(world_a, client_for, django_capture_on_commit_callbacks):
    admin = client_for(world_a.member("tenant_admin"))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            f"/t/{world_a.tenant.slug}/people/",
            {"email": "new.rep@acme.example", "full_name": "New Rep", "role": "rep", "team": world_a.team.id},
        )
    assert response.status_code == 302
    path = "/" + _link_from_last_email()
    response = Client().post(path, {"full_name": "New Rep", "password": "Another-pass-42", "password_confirm": "Another-pass-42"})
    assert response.status_code == 302
    with tenant_context(world_a.tenant):
        membership = Membership.objects.get(user__email="new.rep@acme.example")
        assert list(membership.team_links.values_list("team__name", "kind")) == [(world_a.team.name, "member")]


def test_existing_user_joins_second_tenant_with_their_password_and_can_switch(world_a, world_b, django_capture_on_commit_callbacks):
    person = world_b.member("rep").user
    admin = Client()
    admin.force_login(world_a.member("tenant_admin").user)
    with django_capture_on_commit_callbacks(execute=True):
        admin.post("/t/acme/people/", {"email": person.email, "role": "manager", "team": world_a.team.id})
    path = "/" + _link_from_last_email()
    invitee = Client()
    assert b"already have a CoachHub account" in invitee.get(path).content
    wrong = invitee.post(path, {"password": "not-my-password"})
    assert wrong.status_code == 400
    assert invitee.post(path, {"password": PASSWORD}).status_code == 302
    assert User.objects.filter(email=person.email).count() == 1
    # Two workspaces now: the landing page is a switcher listing both.
    client, response = _log_in(person.email, PASSWORD)
    assert response.status_code == 200
    assert b"Acme Support" in response.content and b"Bolt Care" in response.content
    assert client.get("/t/acme/").status_code == 200 and client.get("/t/bolt/").status_code == 200


def test_expired_invitation_cannot_be_accepted_until_resent(world_a, client_for, django_capture_on_commit_callbacks):
    admin = client_for(world_a.member("tenant_admin"))
    with django_capture_on_commit_callbacks(execute=True):
        admin.post("/t/acme/people/", {"email": "late@acme.example", "role": "rep", "team": world_a.team.id})
    old_path = "/" + _link_from_last_email()
    with tenant_context(world_a.tenant):
        invitation = Invitation.objects.get(email="late@acme.example")
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = Client().get(old_path)
    assert response.status_code == 410 and b"expired" in response.content
    response = Client().post(old_path, {"password": "Whatever-pass-1", "password_confirm": "Whatever-pass-1"})
    assert response.status_code == 410
    assert not User.objects.filter(email="late@acme.example").exists()

    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(f"/t/acme/invitations/{invitation.id}/resend/").status_code == 302
    new_path = "/" + _link_from_last_email()
    assert new_path != old_path
    assert Client().get(old_path).status_code == 404  # the old link no longer exists
    assert Client().get(new_path).status_code == 200


def test_revoked_invitation_is_dead(world_a, client_for, django_capture_on_commit_callbacks):
    admin = client_for(world_a.member("tenant_admin"))
    with django_capture_on_commit_callbacks(execute=True):
        admin.post("/t/acme/people/", {"email": "gone@acme.example", "role": "rep", "team": world_a.team.id})
    path = "/" + _link_from_last_email()
    with tenant_context(world_a.tenant):
        invitation = Invitation.objects.get(email="gone@acme.example")
    admin.post(f"/t/acme/invitations/{invitation.id}/revoke/")
    assert Client().get(path).status_code == 410
    with tenant_context(world_a.tenant):
        assert AuditEvent.objects.filter(action="invitation.revoked").exists()


def test_invite_form_explains_errors(world_a, client_for):
    admin = client_for(world_a.member("tenant_admin"))
    response = admin.post("/t/acme/people/", {"email": world_a.member("rep").user.email, "role": "rep"})
    assert response.status_code == 400 and b"already a member" in response.content
    response = admin.post("/t/acme/people/", {"email": "not-an-email", "role": "rep"})
    assert response.status_code == 400 and b"valid email" in response.content


def test_password_reset_sends_a_working_link(world_a):
    user = world_a.member("rep").user
    response = Client().post("/accounts/password-reset/", {"email": user.email})
    assert response.status_code == 302 and len(mail.outbox) == 1
    path = re.search(r"/accounts/reset/\S+/", mail.outbox[0].body).group(0)
    client = Client()
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    response = client.post(form_page.redirect_chain[-1][0], {"new_password1": "Fresh-pass-2026", "new_password2": "Fresh-pass-2026"})
    assert response.status_code == 302
    _, response = _log_in(user.email, "Fresh-pass-2026")
    assert response.redirect_chain[-1][0] == "/t/acme/"


def test_login_rejects_bad_password_with_plain_message(world_a):
    _, response = _log_in(world_a.member("rep").user.email, "wrong password")
    assert response.status_code == 200 and b"don&#x27;t match an account" in response.content


def test_login_is_throttled(world_a, settings):
    settings.LOGIN_RATE = "3/m"
    cache.clear()
    email = world_a.member("rep").user.email
    statuses = [Client().post("/accounts/login/", {"username": email, "password": "nope"}).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and statuses[-1] == 429


def test_role_change_is_audited_and_last_admin_is_protected(world_a, client_for):
    admin_membership = world_a.member("tenant_admin")
    admin = client_for(admin_membership)
    rep = world_a.member("rep")
    assert admin.post(f"/t/acme/people/{rep.id}/", {"role": "manager"}).status_code == 302
    with tenant_context(world_a.tenant):
        rep.refresh_from_db()
        assert rep.role == "manager"
        event = AuditEvent.objects.get(action="member.role_changed")
        assert event.data == {"from": "rep", "to": "manager"} and event.actor == admin_membership.user
    response = admin.post(f"/t/acme/people/{admin_membership.id}/", {"role": "rep"}, follow=True)
    assert b"at least one admin" in response.content
    with tenant_context(world_a.tenant):
        admin_membership.refresh_from_db()
        assert admin_membership.role == "tenant_admin"
