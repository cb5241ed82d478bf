"""Help-desk API connection pages in the cross-tenant matrix: tenant admins only. Each world has its
own Zendesk connection (with a token the other tenant never sees); the vendor in the URL is a kind,
not an object id, so another tenant's slug simply shows that tenant's own connection."""

from tests.matrix import ADMIN, TENANT_PAGE, Route, only


def seed(world) -> None:
    from coachhub.tenancy.context import tenant_context
    from reports.helpdesk.pulls.services import helpdesk_connect

    with tenant_context(world.tenant):
        world.extra["helpdesk_connection"] = helpdesk_connect(
            tenant=world.tenant, actor=world.member(ADMIN).user, vendor_key="zendesk", subdomain=world.tenant.slug,
            login_email=f"admin@{world.tenant.slug}.example", token=f"zd-token-{world.tenant.slug}",
        )


_zendesk = {"kwargs": lambda w: {"vendor": "zendesk"}}

ROUTES = {
    "helpdesk_connections": Route(TENANT_PAGE, only({ADMIN})),
    "helpdesk_connection": Route(TENANT_PAGE, only({ADMIN}), **_zendesk),
    # The sync is queued after commit (never inside the test's transaction): a message and a redirect.
    "helpdesk_sync": Route(TENANT_PAGE, only({ADMIN}, 302), method="POST", **_zendesk),
    "helpdesk_agents": Route(TENANT_PAGE, only({ADMIN}, 302), method="POST", data=lambda w: {}, **_zendesk),
    "helpdesk_disconnect": Route(TENANT_PAGE, only({ADMIN}, 302), method="POST", **_zendesk),
}
