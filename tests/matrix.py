"""The route registry behind the cross-tenant matrix.

Every URL pattern must be classified here by name; an unclassified route fails the matrix, so a
new endpoint can't slip past. Each entry says what kind of route it is, how to build its URL
arguments from a tenant's objects, and the status each role of the URL's own tenant gets.
Outsiders (members of another tenant) always get 404; anonymous users get the login page (pages)
or 401 (API).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from coachhub.tenancy.models import Role

REP, MANAGER, LEAD, ADMIN = Role.REP, Role.MANAGER, Role.ENABLEMENT_LEAD, Role.TENANT_ADMIN

PUBLIC = "public"  # no login needed
GLOBAL = "global"  # any logged-in person, no tenant in the URL
GLOBAL_API = "global_api"
PLATFORM = "platform"  # platform operators only
PLATFORM_API = "platform_api"
ADMIN_SITE = "admin_site"  # Django admin: staff only
TENANT_PAGE = "tenant_page"
TENANT_API = "tenant_api"

TENANT_KINDS = {TENANT_PAGE, TENANT_API}


def everyone(status: int) -> dict[str, int]:
    return {REP: status, MANAGER: status, LEAD: status, ADMIN: status}


def only(roles: set[str], status: int = 200, others: int = 403) -> dict[str, int]:
    return {role: (status if role in roles else others) for role in (REP, MANAGER, LEAD, ADMIN)}


@dataclass
class Route:
    kind: str
    expect: dict[str, int] = field(default_factory=dict)  # role -> status, for members of the URL's tenant
    method: str = "GET"
    kwargs: Callable[[Any], dict] = lambda world: {}
    data: Callable[[Any], dict] | None = None
    anon: int | None = None  # override of the anonymous status
    # True when kwargs carry object ids, so the matrix also plants them under the other tenant's slug.
    has_object_ids: bool = False
    content_type: str | None = None


def _obj(fn: Callable[[Any], dict]) -> dict:
    return {"kwargs": fn, "has_object_ids": True}


def _scim_route(extra: dict) -> Route:
    return Route(PUBLIC, anon=401, kwargs=lambda w: {"scim_tenant": w.tenant.slug, **extra})


ROUTES: dict[str, Route] = {
    # --- public and global -----------------------------------------------------------------
    "home": Route(GLOBAL, anon=302),
    "healthz": Route(PUBLIC, anon=200),
    "login": Route(PUBLIC, anon=200),
    "logout": Route(PUBLIC, method="POST", anon=302),
    "password_reset": Route(PUBLIC, anon=200),
    "password_reset_done": Route(PUBLIC, anon=200),
    "password_reset_confirm": Route(PUBLIC, anon=200, kwargs=lambda w: {"uidb64": "MQ", "token": "bad-token"}),
    "password_reset_complete": Route(PUBLIC, anon=200),
    "invitation_accept": Route(PUBLIC, anon=404, kwargs=lambda w: {"token": "not-a-real-token"}),
    "api-schema": Route(PUBLIC, anon=200),
    "api-docs": Route(PUBLIC, anon=200),
    "api-redoc": Route(PUBLIC, anon=200),
    "api-me": Route(GLOBAL_API, anon=401),
    "platform_tenants": Route(PLATFORM, anon=302),
    "api-platform-tenants": Route(PLATFORM_API, method="POST", anon=401, data=lambda w: {}),
    # --- SCIM 2.0 (bearer token of the URL's tenant only; sessions count for nothing: 401) -----
    **{
        name: _scim_route(extra)
        for name, extra in [
            ("scim_root", {}),
            ("scim_service_provider_config", {}),
            ("scim_schemas", {}),
            ("scim_schema", {"schema_id": "urn:ietf:params:scim:schemas:core:2.0:User"}),
            ("scim_resource_types", {}),
            ("scim_resource_type", {"type_id": "User"}),
            ("scim_users", {}),
            ("scim_user", {"scim_id": "00000000-0000-0000-0000-000000000000"}),
            ("scim_groups", {}),
            ("scim_group", {"scim_id": "00000000-0000-0000-0000-000000000000"}),
            ("scim_not_found", {"rest": "Nothing"}),
        ]
    },
    # --- single sign-on (anonymous: the tenant comes from a verified e-mail domain or the URL) ----
    "sso_discover": Route(PUBLIC, anon=302),
    "sso_oidc_start": Route(PUBLIC, anon=404, kwargs=lambda w: {"sso_tenant": w.tenant.slug}),
    "sso_oidc_callback": Route(PUBLIC, anon=404, kwargs=lambda w: {"sso_tenant": w.tenant.slug}),
    # SAML: the SP metadata is public for any active workspace; start and ACS 404 until SAML is set up.
    "sso_saml_metadata": Route(PUBLIC, anon=200, kwargs=lambda w: {"sso_tenant": w.tenant.slug}),
    "sso_saml_start": Route(PUBLIC, anon=404, kwargs=lambda w: {"sso_tenant": w.tenant.slug}),
    "sso_saml_acs": Route(PUBLIC, anon=404, method="POST", kwargs=lambda w: {"sso_tenant": w.tenant.slug},
                          data=lambda w: {"SAMLResponse": "not-a-response"}),
    # --- tenant pages ----------------------------------------------------------------------
    "tenant_home": Route(TENANT_PAGE, everyone(200)),
    "people": Route(TENANT_PAGE, only({ADMIN})),
    "people_import": Route(TENANT_PAGE, only({ADMIN})),
    "member_detail": Route(TENANT_PAGE, only({ADMIN}), **_obj(lambda w: {"membership_id": w.loner.id})),
    "invitation_resend": Route(
        TENANT_PAGE, only({ADMIN}, 302), method="POST", **_obj(lambda w: {"invitation_id": w.extra["invitation"].id})
    ),
    "invitation_revoke": Route(
        TENANT_PAGE, only({ADMIN}, 302), method="POST", **_obj(lambda w: {"invitation_id": w.extra["invitation"].id})
    ),
    "teams": Route(TENANT_PAGE, only({ADMIN})),
    "team_link": Route(
        TENANT_PAGE, only({ADMIN}, 302), method="POST", **_obj(lambda w: {"team_id": w.team.id}),
        data=lambda w: {"membership": w.loner.id, "kind": "member", "present": "on"},
    ),
    "audit_log": Route(TENANT_PAGE, only({ADMIN})),
    "api_tokens": Route(TENANT_PAGE, everyone(200)),
    "identity_settings": Route(TENANT_PAGE, only({ADMIN})),
    "ai_settings": Route(TENANT_PAGE, only({ADMIN})),
    # --- tenant API ------------------------------------------------------------------------
    "api-member-list": Route(TENANT_API, everyone(200)),
    "api-member-detail": Route(
        TENANT_API, {REP: 404, MANAGER: 404, LEAD: 200, ADMIN: 200}, **_obj(lambda w: {"pk": w.loner.id})
    ),
    "api-member-import-csv": Route(TENANT_API, everyone(405)),
    "api-identity-oidc": Route(TENANT_API, only({ADMIN})),
    "api-identity-saml": Route(TENANT_API, only({ADMIN})),
    "api-team-list": Route(TENANT_API, only({MANAGER, LEAD, ADMIN})),
    "api-team-detail": Route(TENANT_API, only({MANAGER, LEAD, ADMIN}), **_obj(lambda w: {"pk": w.team.id})),
    "api-team-people": Route(
        TENANT_API, only({ADMIN}), method="POST", **_obj(lambda w: {"pk": w.team.id}),
        data=lambda w: {"membership_id": w.loner.id, "kind": "member"},
    ),
    "api-invitation-list": Route(TENANT_API, only({ADMIN})),
    "api-invitation-detail": Route(
        TENANT_API, only({ADMIN}), **_obj(lambda w: {"pk": w.extra["invitation"].id})
    ),
    "api-invitation-resend": Route(
        TENANT_API, only({ADMIN}), method="POST", **_obj(lambda w: {"pk": w.extra["invitation"].id})
    ),
    "api-invitation-revoke": Route(
        TENANT_API, only({ADMIN}), method="POST", **_obj(lambda w: {"pk": w.extra["invitation"].id})
    ),
    "api-audit-event-list": Route(TENANT_API, only({ADMIN})),
    "api-token-list": Route(TENANT_API, everyone(200)),
    "api-token-detail": Route(TENANT_API, everyone(405), kwargs=lambda w: {"pk": 1}),
}



# Each app's routes live beside its tests (tests/<app>/routes.py): a ROUTES dict and an optional
# seed(world) that creates the objects those routes point at, inside the world's own tenant.
APP_ROUTE_MODULES = (
    "tests.tenancy.routes",
    "tests.scenarios.routes",
    "tests.sessions.routes",
    "tests.scoring.routes",
    "tests.reports.routes",
    "tests.reports.routes_dashboards",
    "tests.reports.routes_helpdesk_pulls",
    "tests.programs.routes",
)
SEEDERS: list[Callable[[Any], None]] = []


def _merge_app_routes() -> None:
    import importlib

    for module_name in APP_ROUTE_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        for name, route in module.ROUTES.items():
            if name in ROUTES:
                raise KeyError(f"route {name} classified twice ({module_name})")
            ROUTES[name] = route
        if hasattr(module, "seed"):
            SEEDERS.append(module.seed)


_merge_app_routes()
