"""Token reservations are estimated from the prompt a call sends, counting non-Latin scripts
conservatively, so long non-ASCII turns can't slip past the monthly budget."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from coachhub.tenancy.budget import budget_status, estimate_tokens
from tests.sessions.helpers import publish_library_scenario, read_events, use_llm_customer

pytestmark = pytest.mark.django_db

CHINESE_LINE = "我们非常抱歉您的西装尺码不对，我们会立即为您更换。" * 79  # 1,975 characters, under the turn limit


def test_estimates_count_non_latin_scripts_at_least_a_token_a_character():
    assert estimate_tokens("hello " * 100) >= 150
    assert estimate_tokens("我" * 1000) >= 1000
    assert estimate_tokens("Привет" * 100) >= 600
    assert estimate_tokens("😀" * 10) >= 20
    assert estimate_tokens("") >= 0


def _start(client, version) -> int:
    response = client.post("/t/acme/sessions/start/", {"version_id": version.id})
    return int(response["Location"].rstrip("/").split("/")[-1])


def test_a_long_chinese_turn_reserves_at_least_its_characters_plus_the_persona_prompt(world_a, client_for, openai_server):
    cache.clear()
    use_llm_customer(world_a, openai_server)
    version = publish_library_scenario(world_a.tenant)
    rep = client_for(world_a.member("rep"))
    session_id = _start(rep, version)
    streaming = rep.post(f"/t/acme/sessions/{session_id}/turns/", {"text": CHINESE_LINE})
    in_flight = budget_status(tenant=world_a.tenant).reserved
    # The old estimate (1,800 + characters / 4) reserved about 2,300 tokens for this call.
    assert in_flight >= len(CHINESE_LINE) + 1000, in_flight
    assert read_events(streaming)[-1][0] == "done"
    ledger = budget_status(tenant=world_a.tenant)
    assert ledger.reserved == 0 and ledger.used > 0


def test_concurrent_long_turns_never_hold_more_than_the_budget(world_a, client_for, openai_server):
    cache.clear()
    use_llm_customer(world_a, openai_server, monthly_token_budget=12_000)
    version = publish_library_scenario(world_a.tenant)
    rep = client_for(world_a.member("rep"))
    open_streams, refused = [], 0
    for _ in range(6):  # six sessions, each sending a long line whose reply is still being written
        session_id = _start(rep, version)
        response = rep.post(f"/t/acme/sessions/{session_id}/turns/", {"text": CHINESE_LINE})
        if response.status_code == 200:
            open_streams.append(response)
        else:
            refused += 1
            assert response.status_code == 429
    assert budget_status(tenant=world_a.tenant).reserved <= 12_000 and refused >= 3
    for response in open_streams:
        read_events(response)
    ledger = budget_status(tenant=world_a.tenant)
    assert ledger.reserved == 0 and ledger.used <= 12_000
