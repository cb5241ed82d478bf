"""The e-mail-first login: the login page asks for the work e-mail first; a verified SSO domain goes
to its workspace's identity provider (or, when several workspaces verified it, to a choice), any
other address to the password step with the address filled in."""

from __future__ import annotations

import html

import pytest
from django.utils import timezone

from coachhub.identity import services
from coachhub.identity.models import SsoDomain
from coachhub.tenancy.models import Role
from tests.identity.saml_peer import SamlIdp

pytestmark = pytest.mark.django_db


@pytest.fixture
def peer():
    idp = SamlIdp()
    yield idp
    idp.close()


def _saml_for(world, peer, domain: str) -> None:
    services.saml_provider_save(tenant=world.tenant, actor=None, metadata_xml=peer.metadata_xml)
    row = services.sso_domain_add(tenant=world.tenant, actor=None, domain=domain)
    SsoDomain.objects.for_tenant(world.tenant).filter(pk=row.pk).update(verified_at=timezone.now())


def test_the_login_page_asks_for_the_email_first(client):
    page = client.get("/accounts/login/").content.decode()
    assert page.index('action="/sso/discover/"') < page.index('method="post"')


def test_an_address_without_sso_goes_to_the_password_step_filled_in(client):
    routed = client.get("/sso/discover/?email=Pat@Gmail.example&next=/t/acme/")
    assert routed.status_code == 302
    step = client.get(routed["Location"])
    body = html.unescape(step.content.decode())
    assert 'value="pat@gmail.example"' in body and 'type="password"' in body
    assert 'action="/sso/discover/"' not in body  # the e-mail step is behind us
    assert 'name="next" value="/t/acme/"' in body


def test_a_verified_saml_domain_goes_to_its_identity_provider(client, world_a, peer):
    _saml_for(world_a, peer, "acme.example")
    page = client.get("/sso/discover/?email=ada@acme.example").content.decode()
    assert f"/sso/{world_a.tenant.slug}/saml/start/" in page


def test_a_domain_two_workspaces_verified_offers_the_choice(client, world_a, world_b, peer, settings):
    _saml_for(world_a, peer, "acme.example")
    settings.IDENTITY_ALLOW_PRIVATE_ISSUERS = True
    services.oidc_provider_save(tenant=world_b.tenant, actor=None, issuer="http://127.0.0.1:9", client_id="c",
                                client_secret="s", default_role=Role.REP, jit_enabled=True)
    row = services.sso_domain_add(tenant=world_b.tenant, actor=None, domain="acme.example")
    services.sso_domain_approve(domain=row, operator=None)
    page = html.unescape(client.get("/sso/discover/?email=ada@acme.example").content.decode())
    assert "Choose your workspace" in page
    assert world_a.tenant.name in page and f"/sso/{world_a.tenant.slug}/saml/start/" in page
    assert world_b.tenant.name in page and f"/sso/{world_b.tenant.slug}/oidc/start/" in page
    assert "/accounts/login/?email=ada%40acme.example" in page  # a password remains possible where allowed


def test_a_refused_password_offers_single_sign_on_for_that_address(client, world_a, peer):
    _saml_for(world_a, peer, "acme.example")
    admin, rep = world_a.member(Role.TENANT_ADMIN), world_a.member(Role.REP)
    services.saml_provider_save(tenant=world_a.tenant, actor=None, enforce_sso=True, break_glass=[admin])
    rep.user.set_password("a-Long-passphrase-9")
    rep.user.save()
    refused = client.post("/accounts/login/", {"username": rep.user.email, "password": "a-Long-passphrase-9"})
    body = refused.content.decode()
    assert "requires single sign-on" in body
    assert f'id="sso-email" type="email" name="email" autocomplete="email" required value="{rep.user.email}"' in body


def test_the_password_step_of_an_sso_domain_points_back_to_single_sign_on(client, world_a, peer):
    _saml_for(world_a, peer, "acme.example")
    body = html.unescape(client.get("/accounts/login/?email=rep@acme.example&method=password").content.decode())
    assert f"{world_a.tenant.name} signs your organisation in with single sign-on" in body
    assert "/sso/discover/?email=rep%40acme.example" in body and "break-glass administrator" in body
    plain = client.get("/accounts/login/?email=pat@gmail.example").content.decode()
    assert "single sign-on" not in plain
