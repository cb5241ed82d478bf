"""SAML single sign-on in real Chromium against a real SAML identity provider (pysaml2's own IdP on
a loopback port, tests/identity/saml_peer.py): the login page routes a verified domain to the IdP
(SP-initiated, HTTP-Redirect), the IdP's page posts the signed response to the ACS and the person
lands in the workspace, provisioned; an IdP-initiated sign-in from the IdP's "dashboard" works too."""

from __future__ import annotations

import urllib.request

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from coachhub.identity import services
from coachhub.identity.models import SsoDomain
from coachhub.tenancy.models import AuditEvent, Membership, Role, TeamMembership
from tests.identity.saml_peer import SamlIdp, serve

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PEOPLE = {
    "ada": {"email": "ada@acme.example", "attributes": {"displayName": ["Ada Lovelace"], "groups": ["cs-tier2"]}},
    "grace": {"email": "grace@acme.example", "attributes": {"displayName": ["Grace Hopper"]}},
}


@pytest.fixture
def acme_saml(world_a, live_server):
    slug = world_a.tenant.slug
    with serve(lambda base: SamlIdp(base), people=PEOPLE) as idp:
        with urllib.request.urlopen(f"{live_server.url}/sso/{slug}/saml/metadata/") as response:
            idp.trust(response.read().decode())
        admin = world_a.member(Role.TENANT_ADMIN).user
        services.saml_provider_save(tenant=world_a.tenant, actor=admin, metadata_xml=idp.metadata_xml,
                                    default_role=Role.REP, jit_enabled=True)
        domain = services.sso_domain_add(tenant=world_a.tenant, actor=admin, domain="acme.example")
        SsoDomain.objects.for_tenant(world_a.tenant).filter(pk=domain.pk).update(verified_at=timezone.now())
        services.group_mappings_replace(tenant=world_a.tenant, actor=None, text=f"cs-tier2: team {world_a.team.name}")
        yield idp


def test_sp_initiated_saml_sign_in_from_the_login_page(browser, live_server, acme_saml, world_a):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto("/accounts/login/")
        page.get_by_label("Work e-mail").fill("ada@acme.example")
        page.get_by_role("button", name="Continue with single sign-on").click()
        page.wait_for_url(f"{acme_saml.sso_url}?SAMLRequest=**")
        page.get_by_role("button", name="Continue as ada").click()
        page.wait_for_url(f"{live_server.url}/t/{world_a.tenant.slug}/**")
        expect(page.get_by_role("heading").first).to_be_visible()
    finally:
        context.close()
    membership = Membership.objects.for_tenant(world_a.tenant).get(user__email="ada@acme.example")
    assert membership.role == Role.REP and membership.user.full_name == "Ada Lovelace"
    assert TeamMembership.objects.for_tenant(world_a.tenant).filter(membership=membership, team=world_a.team).exists()
    actions = list(AuditEvent.objects.for_tenant(world_a.tenant).values_list("action", flat=True))
    assert "member.provisioned" in actions and "sso.signed_in" in actions


def test_idp_initiated_saml_sign_in(browser, live_server, acme_saml, world_a):
    slug = world_a.tenant.slug
    sp, acs = f"{live_server.url}/sso/{slug}/saml/metadata/", f"{live_server.url}/sso/{slug}/saml/acs/"
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(f"{acme_saml.base_url}/launch?who=grace&sp={sp}&acs={acs}")
        page.get_by_role("button", name="Continue as grace").click()
        page.wait_for_url(f"{live_server.url}/t/{slug}/**")
    finally:
        context.close()
    assert Membership.objects.for_tenant(world_a.tenant).filter(user__email="grace@acme.example").exists()


def test_the_saml_settings_domain_verification_and_workspace_choice_pages_are_accessible(
    page, live_server, acme_saml, world_a, world_b
):
    """Axe and the CSP checks (conftest) run on every state visited here: the Identity page with SAML
    set up, a domain waiting for its TXT record, the SAML form's error state, and the page where a
    person of a domain two workspaces verified picks one."""
    from tests.e2e.conftest import log_in

    services.sso_domain_add(tenant=world_a.tenant, actor=None, domain="pending.example")
    # The password step for an address of an SSO domain points back to single sign-on.
    page.goto("/accounts/login/?email=ada@acme.example&method=password")
    expect(page.get_by_role("link", name="continue with single sign-on")).to_be_visible()
    log_in(page, world_a.member(Role.TENANT_ADMIN).user.email, "correct-horse-battery")
    page.goto(f"/t/{world_a.tenant.slug}/settings/identity/")
    assert page.get_by_label("Assertion consumer service (ACS / reply URL)").input_value().endswith(
        f"/sso/{world_a.tenant.slug}/saml/acs/"
    )
    assert page.get_by_label("TXT record for pending.example").input_value().startswith("coachhub-verify=")
    page.get_by_label("Identity provider metadata URL").fill("https://idp.invalid/metadata")
    page.get_by_role("button", name="Save SAML single sign-on").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("alert").filter(has_text="idp.invalid").first).to_be_visible()
    # Bolt verified acme.example too (same IdP): an acme.example person picks the workspace.
    services.saml_provider_save(tenant=world_b.tenant, actor=None, metadata_xml=acme_saml.metadata_xml)
    domain = services.sso_domain_add(tenant=world_b.tenant, actor=None, domain="acme.example")
    services.sso_domain_approve(domain=domain, operator=None)
    page.goto("/sso/discover/?email=ada@acme.example")
    expect(page.get_by_role("link", name=world_b.tenant.name)).to_be_visible()
    expect(page.get_by_role("link", name=world_a.tenant.name)).to_be_visible()
