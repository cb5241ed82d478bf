"""The OpenID Connect identity provider over the tenant API: admins read and set it with the same
rules as the Identity page (issuer checked, secret never returned, break-glass before enforcement);
other roles and other tenants can't."""

from __future__ import annotations

import pytest
from django.test import Client

from coachhub.core.crypto import decrypt_secret
from coachhub.identity.models import OidcProvider, SamlProvider
from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.models import Role

pytestmark = pytest.mark.django_db


def token_client(world, role=Role.TENANT_ADMIN) -> Client:
    membership = world.member(role)
    _, raw = tenancy_services.api_token_create(tenant=world.tenant, user=membership.user, name="ci")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def url_of(world) -> str:
    return f"/api/v1/t/{world.tenant.slug}/identity/oidc/"


def test_admin_sets_and_reads_oidc_over_the_api_and_the_secret_never_comes_back(world_a, settings):
    settings.IDENTITY_ALLOW_PRIVATE_ISSUERS = True  # the issuer below is on loopback
    api = token_client(world_a)
    before = api.get(url_of(world_a)).json()
    assert before["configured"] is False
    assert before["redirect_uri"] == f"http://testserver/sso/{world_a.tenant.slug}/oidc/callback/"
    admin_email = world_a.member(Role.TENANT_ADMIN).user.email
    saved = api.post(url_of(world_a), {
        "issuer": "http://127.0.0.1:9/realms/acme/", "client_id": "coachhub", "client_secret": "s3cret-value",
        "default_role": Role.MANAGER, "enforce_sso": True, "break_glass": [admin_email],
    }, content_type="application/json")
    assert saved.status_code == 200, saved.content
    body = saved.json()
    assert body["configured"] and body["enabled"] and body["issuer"] == "http://127.0.0.1:9/realms/acme"
    assert body["client_secret_set"] is True and "s3cret-value" not in saved.content.decode()
    assert body["default_role"] == Role.MANAGER and body["break_glass"] == [admin_email]
    row = OidcProvider.objects.for_tenant(world_a.tenant).get()
    assert row.enforce_sso and decrypt_secret(row.client_secret_encrypted) == "s3cret-value"

    # Saving again without a secret keeps the stored one.
    again = api.post(url_of(world_a), {"issuer": "http://127.0.0.1:9/realms/acme", "client_id": "coachhub-2"},
                     content_type="application/json")
    assert again.status_code == 200 and again.json()["client_id"] == "coachhub-2"
    row.refresh_from_db()
    assert decrypt_secret(row.client_secret_encrypted) == "s3cret-value"


def test_bad_settings_are_refused_with_the_reason_and_nothing_saved(world_a, settings):
    api = token_client(world_a)
    private = api.post(url_of(world_a), {"issuer": "http://127.0.0.1:9/", "client_id": "x"},
                       content_type="application/json")
    assert private.status_code == 400
    error = private.json()["error"]
    assert error["code"] == "invalid_oidc_settings" and "loopback" in error["fields"]["issuer"][0]
    settings.IDENTITY_ALLOW_PRIVATE_ISSUERS = True  # past the address check, to the other rules
    no_glass = api.post(url_of(world_a), {"issuer": "http://127.0.0.1:9", "client_id": "x", "enforce_sso": True},
                        content_type="application/json")
    assert no_glass.status_code == 400 and "break-glass" in no_glass.json()["error"]["message"]
    not_admin = api.post(url_of(world_a), {"issuer": "http://127.0.0.1:9", "client_id": "x",
                                           "break_glass": [world_a.member(Role.REP).user.email]},
                         content_type="application/json")
    assert not_admin.status_code == 400 and "not an active tenant admin" in not_admin.json()["error"]["message"]
    assert not OidcProvider.objects.for_tenant(world_a.tenant).exists()


def test_saving_oidc_turns_saml_off(world_a, settings):
    settings.IDENTITY_ALLOW_PRIVATE_ISSUERS = True
    SamlProvider.objects.for_tenant(world_a.tenant).create(
        tenant=world_a.tenant, idp_entity_id="https://idp.example.com", metadata_xml="<x/>", enabled=True,
    )
    saved = token_client(world_a).post(url_of(world_a), {"issuer": "http://127.0.0.1:9", "client_id": "c"},
                                       content_type="application/json")
    assert saved.status_code == 200
    assert SamlProvider.objects.for_tenant(world_a.tenant).get().enabled is False


def test_other_roles_and_tenants_cannot(world_a, world_b):
    assert token_client(world_a, Role.ENABLEMENT_LEAD).get(url_of(world_a)).status_code == 403
    outsider = token_client(world_b)
    assert outsider.get(url_of(world_a)).status_code == 404
    assert outsider.post(url_of(world_a), {"issuer": "https://login.example.com", "client_id": "x"},
                         content_type="application/json").status_code == 404
    assert not OidcProvider.objects.for_tenant(world_a.tenant).exists()
