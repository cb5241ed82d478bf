"""The tenant admin's identity page: SCIM tokens are shown once, stored hashed, and revocable."""

from __future__ import annotations

import re

import pytest

from coachhub.identity.models import ScimToken
from coachhub.tenancy.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_admin_creates_uses_and_revokes_a_scim_token(client_for, world_a, client):
    admin = client_for(world_a.member("tenant_admin"))
    url = f"/t/{world_a.tenant.slug}/settings/identity/"
    page = admin.get(url)
    assert page.status_code == 200 and f"/scim/v2/t/{world_a.tenant.slug}/" in page.content.decode()
    created = admin.post(url, {"action": "scim", "name": "Okta"})
    raw = re.search(r"(scim_[A-Za-z0-9_\-]{20,})", created.content.decode()).group(1)
    stored = ScimToken.objects.for_tenant(world_a.tenant).get(name="Okta")
    assert raw not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64
    scim_url = f"/scim/v2/t/{world_a.tenant.slug}/Users"
    assert client.get(scim_url, headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    # Shown once: the page no longer carries it.
    assert raw not in admin.get(url).content.decode()
    admin.post(url, {"revoke": str(stored.pk)})
    assert client.get(scim_url, headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    actions = set(AuditEvent.objects.for_tenant(world_a.tenant).values_list("action", flat=True))
    assert {"scim_token.created", "scim_token.revoked"} <= actions


def test_a_token_needs_a_name(client_for, world_a):
    admin = client_for(world_a.member("tenant_admin"))
    response = admin.post(f"/t/{world_a.tenant.slug}/settings/identity/", {"action": "scim", "name": "  "})
    assert response.status_code == 200 and "required" in response.content.decode().lower()
    assert not ScimToken.objects.for_tenant(world_a.tenant).exists()


def test_another_tenants_admin_cannot_revoke_the_token(client_for, world_a, world_b, scim_token):
    token = ScimToken.objects.for_tenant(world_a.tenant).get()
    other_admin = client_for(world_b.member("tenant_admin"))
    other_admin.post(f"/t/{world_b.tenant.slug}/settings/identity/", {"revoke": str(token.pk)})
    token.refresh_from_db()
    assert token.revoked_at is None
