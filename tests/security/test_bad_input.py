"""Malformed input that used to crash the server (500) answers 400 in the one error shape."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from coachhub.tenancy import services as tenancy_services
from tests.sessions.helpers import publish_library_scenario

pytestmark = pytest.mark.django_db


def _api(world, role="rep") -> Client:
    _, raw = tenancy_services.api_token_create(tenant=world.tenant, user=world.member(role).user, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", raise_request_exception=False)


def _assert_error_shape(response, status=400):
    assert response.status_code == status, response.content[:300]
    error = response.json()["error"]
    assert error["code"] and error["message"]
    return error


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deeply_nested_json_is_a_400_on_every_kind_of_post(world_a, depth):
    version = publish_library_scenario(world_a.tenant)
    api = _api(world_a)
    body = "[" * depth + "]" * depth
    session = api.post("/api/v1/t/acme/sessions/", {"version_id": version.id}, content_type="application/json").json()
    for url in ("/api/v1/t/acme/sessions/", f"/api/v1/t/acme/sessions/{session['id']}/turns/", "/api/v1/t/acme/tokens/"):
        error = _assert_error_shape(api.post(url, body, content_type="application/json"))
        assert error["code"] == "malformed_request" and "nested" in error["message"]
    nested_object = '{"text": ' * depth + '"hi"' + "}" * depth
    _assert_error_shape(api.post(f"/api/v1/t/acme/sessions/{session['id']}/turns/", nested_object,
                                 content_type="application/json"))


def test_malformed_cursor_on_the_turns_list_is_a_400(world_a):
    version = publish_library_scenario(world_a.tenant)
    api = _api(world_a)
    session = api.post("/api/v1/t/acme/sessions/", {"version_id": version.id}, content_type="application/json").json()
    for cursor in ("cD14", "cj0xJnA9eA==", "%25%25%25", "bz0tMQ==", "not-base64!"):
        error = _assert_error_shape(api.get(f"/api/v1/t/acme/sessions/{session['id']}/turns/?cursor={cursor}"))
        assert "cursor" in error["message"].lower()


def test_yaml_nested_5000_deep_is_a_400_naming_the_problem(world_a, client_for):
    deep = "[" * 5000 + "]" * 5000
    api = _api(world_a, "enablement_lead")
    error = _assert_error_shape(api.post("/api/v1/t/acme/scenarios/import/", {"yaml": deep}, content_type="application/json"))
    assert "nested too deeply" in str(error["fields"])
    page = client_for(world_a.member("enablement_lead"))
    page.raise_request_exception = False
    response = page.post("/t/acme/scenarios/import/", {"text": deep})
    assert response.status_code == 400 and b"nested too deeply" in response.content


def test_the_parser_refuses_json_nested_past_its_limit_even_below_the_recursion_limit(world_a):
    api = _api(world_a)
    body = '{"name": ' * 100 + '"x"' + "}" * 100
    error = _assert_error_shape(api.post("/api/v1/t/acme/tokens/", body, content_type="application/json"))
    assert "64 levels" in error["message"]


@pytest.mark.parametrize("week, says", [
    ("0001-01-01", "outside the weeks CoachHub shows"), ("9999-12-31", "outside the weeks CoachHub shows"),
    ("0001-01-07", "outside the weeks CoachHub shows"), ("last-tuesday", "isn't a date"),
])
def test_a_week_no_page_can_show_is_a_400_that_says_why_on_the_pages_and_the_api(world_a, client_for, week, says):
    manager = client_for(world_a.member("manager"))
    manager.raise_request_exception = False
    rep = world_a.member("rep")
    for url in (f"/t/acme/reps/{rep.id}/?week={week}", f"/t/acme/scorecard/?week={week}"):
        response = manager.get(url)
        assert response.status_code == 400, (url, response.status_code)
        page = html.unescape(response.content.decode())
        assert says in page and "Show the latest week" in page
    api = manager.get(f"/api/v1/t/acme/scorecard/?week={week}")
    assert api.status_code == 400, api.content
    error = api.json()["error"]
    assert error["code"] == "invalid_week" and says in error["message"] and "week" in error["fields"]
    assert manager.get("/t/acme/scorecard/?week=2026-11-30").status_code == 200
