""""Retry reply" costs a model call like a turn: it counts against the rep's turn allowance, and a
rep line has at most one reply in flight, whatever the page and the API are sent meanwhile."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.context import tenant_context
from sessions.models import Turn
from tests.sessions.helpers import publish_library_scenario, read_events, use_llm_customer
from tests.support.openai_server import status

pytestmark = pytest.mark.django_db

LINE = "Can you tell me the order number?"


@pytest.fixture
def pending_line(world_a, client_for, openai_server, settings):
    """A rep whose last line is saved and waits for the LLM customer's reply (the first try failed)."""
    settings.LLM_MAX_RETRIES = 0
    cache.clear()
    use_llm_customer(world_a, openai_server)
    version = publish_library_scenario(world_a.tenant)
    rep = client_for(world_a.member("rep"))
    response = rep.post("/t/acme/sessions/start/", {"version_id": version.id})
    session_id = int(response["Location"].rstrip("/").split("/")[-1])
    openai_server.script(status(500))
    events = read_events(rep.post(f"/t/acme/sessions/{session_id}/turns/", {"text": LINE}))
    assert events[-1][0] == "error" and events[-1][1]["retry"] is True
    _, raw = tenancy_services.api_token_create(tenant=world_a.tenant, user=world_a.member("rep").user, name="t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return rep, api, session_id


def _customer_turns(world, session_id) -> int:
    with tenant_context(world.tenant):
        return Turn.objects.filter(session_id=session_id, speaker="customer").count()


def test_retries_count_against_the_turn_allowance_on_the_page_and_the_api(world_a, pending_line, openai_server, settings):
    rep, api, session_id = pending_line
    settings.USER_RATE_LIMITS = {**settings.USER_RATE_LIMITS, "turn": "3/m"}  # the line above used one
    calls_before = len(openai_server.chat_requests())
    openai_server.script(status(500), status(500))
    # Two retries still fit in the minute (each fails at the provider and offers another retry)...
    assert read_events(rep.post(f"/t/acme/sessions/{session_id}/reply/"))[-1][1]["code"] == "customer_unavailable"
    assert api.post(f"/api/v1/t/acme/sessions/{session_id}/reply/").status_code == 503
    # ...then both entry points refuse with 429 and the model is not called again.
    page = rep.post(f"/t/acme/sessions/{session_id}/reply/")
    assert page.status_code == 429 and read_events(page)[-1][1]["code"] == "rate_limited"
    refused = api.post(f"/api/v1/t/acme/sessions/{session_id}/reply/")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    for _ in range(20):
        assert api.post(f"/api/v1/t/acme/sessions/{session_id}/reply/").status_code == 429
    assert len(openai_server.chat_requests()) - calls_before == 2


def test_one_reply_in_flight_per_line_while_a_retry_streams(world_a, pending_line, openai_server):
    rep, api, session_id = pending_line
    calls_before = len(openai_server.chat_requests())
    # A retry's stream is open (its reply is being written: the response isn't read yet)...
    streaming = api.post(f"/api/v1/t/acme/sessions/{session_id}/reply/", HTTP_ACCEPT="text/event-stream")
    assert streaming.status_code == 200
    # ...so every other retry, from the page or the API, JSON or streamed, is refused without a call.
    for _ in range(10):
        refused = api.post(f"/api/v1/t/acme/sessions/{session_id}/reply/")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "reply_in_flight"
        page = rep.post(f"/t/acme/sessions/{session_id}/reply/")
        assert page.status_code == 409 and read_events(page)[-1][1]["code"] == "reply_in_flight"
        assert api.post(f"/api/v1/t/acme/sessions/{session_id}/reply/", HTTP_ACCEPT="text/event-stream").status_code == 409
    assert len(openai_server.chat_requests()) == calls_before
    events = read_events(streaming)
    assert events[-1][0] == "done"
    assert len(openai_server.chat_requests()) == calls_before + 1 and _customer_turns(world_a, session_id) == 2
    # Answered: nothing is left to retry.
    assert api.post(f"/api/v1/t/acme/sessions/{session_id}/reply/").json()["error"]["code"] == "no_reply_pending"


def test_the_first_reply_of_a_line_is_in_flight_too(world_a, pending_line, openai_server):
    rep, api, session_id = pending_line
    read_events(rep.post(f"/t/acme/sessions/{session_id}/reply/"))  # answered
    calls_before = len(openai_server.chat_requests())
    streaming = rep.post(f"/t/acme/sessions/{session_id}/turns/", {"text": "Thanks, I see it now."})
    assert streaming.status_code == 200
    for _ in range(5):
        assert api.post(f"/api/v1/t/acme/sessions/{session_id}/reply/").json()["error"]["code"] == "reply_in_flight"
    assert read_events(streaming)[-1][0] == "done"
    assert len(openai_server.chat_requests()) == calls_before + 1


def test_a_failed_retry_frees_the_line_for_the_next_retry(world_a, pending_line, openai_server):
    rep, api, session_id = pending_line
    openai_server.script(status(500))
    assert api.post(f"/api/v1/t/acme/sessions/{session_id}/reply/").status_code == 503
    assert api.post(f"/api/v1/t/acme/sessions/{session_id}/reply/").status_code == 200
    assert _customer_turns(world_a, session_id) == 2
