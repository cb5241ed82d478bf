"""scim2-tester (the SCIM compliance checker from PyPI) run against the tenant's SCIM endpoint:
no check of what /ServiceProviderConfig declares may fail."""

from __future__ import annotations

import pytest
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import Status, check_server

pytestmark = pytest.mark.django_db


def test_scim2_tester_reports_no_failures(world_a, scim_token, wsgi_app):
    client = WSGISCIMClient(
        wsgi_app, base_url=f"http://testserver/scim/v2/t/{world_a.tenant.slug}",
        headers={"Authorization": f"Bearer {scim_token}"},
    )
    results = check_server(client)
    failures = [f"{r.title} [{r.resource_type}]: {r.reason}" for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
    print("\n".join(f"{r.status.name:8} {r.title} [{r.resource_type}] {r.reason}" for r in results))
    assert results, "the tester ran no checks"
    assert not failures, "\n".join(failures)
    passed = [r for r in results if r.status == Status.SUCCESS]
    assert len(passed) > 20
