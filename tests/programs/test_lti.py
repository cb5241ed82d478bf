"""LTI registrations and keys: per tenant, rotated without breaking platforms that cached the old key."""

import pytest
from django.urls import reverse

from coachhub.core.errors import ApplicationError
from coachhub.tenancy.models import AuditEvent, Role
from programs import lti
from programs.models import LTIPlatform, LTIToolKey

pytestmark = pytest.mark.django_db

FIELDS = {"name": "Canvas", "issuer": "https://canvas.instructure.com", "client_id": "10000000000001",
          "deployment_ids": ["1:abc"], "auth_login_url": "https://sso.canvaslms.com/api/lti/authorize_redirect",
          "auth_token_url": "https://sso.canvaslms.com/login/oauth2/token",
          "key_set_url": "https://sso.canvaslms.com/api/lti/security/jwks"}


def test_the_admin_registers_an_lms_and_sees_what_to_enter_in_it(world_a, client_for):
    admin = client_for(world_a.member(Role.TENANT_ADMIN))
    url = reverse("lti_settings", args=[world_a.tenant.slug])
    bad = admin.post(url, {**FIELDS, "deployment_ids": "", "key_set_url": "not a url"})
    assert bad.status_code == 400 and b"Enter a valid URL" in bad.content
    saved = admin.post(url, {**FIELDS, "deployment_ids": "1:abc\n2:def"})
    assert saved.status_code == 302
    platform = LTIPlatform.objects.for_tenant(world_a.tenant).get()
    assert platform.deployment_ids == ["1:abc", "2:def"]
    page = admin.get(url)
    assert b"/lti/acme/login/" in page.content and b"/lti/acme/jwks/" in page.content
    assert LTIToolKey.objects.for_tenant(world_a.tenant).count() == 1  # made with the first registration
    with pytest.raises(ApplicationError):
        lti.platform_register(tenant=world_a.tenant, actor=world_a.member(Role.MANAGER), **FIELDS)


def test_rotating_keeps_the_old_key_published_until_it_is_retired_and_tenants_never_share_keys(
        world_a, world_b, client):
    first = lti.tool_key_rotate(tenant=world_a.tenant)
    second = lti.tool_key_rotate(tenant=world_a.tenant)
    lti.tool_key_rotate(tenant=world_b.tenant)
    published = {key["kid"] for key in client.get("/lti/acme/jwks/").json()["keys"]}
    assert published == {first.kid, second.kid}
    assert lti.current_key(world_a.tenant) == second
    lti.tool_key_retire(tenant=world_a.tenant, key=first)
    assert {key["kid"] for key in client.get("/lti/acme/jwks/").json()["keys"]} == {second.kid}
    other = {key["kid"] for key in client.get("/lti/bolt/jwks/").json()["keys"]}
    assert other and not other & {first.kid, second.kid}
    actions = set(AuditEvent.objects.for_tenant(world_a.tenant).values_list("action", flat=True))
    assert {"lti.key_rotated", "lti.key_retired"} <= actions
    assert client.get("/lti/nobody/jwks/").status_code == 404


def test_a_login_from_an_unregistered_lms_is_refused_in_words(world_a, client):
    lti.platform_register(tenant=world_a.tenant, actor=world_a.member(Role.TENANT_ADMIN), **FIELDS)
    response = client.get("/lti/acme/login/", {"iss": "https://moodle.example", "client_id": "x",
                                               "login_hint": "7", "target_link_uri": "http://testserver/lti/acme/launch/"})
    assert response.status_code == 404 and b"isn&#x27;t registered with CoachHub" in response.content
    known = client.get("/lti/acme/login/", {"iss": FIELDS["issuer"], "client_id": FIELDS["client_id"],
                                            "login_hint": "7", "target_link_uri": "http://testserver/lti/acme/launch/"})
    assert known.status_code == 302 and known["Location"].startswith(FIELDS["auth_login_url"])
