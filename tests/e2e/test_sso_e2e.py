"""Single sign-on in real Chromium against a real OpenID Connect provider (panva's oidc-provider on
loopback): the login page routes a verified domain to the provider, the code flow with PKCE signs
the person in and provisions them, and an unverified e-mail is refused with a clear message."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from coachhub.identity import services
from coachhub.identity.models import SsoDomain
from coachhub.tenancy.models import AuditEvent, Membership, Role, TeamMembership
from tests.identity.oidc_peer import oidc_provider

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ACCOUNTS = {
    "ada": {"email": "ada@acme.example", "email_verified": True, "name": "Ada Lovelace", "groups": ["cs-tier2"]},
    "eve": {"email": "eve@acme.example", "email_verified": False, "name": "Eve Unverified"},
}


@pytest.fixture
def acme_sso(world_a, live_server, settings):
    settings.IDENTITY_ALLOW_PRIVATE_ISSUERS = True  # the provider listens on loopback
    redirect_uri = f"{live_server.url}/sso/{world_a.tenant.slug}/oidc/callback/"
    with oidc_provider(client_id="coachhub", client_secret="s3cret-for-tests", redirect_uri=redirect_uri,
                       accounts=ACCOUNTS) as issuer:
        services.oidc_provider_save(
            tenant=world_a.tenant, actor=world_a.member(Role.TENANT_ADMIN).user, issuer=issuer, client_id="coachhub",
            client_secret="s3cret-for-tests", default_role=Role.REP, jit_enabled=True,
        )
        domain = services.sso_domain_add(tenant=world_a.tenant, actor=world_a.member(Role.TENANT_ADMIN).user,
                                          domain="acme.example")
        SsoDomain.objects.for_tenant(world_a.tenant).filter(pk=domain.pk).update(verified_at=timezone.now())
        services.group_mappings_replace(tenant=world_a.tenant, actor=None, text=f"cs-tier2: team {world_a.team.name}")
        yield issuer


def _sign_in_at_provider(page, login: str) -> None:
    """oidc-provider's own sign-in and consent pages (its development interactions)."""
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any")
    page.locator("button[type=submit]").click()
    page.locator("button[type=submit]", has_text="Continue").click()


def test_oidc_sign_in_with_pkce_from_the_login_page(browser, live_server, acme_sso, world_a):
    requests_seen: list[str] = []
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.on("request", lambda request: requests_seen.append(request.url))
    try:
        page.goto("/accounts/login/")
        page.get_by_label("Work e-mail").fill("ada@acme.example")
        page.get_by_role("button", name="Continue with single sign-on").click()
        page.wait_for_url(f"{acme_sso}/**")
        _sign_in_at_provider(page, "ada")
        page.wait_for_url(f"{live_server.url}/t/{world_a.tenant.slug}/**")
        expect(page.get_by_role("heading").first).to_be_visible()
    finally:
        context.close()
    authorize = next(url for url in requests_seen if "/auth?" in url and url.startswith(acme_sso))
    assert "code_challenge_method=S256" in authorize and "code_challenge=" in authorize  # PKCE
    membership = Membership.objects.for_tenant(world_a.tenant).get(user__email="ada@acme.example")
    assert membership.role == Role.REP and membership.user.full_name == "Ada Lovelace"
    # The groups claim put her in the mapped team.
    assert TeamMembership.objects.for_tenant(world_a.tenant).filter(membership=membership, team=world_a.team).exists()
    actions = list(AuditEvent.objects.for_tenant(world_a.tenant).values_list("action", flat=True))
    assert "member.provisioned" in actions and "sso.signed_in" in actions


def test_an_unverified_email_is_refused(browser, live_server, acme_sso, world_a):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(f"/sso/{world_a.tenant.slug}/oidc/start/?email=eve@acme.example")
        _sign_in_at_provider(page, "eve")
        page.wait_for_url(f"{live_server.url}/sso/**")
        expect(page.get_by_role("alert")).to_contain_text("has not verified eve@acme.example")
        # Not signed in: the workspace still sends them to the login page.
        page.goto(f"/t/{world_a.tenant.slug}/")
        assert "/accounts/login/" in page.url
    finally:
        context.close()
    assert not Membership.objects.for_tenant(world_a.tenant).filter(user__email="eve@acme.example").exists()
    assert AuditEvent.objects.for_tenant(world_a.tenant).filter(action="sso.refused").exists()
