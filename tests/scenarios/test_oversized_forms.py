"""A post over the form limit gets the form again with a message naming the limit (413), never
Django's RequestDataTooBig page; the API answers 413 in the one error shape."""

from __future__ import annotations

import pytest
from django.test import Client

from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.context import tenant_context
from scenarios import services
from scenarios.models import Scenario
from tests.scenarios.factories import spec_dict

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    return "0.0625 MB"


def test_an_oversized_scenario_form_shows_the_form_again_with_the_limit(world_a, small_limit, settings):
    settings.DEBUG = True  # as in the demo, where this used to show Django's debug page
    lead = Client(enforce_csrf_checks=True, raise_request_exception=False)
    lead.force_login(world_a.member("enablement_lead").user)
    page = lead.get("/t/acme/scenarios/new/")
    token = page.cookies["csrftoken"].value
    response = lead.post("/t/acme/scenarios/new/", {"csrfmiddlewaretoken": token, "title": "Big", "situation": "x" * 100_000})
    assert response.status_code == 413
    assert f"({small_limit})".encode() in response.content and b"Nothing was saved" in response.content
    assert b"<form" in response.content and b"RequestDataTooBig" not in response.content
    with tenant_context(world_a.tenant):
        assert not Scenario.objects.filter(title="Big").exists()


def test_editing_with_an_oversized_post_keeps_the_scenario_and_shows_its_form(world_a, client_for, small_limit):
    lead_member = world_a.member("enablement_lead")
    scenario = services.scenario_create(tenant=world_a.tenant, actor=lead_member.user, spec=spec_dict(slug="returns"))
    lead = client_for(lead_member)
    response = lead.post(f"/t/acme/scenarios/{scenario.id}/edit/", {"title": "y" * 100_000})
    assert response.status_code == 413 and b"Nothing was saved" in response.content
    assert scenario.title.encode() in response.content  # the form shows the scenario as it is


def test_a_post_only_action_says_the_limit_in_a_page(world_a, client_for, small_limit):
    scenario = services.scenario_create(
        tenant=world_a.tenant, actor=world_a.member("enablement_lead").user, spec=spec_dict(slug="returns")
    )
    response = client_for(world_a.member("enablement_lead")).post(
        f"/t/acme/scenarios/{scenario.id}/publish/", {"padding": "z" * 100_000}
    )
    assert response.status_code == 413 and f"({small_limit})".encode() in response.content


def test_the_api_answers_413_in_the_error_shape(world_a, small_limit):
    _, raw = tenancy_services.api_token_create(tenant=world_a.tenant, user=world_a.member("rep").user, name="t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api.post("/api/v1/t/acme/tokens/", {"name": "n" * 100_000}, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large" and small_limit in response.json()["error"]["message"]


def test_an_oversized_form_post_to_an_async_view_is_a_413_page(world_a, client_for, small_limit):
    rep = client_for(world_a.member("rep"))
    response = rep.post("/t/acme/sessions/1/voice/", "x=" + "y" * 100_000, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413 and f"({small_limit})".encode() in response.content
