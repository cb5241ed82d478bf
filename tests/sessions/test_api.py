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


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_rep_speaks_a_turn_over_the_api_and_bad_audio_leaves_the_session_intact(world_a, media):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from coachhub.tenancy.context import tenant_context
    from sessions.models import Turn
    from tests.sessions.audio import silence_wav, speak

    version = publish_library_scenario(world_a.tenant)
    api = _client(world_a)
    session_id = api.post(
        "/api/v1/t/acme/sessions/", {"version_id": version.id, "mode": "voice"}, content_type="application/json"
    ).json()["id"]
    url = f"/api/v1/t/acme/sessions/{session_id}/audio/"

    line = "I am so sorry about the suit. Let me send the right size today."
    spoken = api.post(url, {"audio": SimpleUploadedFile("line.wav", speak(line), content_type="audio/wav")})
    assert spoken.status_code == 200, spoken.content
    body = spoken.json()
    assert "sorry" in body["rep_turn"]["text"].lower() and "suit" in body["rep_turn"]["text"].lower()
    assert body["customer_turn"]["text"] and 0 <= body["customer_turn"]["frustration"] <= 100
    assert body["delivery"]["words_per_minute"] > 0 and body["delivery"]["duration_s"] > 1

    garbage = api.post(url, {"audio": SimpleUploadedFile("x.wav", b"not audio at all" * 50)})
    silent = api.post(url, {"audio": SimpleUploadedFile("s.wav", silence_wav(2.0), content_type="audio/wav")})
    missing = api.post(url, {})
    for refused in (garbage, silent, missing):
        assert 400 <= refused.status_code < 500 and refused.json()["error"]["message"], refused.content
    with tenant_context(world_a.tenant):
        turns = list(Turn.objects.filter(session_id=session_id).order_by("index"))
    assert [t.speaker for t in turns] == ["customer", "rep", "customer"], "refused audio stored nothing"
    assert turns[1].audio and (media / turns[1].audio.name).exists()
    typed = api.post(f"/api/v1/t/acme/sessions/{session_id}/turns/", {"text": "Can I have your order number?"},
                     content_type="application/json")
    assert typed.status_code == 200


def test_recordings_count_against_the_voice_limit_before_transcription(world_a, media, settings):
    from django.core.cache import cache
    from django.core.files.uploadedfile import SimpleUploadedFile

    cache.clear()
    settings.USER_RATE_LIMITS = {**settings.USER_RATE_LIMITS, "voice": "2/m"}
    version = publish_library_scenario(world_a.tenant)
    api = _client(world_a)
    session_id = api.post(
        "/api/v1/t/acme/sessions/", {"version_id": version.id, "mode": "voice"}, content_type="application/json"
    ).json()["id"]
    codes = []
    for _ in range(5):  # unreadable recordings still cost the model's time, so they count
        response = api.post(f"/api/v1/t/acme/sessions/{session_id}/audio/",
                            {"audio": SimpleUploadedFile("x.wav", b"RIFF" + b"\0" * 400)})
        codes.append(response.json()["error"]["code"])
    assert "rate_limited" in codes and codes.count("rate_limited") >= 1
    assert codes[0] != "rate_limited"
    typed = api.post(f"/api/v1/t/acme/sessions/{session_id}/turns/", {"text": "Still here, typing instead."},
                     content_type="application/json")
    assert typed.status_code == 200, "the session is intact and typing still works"
