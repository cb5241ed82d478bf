"""A voice turn's delivery reads as words on the results page, never as Python data."""

import pytest

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role
from sessions import services
from tests.sessions.helpers import publish_library_scenario

# The shape voice_turn_transcribe stores (sessions/voice: Delivery.to_dict plus the timings).
DELIVERY = {
    "words_per_minute": 141.6,
    "pauses": {"count": 2, "longest_pause_s": 1.84},
    "fillers": {"count": 3, "which": {"um": 2, "like": 1}},
    "duration_s": 6.2,
    "transcription_s": 0.41,
}


@pytest.mark.django_db
def test_the_results_page_says_how_a_voice_line_was_delivered_in_words(world_a, client_for):
    tenant, rep = world_a.tenant, world_a.member(Role.REP)
    with tenant_context(tenant):
        session = services.session_start(tenant=tenant, rep=rep, version=publish_library_scenario(tenant), mode="voice")
        services.session_turn_exchange(
            tenant=tenant, rep=rep, session_id=session.id, text="I'm sorry, um, let me like check that.",
            delivery=DELIVERY,
        )
        services.session_end(tenant=tenant, rep=rep, session_id=session.id)
    page = client_for(rep).get(f"/t/acme/sessions/{session.id}/").content.decode()
    assert "142 words a minute · 2 long pauses (longest 1.8 s) · 3 filler words: um ×2, like" in page
    assert "{&#x27;" not in page and "words_per_minute" not in page, "no raw data under the line"


@pytest.mark.django_db
def test_the_transcript_numbers_turns_from_one(world_a, client_for):
    tenant, rep = world_a.tenant, world_a.member(Role.REP)
    with tenant_context(tenant):
        session = services.session_start(tenant=tenant, rep=rep, version=publish_library_scenario(tenant), mode="text")
        services.session_turn_exchange(tenant=tenant, rep=rep, session_id=session.id, text="I'm sorry, let me check.")
        services.session_end(tenant=tenant, rep=rep, session_id=session.id)
    page = client_for(rep).get(f"/t/acme/sessions/{session.id}/").content.decode()
    # The customer's opening is #1 and the rep's first line #2; anchors keep the stored positions.
    assert 'id="turn-0"' in page and "· #1 ·" in page and "· #2 ·" in page
    assert "· #0 " not in page and "Turn 0" not in page
