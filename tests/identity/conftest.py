"""Fixtures for SCIM tests: a tenant's SCIM token and a SCIM client speaking to the WSGI app."""

from __future__ import annotations

import pytest
from django.core.handlers.wsgi import WSGIHandler

from coachhub.identity import services


@pytest.fixture
def scim_token(world_a):
    _, raw = services.scim_token_create(tenant=world_a.tenant, actor=world_a.member("tenant_admin").user, name="Okta")
    return raw


@pytest.fixture
def scim_token_b(world_b):
    _, raw = services.scim_token_create(tenant=world_b.tenant, actor=world_b.member("tenant_admin").user, name="Entra")
    return raw


@pytest.fixture
def scim(client, world_a, scim_token):
    """Sends SCIM requests for tenant A with its token: `scim("POST", "/Users", {...})`."""
    import json

    def call(method: str, path: str, body: dict | None = None, *, token: str | None = None, slug: str | None = None):
        url = f"/scim/v2/t/{slug or world_a.tenant.slug}{path}"
        headers = {"Authorization": f"Bearer {token or scim_token}"}
        data = json.dumps(body) if body is not None else None
        return client.generic(method, url, data=data or "", content_type="application/scim+json", headers=headers)

    return call


@pytest.fixture
def wsgi_app():
    """Django's WSGI application, called in-process. Like Django's test client, it must not close
    the test's database connection at the end of each request (that would end the test transaction)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
