"""SAML 2.0 sign-in against a real identity provider: pysaml2's own IdP, with its own key, signing
responses with xmlsec1, driven over the HTTP-Redirect (request) and HTTP-POST (response) bindings.
SP- and IdP-initiated sign-ins work; unsigned, tampered, expired, wrongly addressed, replayed and
other-tenant assertions are refused with a message saying why and an audit entry."""

from __future__ import annotations

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from coachhub.identity import services
from coachhub.identity.models import SamlProvider, SsoDomain
from coachhub.identity.services import ScimError
from coachhub.tenancy.models import AuditEvent, Membership, Role, TeamMembership
from tests.identity.saml_peer import SamlIdp, serve, tamper

pytestmark = pytest.mark.django_db


def sp_urls(slug: str) -> tuple[str, str]:
    return (f"http://testserver/sso/{slug}/saml/metadata/", f"http://testserver/sso/{slug}/saml/acs/")


def verify_domain(world, domain: str) -> None:
    row = services.sso_domain_add(tenant=world.tenant, actor=None, domain=domain)
    SsoDomain.objects.for_tenant(world.tenant).filter(pk=row.pk).update(verified_at=timezone.now(), verified_via="operator")


@pytest.fixture
def idp(client, world_a):
    """Tenant A trusts a pysaml2 IdP (metadata imported as XML), and the IdP trusts tenant A's
    published SP metadata; acme.example is a verified domain of A."""
    peer = SamlIdp()
    metadata = client.get(f"/sso/{world_a.tenant.slug}/saml/metadata/")
    assert metadata.status_code == 200 and metadata["Content-Type"].startswith("application/samlmetadata+xml")
    peer.trust(metadata.content.decode())
    services.saml_provider_save(tenant=world_a.tenant, actor=world_a.member(Role.TENANT_ADMIN).user,
                                metadata_xml=peer.metadata_xml, default_role=Role.REP, jit_enabled=True)
    verify_domain(world_a, "acme.example")
    yield peer
    peer.close()


def text(response) -> str:
    return html.unescape(response.content.decode())


def refusals(world) -> list[str]:
    return list(AuditEvent.objects.for_tenant(world.tenant).filter(action="sso.refused").values_list("summary", flat=True))


def post_acs(client, slug: str, saml_response: str, relay_state: str = ""):
    data = {"SAMLResponse": saml_response, **({"RelayState": relay_state} if relay_state else {})}
    return client.post(f"/sso/{slug}/saml/acs/", data)


def test_sp_metadata_names_this_workspaces_entity_id_and_acs(client, world_a):
    xml = client.get(f"/sso/{world_a.tenant.slug}/saml/metadata/").content.decode()
    entity_id, acs = sp_urls(world_a.tenant.slug)
    assert f'entityID="{entity_id}"' in xml
    assert f'Location="{acs}"' in xml and "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" in xml
    assert 'WantAssertionsSigned="true"' in xml
    assert client.get("/sso/no-such-workspace/saml/metadata/").status_code == 404


def test_sp_initiated_sign_in_provisions_and_maps_groups(client, idp, world_a):
    services.group_mappings_replace(tenant=world_a.tenant, actor=None,
                                    text=f"cs-leads: enablement lead\ncs-tier2: team {world_a.team.name}")
    start = client.get(f"/sso/{world_a.tenant.slug}/saml/start/?next=/t/{world_a.tenant.slug}/settings/identity/")
    assert start.status_code == 302 and start["Location"].startswith(idp.sso_url + "?SAMLRequest=")
    request = idp.read_request(start["Location"])
    entity_id, acs = sp_urls(world_a.tenant.slug)
    assert request.issuer.text == entity_id and request.assertion_consumer_service_url == acs
    response = idp.response(email="Ada@Acme.example", sp_entity_id=entity_id, acs_url=acs, in_response_to=request.id,
                            attributes={"displayName": ["Ada Lovelace"], "groups": ["cs-leads", "cs-tier2"]})
    signed_in = post_acs(client, world_a.tenant.slug, response)
    assert signed_in.status_code == 302 and signed_in["Location"] == f"/t/{world_a.tenant.slug}/settings/identity/"
    membership = Membership.objects.for_tenant(world_a.tenant).get(user__email="ada@acme.example")
    assert membership.user.full_name == "Ada Lovelace"
    assert membership.role == Role.ENABLEMENT_LEAD  # the mapped group's role, not the default
    assert TeamMembership.objects.for_tenant(world_a.tenant).filter(membership=membership, team=world_a.team).exists()
    assert client.get(f"/t/{world_a.tenant.slug}/").status_code == 200  # signed in
    events = AuditEvent.objects.for_tenant(world_a.tenant)
    assert events.filter(action="member.provisioned", data__via="saml").exists()
    assert events.filter(action="sso.signed_in", summary__contains="with SAML").exists()
    # The request was answered: the same response can't be used again (replay).
    assert post_acs(client, world_a.tenant.slug, response).status_code == 400


def test_idp_initiated_sign_in_of_an_existing_member(client, idp, world_a):
    entity_id, acs = sp_urls(world_a.tenant.slug)
    rep = world_a.member(Role.REP)
    response = idp.response(email=rep.user.email, sp_entity_id=entity_id, acs_url=acs)
    signed_in = post_acs(client, world_a.tenant.slug, response, relay_state="https://evil.example/")
    # An off-site RelayState is ignored: the person lands in their workspace.
    assert signed_in.status_code == 302 and signed_in["Location"] == f"/t/{world_a.tenant.slug}/"
    assert int(client.session["_auth_user_id"]) == rep.user.pk
    assert Membership.objects.for_tenant(world_a.tenant).get(pk=rep.pk).role == Role.REP


def test_idp_initiated_can_be_turned_off(client, idp, world_a):
    SamlProvider.objects.for_tenant(world_a.tenant).update(allow_idp_initiated=False)
    entity_id, acs = sp_urls(world_a.tenant.slug)
    refused = post_acs(client, world_a.tenant.slug, idp.response(email="ada@acme.example", sp_entity_id=entity_id,
                                                                 acs_url=acs))
    assert refused.status_code == 403 and "only sign-ins started at CoachHub" in text(refused)
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unsigned", "is not signed"),
        ("tampered", "signature doesn't match"),
        ("expired", "has expired"),
        ("wrong audience", "addressed to another service"),
        ("other idp", "signature doesn't match"),
        ("only the response signed", "is not signed"),
        ("idp error", "reported an error"),
        ("not base64", "isn't a SAML response"),
    ],
)
def test_bad_assertions_are_refused_with_the_reason_and_audited(client, idp, world_a, case, message):
    entity_id, acs = sp_urls(world_a.tenant.slug)
    email = "mallory@acme.example"
    if case == "unsigned":
        response = idp.response(email=email, sp_entity_id=entity_id, acs_url=acs, sign_assertion=False)
    elif case == "tampered":
        # A real signed assertion for a nobody, edited to name the tenant admin.
        admin_email = world_a.member(Role.TENANT_ADMIN).user.email
        response = tamper(idp.response(email=email, sp_entity_id=entity_id, acs_url=acs), email, admin_email)
    elif case == "expired":
        response = idp.response(email=email, sp_entity_id=entity_id, acs_url=acs, lifetime_minutes=-10)
    elif case == "wrong audience":
        response = idp.response(email=email, sp_entity_id="https://other-app.example/saml", acs_url=acs)
    elif case == "only the response signed":
        response = idp.response(email=email, sp_entity_id=entity_id, acs_url=acs, sign_assertion=False,
                                sign_response=True)
    elif case == "idp error":
        response = idp.error_response(acs_url=acs, status="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed",
                                      message="Wrong password")
    elif case == "not base64":
        response = "this is not a SAML response"
    else:  # another IdP claiming to be ours: same entity ID, its own key
        impostor = SamlIdp(idp.base_url, name="impostor")
        response = impostor.response(email=email, sp_entity_id=entity_id, acs_url=acs)
        impostor.close()
    refused = post_acs(client, world_a.tenant.slug, response)
    assert refused.status_code == 403
    assert message in text(refused)
    assert "_auth_user_id" not in client.session
    assert not Membership.objects.for_tenant(world_a.tenant).filter(user__email__in=[email]).exists()
    assert any(message in summary for summary in refusals(world_a))


def test_a_replayed_assertion_is_refused(client, idp, world_a):
    entity_id, acs = sp_urls(world_a.tenant.slug)
    response = idp.response(email="ada@acme.example", sp_entity_id=entity_id, acs_url=acs)
    assert post_acs(client, world_a.tenant.slug, response).status_code == 302
    client.logout()
    replayed = post_acs(client, world_a.tenant.slug, response)
    assert replayed.status_code == 403 and "already been used" in text(replayed)
    assert "_auth_user_id" not in client.session
    assert any("replay" in summary for summary in refusals(world_a))


def test_a_response_to_a_request_never_made_is_refused(client, idp, world_a):
    entity_id, acs = sp_urls(world_a.tenant.slug)
    response = idp.response(email="ada@acme.example", sp_entity_id=entity_id, acs_url=acs, in_response_to="id-forged")
    refused = post_acs(client, world_a.tenant.slug, response)
    assert refused.status_code == 400 and "didn't make" in text(refused)
    assert refusals(world_a)


def test_an_assertion_for_tenant_a_cannot_sign_in_to_tenant_b(client, idp, world_a, world_b):
    # Tenant B trusts the very same IdP and verified the same domain.
    idp.trust(client.get(f"/sso/{world_b.tenant.slug}/saml/metadata/").content.decode())
    services.saml_provider_save(tenant=world_b.tenant, actor=None, metadata_xml=idp.metadata_xml)
    verify_domain(world_b, "acme.example")
    entity_id, acs = sp_urls(world_a.tenant.slug)
    b_entity_id, b_acs = sp_urls(world_b.tenant.slug)
    for_a = idp.response(email="ada@acme.example", sp_entity_id=entity_id, acs_url=acs)
    refused = post_acs(client, world_b.tenant.slug, for_a)
    assert refused.status_code == 403 and "not to this workspace's assertion consumer service" in text(refused)
    # Even re-addressed to B's ACS, the audience is still A's entity ID.
    readdressed = idp.response(email="ada@acme.example", sp_entity_id=entity_id, acs_url=b_acs)
    refused = post_acs(client, world_b.tenant.slug, readdressed)
    assert refused.status_code == 403 and "addressed to another service" in text(refused)
    assert not Membership.objects.for_tenant(world_b.tenant).filter(user__email="ada@acme.example").exists()
    assert refusals(world_b) and not refusals(world_a)
    # The same IdP's assertion for B does sign in to B.
    for_b = idp.response(email="ada@acme.example", sp_entity_id=b_entity_id, acs_url=b_acs)
    assert post_acs(client, world_b.tenant.slug, for_b)["Location"] == f"/t/{world_b.tenant.slug}/"


def test_an_address_outside_the_verified_domains_is_refused(client, idp, world_a):
    entity_id, acs = sp_urls(world_a.tenant.slug)
    refused = post_acs(client, world_a.tenant.slug, idp.response(email="ceo@bolt.example", sp_entity_id=entity_id,
                                                                 acs_url=acs))
    assert refused.status_code == 403 and "bolt.example is not a verified domain" in text(refused)


def test_enforced_saml_refuses_passwords_except_break_glass(client, idp, world_a):
    admin, rep = world_a.member(Role.TENANT_ADMIN), world_a.member(Role.REP)
    for membership in (admin, rep):
        membership.user.set_password("a-Long-passphrase-9")
        membership.user.save()
    with pytest.raises(ScimError, match="break-glass"):
        services.saml_provider_save(tenant=world_a.tenant, actor=None, enforce_sso=True)
    services.saml_provider_save(tenant=world_a.tenant, actor=None, enforce_sso=True, break_glass=[admin])
    refused = client.post("/accounts/login/", {"username": rep.user.email, "password": "a-Long-passphrase-9"})
    assert refused.status_code == 200 and "requires single sign-on" in text(refused)
    allowed = client.post("/accounts/login/", {"username": admin.user.email, "password": "a-Long-passphrase-9"})
    assert allowed.status_code == 302


def test_login_discovery_routes_a_verified_domain_to_saml(client, idp, world_a):
    page = client.get("/sso/discover/?email=ada@acme.example")
    assert page.status_code == 200 and f"/sso/{world_a.tenant.slug}/saml/start/" in page.content.decode()


def test_admin_imports_metadata_by_file_and_by_url(client_for, client, world_a, settings):
    admin = client_for(world_a.member(Role.TENANT_ADMIN))
    url = f"/t/{world_a.tenant.slug}/settings/identity/"
    page = admin.get(url).content.decode()
    entity_id, acs = sp_urls(world_a.tenant.slug)
    assert entity_id in page and acs in page
    form = {"action": "saml", "saml-default_role": Role.MANAGER, "saml-jit_enabled": "on",
            "saml-allow_idp_initiated": "on"}
    bad = admin.post(url, {**form, "saml-metadata_file": SimpleUploadedFile("idp.xml", b"<not-metadata/>")})
    assert bad.status_code == 200 and "describes no identity provider" in text(bad)
    assert not SamlProvider.objects.for_tenant(world_a.tenant).exists()
    peer = SamlIdp()
    try:
        saved = admin.post(url, {**form, "saml-metadata_file": SimpleUploadedFile("idp.xml", peer.metadata_xml.encode())})
        assert saved.status_code == 302
        row = SamlProvider.objects.for_tenant(world_a.tenant).get()
        assert row.idp_entity_id == peer.entity_id and row.default_role == Role.MANAGER
    finally:
        peer.close()
    # By URL: fetched server-side, and only from a public address unless the operator allows private IdPs.
    settings.IDENTITY_ALLOW_PRIVATE_ISSUERS = False
    with serve(lambda base: SamlIdp(base), people={}) as served:
        refused = admin.post(url, {**form, "saml-metadata_url": f"{served.base_url}/metadata"})
        assert refused.status_code == 200 and "private, loopback or link-local" in text(refused)
        settings.IDENTITY_ALLOW_PRIVATE_ISSUERS = True
        missing = admin.post(url, {**form, "saml-metadata_url": f"{served.base_url}/nothing-here"})
        assert "answered HTTP 404" in text(missing)
        imported = admin.post(url, {**form, "saml-metadata_url": f"{served.base_url}/metadata"})
        assert imported.status_code == 302
        row = SamlProvider.objects.for_tenant(world_a.tenant).get()
        assert row.idp_entity_id == served.entity_id and row.metadata_url == f"{served.base_url}/metadata"
    assert AuditEvent.objects.for_tenant(world_a.tenant).filter(action="sso.saml_configured").count() == 2


def test_metadata_without_a_signing_certificate_is_refused(world_a):
    peer = SamlIdp()
    try:
        xml = re.sub(r"<ns\d:KeyDescriptor.*?</ns\d:KeyDescriptor>", "", peer.metadata_xml, flags=re.S)
        assert "X509Certificate" not in xml
        with pytest.raises(ScimError, match="no signing certificate"):
            services.saml_provider_save(tenant=world_a.tenant, actor=None, metadata_xml=xml)
    finally:
        peer.close()


def test_saving_saml_turns_oidc_off(world_a, idp, settings):
    from coachhub.identity import selectors

    settings.IDENTITY_ALLOW_PRIVATE_ISSUERS = True
    services.oidc_provider_save(tenant=world_a.tenant, actor=None, issuer="http://127.0.0.1:9", client_id="c",
                                client_secret="s", default_role=Role.REP, jit_enabled=True)
    assert selectors.sso_protocol_for(tenant=world_a.tenant) == "oidc"
    services.saml_provider_save(tenant=world_a.tenant, actor=None)  # keeps the saved metadata
    assert selectors.sso_protocol_for(tenant=world_a.tenant) == "saml"
    assert selectors.oidc_provider_get(tenant=world_a.tenant) is None


def test_start_without_saml_is_404(client, world_a):
    assert client.get(f"/sso/{world_a.tenant.slug}/saml/start/").status_code == 404
    assert client.post(f"/sso/{world_a.tenant.slug}/saml/acs/", {"SAMLResponse": "x"}).status_code == 404

