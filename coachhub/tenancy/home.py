"""Registry of home-page sections, so each app adds what a role sees first without the tenancy
core importing it."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

# (roles, callable(request) -> dict with "template" and its context) registered by apps at import time.
_SECTIONS: list[tuple[frozenset[str], Callable[[HttpRequest], dict | None]]] = []


def register_section(roles: frozenset[str], build: Callable[[HttpRequest], dict | None]) -> None:
    _SECTIONS.append((roles, build))


def sections_for(request: HttpRequest) -> list[dict]:
    role = request.membership.role
    built = (build(request) for roles, build in _SECTIONS if role in roles)
    return [section for section in built if section]


# (order, label, url name, roles): links in the top navigation of tenant pages.
_NAV: list[tuple[int, str, str, frozenset[str]]] = []


def register_nav(*, label: str, url_name: str, roles: frozenset[str], order: int = 50) -> None:
    _NAV.append((order, label, url_name, roles))


def nav_for(membership) -> list[dict]:
    from django.urls import reverse

    slug = membership.tenant.slug
    return [
        {"label": label, "url": reverse(url_name, kwargs={"tenant_slug": slug})}
        for _, label, url_name, roles in sorted(_NAV, key=lambda item: item[0])
        if membership.role in roles
    ]
