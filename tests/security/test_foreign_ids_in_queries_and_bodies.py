"""The other tenant's ids planted in query strings and request bodies, under the member's own URL.

The route matrix already plants foreign ids in paths (and in bodies where the path carries ids);
this walks the routes that read ids from `?query` parameters or from bodies whose path has none.
Each gets refused or ignored: no 5xx, nothing of the other tenant shown, nothing written.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role, TeamMembership
from scenarios.models import Assignment
from sessions.models import PracticeSession
from tests.conftest import build_world
from tests.test_route_matrix import _assert_no_leak, _seed

pytestmark = pytest.mark.django_db


@pytest.fixture
def worlds():
    home, away = build_world("Acme Support", "acme"), build_world("Bolt Care", "bolt")
    _seed(home)
    _seed(away)
    return home, away


def _counts(*worlds) -> dict:
    counts = {}
    for world in worlds:
        with tenant_context(world.tenant):
            counts[world.tenant.slug] = (
                PracticeSession.objects.count(), Assignment.objects.count(), TeamMembership.objects.count(),
            )
    return counts


def _as(world, role: str) -> Client:
    client = Client()
    client.force_login(world.member(role).user)
    return client


QUERY_CASES = [
    # (role, url built from home and away worlds)
    (Role.ENABLEMENT_LEAD, lambda h, a: f"/t/acme/scenarios/{h.extra['scenario'].id}/?version={a.extra['version'].id}"),
    (Role.ENABLEMENT_LEAD, lambda h, a: f"/t/acme/scenarios/{h.extra['scenario'].id}/diff/"
                                        f"?a={a.extra['draft'].id}&b={a.extra['version'].id}"),
    (Role.ENABLEMENT_LEAD, lambda h, a: f"/t/acme/assignments/new/?scenario={a.extra['scenario'].id}"),
    (Role.ENABLEMENT_LEAD, lambda h, a: f"/api/v1/t/acme/scenario-versions/?scenario={a.extra['scenario'].id}"),
    (Role.ENABLEMENT_LEAD, lambda h, a: f"/api/v1/t/acme/scenario-versions/{h.extra['draft'].id}/diff/"
                                        f"?against={a.extra['version'].id}"),
    (Role.MANAGER, lambda h, a: f"/api/v1/t/acme/session-scores/?session={a.extra['scored_session'].id}"),
    (Role.MANAGER, lambda h, a: f"/api/v1/t/acme/turn-comments/?session={a.extra['scored_session'].id}"),
    (Role.REP, lambda h, a: f"/api/v1/t/acme/turn-comments/?session={a.extra['scored_session'].id}"),
]


@pytest.mark.parametrize("role,build", QUERY_CASES)
def test_foreign_ids_in_query_strings_show_nothing_of_the_other_tenant(worlds, role, build):
    home, away = worlds
    url = build(home, away)
    response = _as(home, role).get(url)
    assert response.status_code < 500, f"{url}: {response.status_code}"
    _assert_no_leak(response, away, url)
    if response.status_code == 200 and url.startswith("/api/") and "diff" not in url:
        payload = response.json()
        assert payload.get("results", payload) in ([], {}), f"{url} listed the other tenant's rows: {payload}"


BODY_CASES = [
    ("page", Role.ENABLEMENT_LEAD, "/t/acme/assignments/new/",
     lambda h, a: {"scenario": a.extra["scenario"].id, "teams": [a.team.id], "reps": [a.member(Role.REP).id]}),
    ("api", Role.ENABLEMENT_LEAD, "/api/v1/t/acme/assignments/",
     lambda h, a: {"scenario_id": a.extra["scenario"].id, "team_ids": [a.team.id]}),
    ("api", Role.ENABLEMENT_LEAD, "/api/v1/t/acme/assignments/",
     lambda h, a: {"scenario_id": h.extra["scenario"].id, "rep_ids": [a.member(Role.REP).id]}),
    ("api", Role.REP, "/api/v1/t/acme/sessions/", lambda h, a: {"version_id": a.extra["version"].id}),
    ("page", Role.TENANT_ADMIN, None,
     lambda h, a: {"membership": a.loner.id, "kind": "member", "present": "on"}),
]


@pytest.mark.parametrize("kind,role,url,build", BODY_CASES)
def test_foreign_ids_in_bodies_are_refused_and_write_nothing(worlds, kind, role, url, build):
    home, away = worlds
    url = url or f"/t/acme/teams/{home.team.id}/people/"
    before = _counts(home, away)
    client = _as(home, role)
    body = build(home, away)
    if kind == "api":
        response = client.post(url, data=json.dumps(body), content_type="application/json")
        assert response.status_code in (400, 404), f"{url}: {response.status_code} {response.content[:300]}"
    else:
        response = client.post(url, data=body)
        assert response.status_code in (200, 302, 400, 404), f"{url}: {response.status_code}"
    _assert_no_leak(response, away, url)
    assert _counts(home, away) == before, f"{url} wrote something with the other tenant's ids"
