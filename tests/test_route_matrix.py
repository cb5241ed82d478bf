"""Cross-tenant matrix: every resolved route × every role of two tenants × anonymous.

Walks the URL conf, so a new route is either classified in tests/matrix.py or fails here. Checks
the status each role gets, that outsiders get 404 (never 403), that foreign ids planted under a
tenant's own slug are 404, and that no response ever shows the other tenant's data.
"""

from __future__ import annotations

import json
import warnings
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from coachhub.tenancy import services
from coachhub.tenancy.models import Role
from tests.conftest import ROLES, World, build_world
from tests.matrix import (
    ADMIN_SITE,
    GLOBAL,
    GLOBAL_API,
    PLATFORM,
    PLATFORM_API,
    PUBLIC,
    ROUTES,
    SEEDERS,
    TENANT_API,
    TENANT_KINDS,
    Route,
)


def _walk(patterns, namespace: str = "") -> list[str]:
    names = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            names.extend(_walk(entry.url_patterns, ns))
        elif isinstance(entry, URLPattern):
            names.append(f"{namespace}{entry.name}" if entry.name else f"{namespace}<unnamed {entry.pattern}>")
    return names


ALL_ROUTE_NAMES = sorted(set(_walk(get_resolver().url_patterns)))


def test_every_route_is_classified():
    unclassified = [name for name in ALL_ROUTE_NAMES if name not in ROUTES and not name.startswith("admin:")]
    assert not unclassified, f"Classify these routes in tests/matrix.py: {unclassified}"
    stale = [name for name in ROUTES if name not in ALL_ROUTE_NAMES]
    assert not stale, f"tests/matrix.py classifies routes that no longer exist: {stale}"


def _seed(world: World) -> None:
    """Objects routes point at, all inside the world's own tenant."""
    admin = world.member(Role.TENANT_ADMIN).user
    invitation, _ = services.invitation_create(
        tenant=world.tenant, actor=admin, email=f"pending@{world.tenant.slug}.example", role=Role.REP, team=world.team
    )
    world.extra["invitation"] = invitation
    for seeder in SEEDERS:
        seeder(world)


def _markers(world: World) -> list[str]:
    """Strings that belong to this world only: none may show up in the other tenant's responses."""
    members = [*world.members.values(), world.rep2, world.loner]
    return [world.tenant.name, world.team.name, *(m.user.email for m in members), f"pending@{world.tenant.slug}.example"]


def _request(client: Client, route: Route, url: str, world: World):
    data = route.data(world) if route.data else {}
    if route.method == "GET":
        return client.get(url)
    if route.kind in (TENANT_API, GLOBAL_API, PLATFORM_API):
        return client.generic(route.method, url, data=json.dumps(data), content_type="application/json")
    return client.generic(route.method, url, data=urlencode(data),
                          content_type="application/x-www-form-urlencoded")


def _url(name: str, route: Route, world: World, *, slug: str | None = None) -> str:
    kwargs = dict(route.kwargs(world))
    if route.kind in TENANT_KINDS:
        kwargs["tenant_slug"] = slug or world.tenant.slug
    return reverse(name, kwargs=kwargs or None)


def _body(response) -> str:
    if getattr(response, "streaming", False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an async stream read by the sync test client
            response._matrix_body = getattr(response, "_matrix_body", None) or b"".join(response)
        return response._matrix_body.decode("utf-8", errors="replace")
    return response.content.decode("utf-8", errors="replace")


def _assert_no_leak(response, other: World, context: str) -> None:
    body = _body(response)
    for marker in _markers(other):
        assert marker not in body, f"{context}: response shows {marker!r} of tenant {other.tenant.slug}"


@pytest.mark.django_db
@pytest.mark.parametrize("name", [n for n in ALL_ROUTE_NAMES if n in ROUTES])
def test_route_matrix(name, staff_user):
    route = ROUTES[name]
    world_a = build_world("Acme Support", "acme")
    world_b = build_world("Bolt Care", "bolt")
    _seed(world_a)
    _seed(world_b)

    # Anonymous.
    anon = Client()
    response = _request(anon, route, _url(name, route, world_a), world_a)
    expected_anon = route.anon
    if expected_anon is None:
        expected_anon = 401 if route.kind == TENANT_API else 302
    assert response.status_code == expected_anon, f"anonymous {route.method} {name}: {response.status_code}"
    if route.kind in (TENANT_KINDS - {TENANT_API}) | {GLOBAL, PLATFORM}:
        assert "/accounts/login/" in response["Location"]
    if route.kind in TENANT_KINDS:
        _assert_no_leak(response, world_a, f"anonymous {name}")

    for home, away in ((world_a, world_b), (world_b, world_a)):
        for role in ROLES:
            member = home.member(role)
            client = Client()
            client.force_login(member.user)

            if route.kind in TENANT_KINDS:
                # Own tenant: the role's expected status, and nothing of the other tenant.
                response = _request(client, route, _url(name, route, home), home)
                assert response.status_code == route.expect[role], (
                    f"{role} of {home.tenant.slug} {route.method} {name}: {response.status_code}"
                )
                _assert_no_leak(response, away, f"{role} of {home.tenant.slug} on {name}")
                # The other tenant's URL: 404, never 403.
                response = _request(client, route, _url(name, route, away), away)
                assert response.status_code == 404, (
                    f"{role} of {home.tenant.slug} on {away.tenant.slug}'s {name}: {response.status_code}"
                )
                _assert_no_leak(response, away, f"outsider on {name}")
                if route.has_object_ids:
                    # The other tenant's ids planted under the member's own slug: 404 like a missing
                    # object, unless this role is refused before any lookup (403/405).
                    response = _request(client, route, _url(name, route, away, slug=home.tenant.slug), away)
                    refused_early = route.expect[role] in (403, 405)
                    expected = route.expect[role] if refused_early else 404
                    assert response.status_code == expected, (
                        f"{role} of {home.tenant.slug}: foreign ids in {name}: {response.status_code}"
                    )
                    _assert_no_leak(response, away, f"foreign ids on {name}")
            elif route.kind in (GLOBAL, GLOBAL_API, PUBLIC):
                response = _request(client, route, _url(name, route, home), home)
                assert response.status_code < 500
                if route.kind != PUBLIC:
                    assert response.status_code in (200, 302)
                _assert_no_leak(response, away, f"{role} of {home.tenant.slug} on {name}")
            elif route.kind in (PLATFORM, PLATFORM_API, ADMIN_SITE):
                response = _request(client, route, _url(name, route, home), home)
                assert response.status_code in (302, 403), f"non-staff {role} on {name}: {response.status_code}"

    if route.kind in (PLATFORM, PLATFORM_API):
        staff = Client()
        staff.force_login(staff_user)
        response = _request(staff, route, _url(name, route, world_a), world_a)
        assert response.status_code in (200, 400), f"platform operator on {name}: {response.status_code}"


@pytest.mark.django_db
def test_admin_site_is_staff_only(world_a, client_for, staff_user):
    assert Client().get("/admin/").status_code == 302
    for role in ROLES:
        response = client_for(world_a.member(role)).get("/admin/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    superuser = staff_user
    superuser.is_superuser = True
    superuser.save()
    staff = Client()
    staff.force_login(superuser)
    assert staff.get("/admin/tenancy/membership/").status_code == 200


def test_admin_routes_are_only_the_django_admin():
    names = [n for n in ALL_ROUTE_NAMES if n.startswith("admin:")]
    assert names and all(reverse("admin:index") == "/admin/" for _ in names[:1])
    assert ADMIN_SITE  # admin routes are classified wholesale as the staff-only Django admin
