"""Domain verification by DNS TXT record, against a real DNS server (dnslib's DNSServer on a
loopback UDP port) that CoachHub's resolver (dnspython, `SSO_DNS_RESOLVERS`) asks; operator
approval stays the other route."""

from __future__ import annotations

import html
from contextlib import contextmanager

import pytest
from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSServer

from coachhub.identity import services
from coachhub.identity.models import SsoDomain
from coachhub.identity.services import ScimError
from coachhub.tenancy.models import AuditEvent, Role

pytestmark = pytest.mark.django_db


class Zone(BaseResolver):
    """Answers TXT questions from a dict the test edits: {name: [txt, …]}; other names are NXDOMAIN."""

    def __init__(self):
        self.txt: dict[str, list[str]] = {}

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        if name not in self.txt:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.TXT:
            for value in self.txt[name]:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(value), ttl=60))
        return reply


@contextmanager
def dns_server():
    zone = Zone()
    server = DNSServer(zone, address="127.0.0.1", port=0)
    server.start_thread()
    try:
        yield zone, server.server.server_address[1]
    finally:
        server.stop()
        server.server.server_close()


@pytest.fixture
def zone(settings):
    with dns_server() as (zone, port):
        settings.SSO_DNS_RESOLVERS = [f"127.0.0.1:{port}"]
        yield zone


def test_admin_verifies_a_domain_with_a_txt_record(client_for, client, world_a, zone):
    admin = client_for(world_a.member(Role.TENANT_ADMIN))
    url = f"/t/{world_a.tenant.slug}/settings/identity/"
    admin.post(url, {"action": "domain", "domain": "Acme.Example"})
    domain = SsoDomain.objects.for_tenant(world_a.tenant).get(domain="acme.example")
    page = admin.get(url).content.decode()
    assert f"coachhub-verify={domain.verification_token}" in page and "waiting for verification" in page
    # The domain has TXT records, but not ours yet.
    zone.txt["acme.example"] = ["v=spf1 include:_spf.example -all"]
    failed = admin.post(url, {"action": "verify_domain", "domain": str(domain.pk)}, follow=True)
    assert "None of acme.example's 1 TXT record(s) is coachhub-verify=" in html.unescape(failed.content.decode())
    domain.refresh_from_db()
    assert domain.verified_at is None and domain.last_checked_at is not None
    # Nobody is routed to SSO by an unverified domain.
    assert client.get("/sso/discover/?email=pat@acme.example").status_code == 302
    zone.txt["acme.example"].append(domain.txt_record)
    verified = admin.post(url, {"action": "verify_domain", "domain": str(domain.pk)}, follow=True)
    assert "acme.example is verified" in verified.content.decode()
    domain.refresh_from_db()
    assert domain.verified_at is not None and domain.verified_via == SsoDomain.Via.DNS
    actions = list(AuditEvent.objects.for_tenant(world_a.tenant).values_list("action", flat=True))
    assert {"sso.domain_added", "sso.domain_verification_failed", "sso.domain_verified"} <= set(actions)


def test_a_missing_domain_and_another_workspaces_token_are_named(world_a, world_b, zone):
    missing = services.sso_domain_add(tenant=world_a.tenant, actor=None, domain="nowhere.example")
    with pytest.raises(ScimError, match="nowhere.example doesn't exist in DNS"):
        services.sso_domain_verify_dns(tenant=world_a.tenant, actor=None, domain=missing)
    # Bolt's record on the domain doesn't verify it for Acme.
    theirs = services.sso_domain_add(tenant=world_b.tenant, actor=None, domain="shared.example")
    ours = services.sso_domain_add(tenant=world_a.tenant, actor=None, domain="shared.example")
    assert ours.verification_token != theirs.verification_token
    zone.txt["shared.example"] = [theirs.txt_record]
    with pytest.raises(ScimError, match="not this workspace's"):
        services.sso_domain_verify_dns(tenant=world_a.tenant, actor=None, domain=ours)
    assert services.sso_domain_verify_dns(tenant=world_b.tenant, actor=None, domain=theirs) is True
    ours.refresh_from_db()
    assert ours.verified_at is None


def test_a_name_with_no_txt_records(world_a, zone):
    zone.txt["empty.example"] = []
    row = services.sso_domain_add(tenant=world_a.tenant, actor=None, domain="empty.example")
    with pytest.raises(ScimError, match="has no TXT records yet"):
        services.sso_domain_verify_dns(tenant=world_a.tenant, actor=None, domain=row)


def test_another_tenants_admin_cannot_verify_our_domain(client_for, world_a, world_b, zone):
    ours = services.sso_domain_add(tenant=world_a.tenant, actor=None, domain="acme.example")
    zone.txt["acme.example"] = [ours.txt_record]
    other_admin = client_for(world_b.member(Role.TENANT_ADMIN))
    other_admin.post(f"/t/{world_b.tenant.slug}/settings/identity/", {"action": "verify_domain", "domain": str(ours.pk)})
    ours.refresh_from_db()
    assert ours.verified_at is None


def test_operator_approval_still_verifies(world_a):
    row = services.sso_domain_add(tenant=world_a.tenant, actor=None, domain="approved.example")
    services.sso_domain_approve(domain=row, operator=None)
    row.refresh_from_db()
    assert row.verified_at is not None and row.verified_via == SsoDomain.Via.OPERATOR
