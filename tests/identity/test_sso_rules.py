"""The rules around single sign-on that hold whatever the identity provider says: only verified
domains route, a tenant's IdP can't sign in another organisation's people or anyone another
workspace also has, and just-in-time provisioning is the tenant's choice."""

from __future__ import annotations

import pytest
from django.utils import timezone

from coachhub.identity import services
from coachhub.identity.models import SsoDomain
from coachhub.identity.services import ScimError, SsoRefused
from coachhub.tenancy.models import Membership, Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(world_a, settings):
    settings.IDENTITY_ALLOW_PRIVATE_ISSUERS = True
    admin = world_a.member(Role.TENANT_ADMIN).user
    row = services.oidc_provider_save(tenant=world_a.tenant, actor=admin, issuer="http://127.0.0.1:9/", client_id="c",
                                      client_secret="s", default_role=Role.MANAGER, jit_enabled=True)
    domain = services.sso_domain_add(tenant=world_a.tenant, actor=admin, domain="Acme.Example")
    SsoDomain.objects.for_tenant(world_a.tenant).filter(pk=domain.pk).update(verified_at=timezone.now())
    return row


def identity(email: str, verified: bool = True) -> dict:
    return {"sub": email, "email": email, "email_verified": verified, "name": "Pat Doe"}


def test_only_a_verified_domain_routes_to_the_provider(client, provider, world_a):
    routed = client.get("/sso/discover/?email=pat@acme.example")
    assert routed.status_code == 200 and f"/sso/{world_a.tenant.slug}/oidc/start/" in routed.content.decode()
    services.sso_domain_add(tenant=world_a.tenant, actor=None, domain="pending.example")
    unrouted = client.get("/sso/discover/?email=pat@pending.example")
    assert unrouted.status_code == 302 and unrouted["Location"].startswith("/accounts/login/")


def test_first_sign_in_provisions_with_the_default_role(provider, world_a):
    user = services.oidc_sign_in(tenant=world_a.tenant, provider=provider, identity=identity("pat@acme.example"))
    assert Membership.objects.for_tenant(world_a.tenant).get(user=user).role == Role.MANAGER


def test_refusals_name_the_reason(provider, world_a, world_b):
    with pytest.raises(SsoRefused, match="not verified"):
        services.oidc_sign_in(tenant=world_a.tenant, provider=provider, identity=identity("pat@acme.example", False))
    # Tenant A's IdP asserting an address of a domain A hasn't verified.
    with pytest.raises(SsoRefused, match="not a verified domain"):
        services.oidc_sign_in(tenant=world_a.tenant, provider=provider, identity=identity("ceo@bolt.example"))
    # A person tenant B also has: A's IdP must not create a session that reaches B.
    shared = UserFactory(email="shared@acme.example")
    MembershipFactory(tenant=world_b.tenant, user=shared)
    with pytest.raises(SsoRefused, match="another workspace"):
        services.oidc_sign_in(tenant=world_a.tenant, provider=provider, identity=identity("shared@acme.example"))


def test_without_jit_only_members_get_in(provider, world_a):
    provider.jit_enabled = False
    provider.save()
    with pytest.raises(SsoRefused, match="not a member"):
        services.oidc_sign_in(tenant=world_a.tenant, provider=provider, identity=identity("new@acme.example"))


def test_a_private_issuer_is_refused_unless_the_operator_allows_it(world_a, settings):
    settings.IDENTITY_ALLOW_PRIVATE_ISSUERS = False
    with pytest.raises(ScimError):
        services.oidc_provider_save(tenant=world_a.tenant, actor=None, issuer="http://127.0.0.1:9", client_id="c",
                                    client_secret="", default_role=Role.REP, jit_enabled=True)


def test_a_stale_callback_is_refused(client, provider, world_a):
    response = client.get(f"/sso/{world_a.tenant.slug}/oidc/callback/?code=x&state=forged")
    assert response.status_code == 400 and "stale" in response.content.decode()


def _enforce(world, provider, break_glass):
    services.oidc_provider_save(
        tenant=world.tenant, actor=world.member(Role.TENANT_ADMIN).user, issuer=provider.issuer, client_id="c",
        client_secret="", default_role=Role.REP, jit_enabled=True, enforce_sso=True, break_glass=break_glass,
    )


def test_enforced_sso_refuses_passwords_except_for_break_glass_admins(client, provider, world_a, world_b):
    from coachhub.tenancy.models import AuditEvent

    admin = world_a.member(Role.TENANT_ADMIN)
    rep = world_a.member(Role.REP)
    for membership in (admin, rep):
        membership.user.set_password("a-Long-passphrase-9")
        membership.user.save()
    with pytest.raises(ScimError, match="break-glass"):
        _enforce(world_a, provider, [])
    _enforce(world_a, provider, [admin])
    refused = client.post("/accounts/login/", {"username": rep.user.email, "password": "a-Long-passphrase-9"})
    assert refused.status_code == 200 and "requires single sign-on" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.for_tenant(world_a.tenant).filter(action="sso.password_refused").exists()
    # A wrong password still gets the ordinary message (enforcement isn't revealed to guessers).
    wrong = client.post("/accounts/login/", {"username": rep.user.email, "password": "nope-nope-nope"})
    assert "requires single sign-on" not in wrong.content.decode()
    allowed = client.post("/accounts/login/", {"username": admin.user.email, "password": "a-Long-passphrase-9"})
    assert allowed.status_code == 302
    # Tenant B enforces nothing: its people sign in with passwords as before.
    b_rep = world_b.member(Role.REP)
    b_rep.user.set_password("a-Long-passphrase-9")
    b_rep.user.save()
    from django.test import Client

    assert Client().post("/accounts/login/", {"username": b_rep.user.email, "password": "a-Long-passphrase-9"}).status_code == 302


def test_admin_page_sets_enforcement_with_a_break_glass_admin(client_for, provider, world_a):
    admin = world_a.member(Role.TENANT_ADMIN)
    page = client_for(admin)
    url = f"/t/{world_a.tenant.slug}/settings/identity/"
    form = {"action": "oidc", "issuer": provider.issuer, "client_id": "c", "default_role": Role.REP, "jit_enabled": "on",
            "enforce_sso": "on"}
    refused = page.post(url, form)
    assert refused.status_code == 200 and "break-glass admin" in refused.content.decode()
    saved = page.post(url, {**form, "break_glass": [str(admin.pk)]})
    assert saved.status_code == 302
    provider.refresh_from_db()
    assert provider.enforce_sso


def test_idp_groups_set_role_and_teams(provider, world_a):
    from coachhub.tenancy.models import TeamMembership

    with pytest.raises(ScimError, match="no team “Nope”"):
        services.group_mappings_replace(tenant=world_a.tenant, actor=None, text="x: team Nope")
    with pytest.raises(ScimError, match="neither a role"):
        services.group_mappings_replace(tenant=world_a.tenant, actor=None, text="x: wizard")
    services.group_mappings_replace(tenant=world_a.tenant, actor=None,
                                    text=f"cs-leads: Enablement lead\ntier-2: team {world_a.team.name}")
    user = services.oidc_sign_in(tenant=world_a.tenant, provider=provider,
                                 identity={**identity("lee@acme.example"), "groups": ["CS-Leads", "tier-2"]})
    membership = Membership.objects.for_tenant(world_a.tenant).get(user=user)
    assert membership.role == Role.ENABLEMENT_LEAD  # the mapped role wins over the default (manager)
    assert TeamMembership.objects.for_tenant(world_a.tenant).filter(membership=membership, team=world_a.team).exists()
    # The mapping is applied at every sign-in: with other groups, the role follows them.
    services.group_mappings_replace(tenant=world_a.tenant, actor=None, text="cs-managers: manager")
    services.oidc_sign_in(tenant=world_a.tenant, provider=provider,
                          identity={**identity("lee@acme.example"), "groups": ["cs-managers"]})
    membership.refresh_from_db()
    assert membership.role == Role.MANAGER
