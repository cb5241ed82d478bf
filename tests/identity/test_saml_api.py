"""The SAML identity provider over the tenant API: admins read and set it with the same rules as the
Identity page; other roles and other tenants can't."""

from __future__ import annotations

import pytest
from django.test import Client

from coachhub.identity.models import SamlProvider
from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.models import Role
from tests.identity.saml_peer import SamlIdp

pytestmark = pytest.mark.django_db


def token_client(world, role=Role.TENANT_ADMIN) -> Client:
    membership = world.member(role)
    _, raw = tenancy_services.api_token_create(tenant=world.tenant, user=membership.user, name="ci")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def peer():
    idp = SamlIdp()
    yield idp
    idp.close()


def test_admin_sets_and_reads_saml_over_the_api(world_a, peer):
    api = token_client(world_a)
    url = f"/api/v1/t/{world_a.tenant.slug}/identity/saml/"
    before = api.get(url).json()
    assert before["configured"] is False
    assert before["acs_url"] == f"http://testserver/sso/{world_a.tenant.slug}/saml/acs/"
    admin_email = world_a.member(Role.TENANT_ADMIN).user.email
    saved = api.post(url, {"metadata_xml": peer.metadata_xml, "default_role": Role.MANAGER, "enforce_sso": True,
                           "break_glass": [admin_email]}, content_type="application/json")
    assert saved.status_code == 200, saved.content
    body = saved.json()
    assert body["configured"] and body["enabled"] and body["idp_entity_id"] == peer.entity_id
    assert body["default_role"] == Role.MANAGER and body["break_glass"] == [admin_email]
    assert SamlProvider.objects.for_tenant(world_a.tenant).get().enforce_sso


def test_bad_settings_are_refused_with_the_reason(world_a, peer):
    api = token_client(world_a)
    url = f"/api/v1/t/{world_a.tenant.slug}/identity/saml/"
    bad = api.post(url, {"metadata_xml": "<x/>"}, content_type="application/json")
    assert bad.status_code == 400 and "describes no identity provider" in bad.json()["error"]["message"]
    no_glass = api.post(url, {"metadata_xml": peer.metadata_xml, "enforce_sso": True}, content_type="application/json")
    assert no_glass.status_code == 400 and "break-glass" in no_glass.json()["error"]["message"]
    not_admin = api.post(url, {"metadata_xml": peer.metadata_xml, "break_glass": [world_a.member(Role.REP).user.email]},
                         content_type="application/json")
    assert not_admin.status_code == 400 and "not an active tenant admin" in not_admin.json()["error"]["message"]
    assert not SamlProvider.objects.for_tenant(world_a.tenant).exists()


def test_other_roles_and_tenants_cannot(world_a, world_b, peer):
    url = f"/api/v1/t/{world_a.tenant.slug}/identity/saml/"
    assert token_client(world_a, Role.ENABLEMENT_LEAD).get(url).status_code == 403
    outsider = token_client(world_b)
    assert outsider.get(url).status_code == 404
    assert outsider.post(url, {"metadata_xml": peer.metadata_xml}, content_type="application/json").status_code == 404
    assert not SamlProvider.objects.for_tenant(world_a.tenant).exists()
