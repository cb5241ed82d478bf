"""The sessions API: a rep practices over JSON with an API token; transcripts cursor-paginate."""

import pytest
from django.test import Client

from coachhub.tenancy import services as tenancy_services
from tests.sessions.helpers import publish_library_scenario
from tests.sessions.scripts import SUPPORTIVE_SCRIPTS

pytestmark = pytest.mark.django_db


def _client(world, role="rep"):
    member = world.member(role)
    _, raw = tenancy_services.api_token_create(tenant=world.tenant, user=member.user, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_rep_practices_over_the_api_with_a_fixed_seed(world_a):
    version = publish_library_scenario(world_a.tenant, "meal-kit-cancellation")
    api = _client(world_a)
    transcripts = []
    for _ in range(2):
        created = api.post(
            "/api/v1/t/acme/sessions/", {"version_id": version.id, "seed": 7}, content_type="application/json"
        )
        assert created.status_code == 201, created.content
        session_id = created.json()["id"]
        lines = []
        for text in SUPPORTIVE_SCRIPTS["meal-kit-cancellation"]:
            exchange = api.post(
                f"/api/v1/t/acme/sessions/{session_id}/turns/",
                {"text": text},
                content_type="application/json",
            )
            assert exchange.status_code == 200, exchange.content
            body = exchange.json()
            lines.append(body["customer_turn"]["text"])
            if body["session"]["status"] == "ended":
                break
        transcripts.append(lines)
    assert transcripts[0] == transcripts[1], "the same seed replays the same conversation"
    assert body["session"]["end_reason"] == "resolved"

    page = api.get(f"/api/v1/t/acme/sessions/{session_id}/turns/?page_size=2").json()
    assert [t["index"] for t in page["results"]] == [0, 1] and page["next"]
    follow = api.get(page["next"]).json()
    assert [t["index"] for t in follow["results"]] == [2, 3]


def test_api_errors_keep_the_session_usable(world_a):
    version = publish_library_scenario(world_a.tenant)
    api = _client(world_a)
    session_id = api.post(
        "/api/v1/t/acme/sessions/", {"version_id": version.id}, content_type="application/json"
    ).json()["id"]
    empty = api.post(
        f"/api/v1/t/acme/sessions/{session_id}/turns/", {"text": ""}, content_type="application/json"
    )
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "empty_turn"
    missing = api.post("/api/v1/t/acme/sessions/", {"mode": "text"}, content_type="application/json")
    assert missing.status_code == 400 and "version_id" in missing.json()["error"]["fields"]
    ok = api.post(
        f"/api/v1/t/acme/sessions/{session_id}/turns/",
        {"text": "I understand, let me check."},
        content_type="application/json",
    )
    assert ok.status_code == 200
    ended = api.post(f"/api/v1/t/acme/sessions/{session_id}/end/").json()
    assert ended["status"] == "ended" and ended["end_reason"] == "rep_ended"
