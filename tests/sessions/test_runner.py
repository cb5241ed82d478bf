"""The role-play runner through its pages: start, stream turns, end, results; turns are never
lost; sessions stay with their rep and tenant."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from coachhub.tenancy.context import tenant_context
from scenarios.models import AssignmentRecipient, ScenarioVersion
from sessions.models import PracticeSession, Turn
from tests.sessions.helpers import publish_library_scenario, read_events
from tests.sessions.scripts import DISMISSIVE_SCRIPT, SUPPORTIVE_SCRIPTS

pytestmark = pytest.mark.django_db


def _start(client: Client, slug: str, version: ScenarioVersion, mode: str = "text") -> int:
    response = client.post(f"/t/{slug}/sessions/start/", {"version_id": version.id, "mode": mode})
    assert response.status_code == 302, response.content
    return int(response["Location"].rstrip("/").split("/")[-1])


def _say(client: Client, slug: str, session_id: int, text: str):
    return read_events(client.post(f"/t/{slug}/sessions/{session_id}/turns/", {"text": text}))


def test_rep_practices_to_resolution_and_lands_on_results(world_a, client_for):
    version = publish_library_scenario(world_a.tenant)
    rep = client_for(world_a.member("rep"))
    session_id = _start(rep, "acme", version)
    page = rep.get(f"/t/acme/sessions/{session_id}/")
    assert page.status_code == 200 and b"Your brief" in page.content
    assert version.as_spec().opening_line.encode() in page.content.replace(b"&#x27;", b"'")

    end = None
    for line in SUPPORTIVE_SCRIPTS[version.scenario.slug]:
        events = _say(rep, "acme", session_id, line)
        kinds = [kind for kind, _ in events]
        assert kinds[0] == "saved" and "delta" in kinds and kinds[-1] == "done", events
        done = events[-1][1]
        assert 0 <= done["turn"]["frustration"] <= 100
        if done["status"] == "ended":
            end = done["end_reason"]
            break
    assert end == "resolved"
    with tenant_context(world_a.tenant):
        session = PracticeSession.objects.get(id=session_id)
        turns = list(Turn.objects.filter(session=session).order_by("index"))
        version.refresh_from_db()
    assert session.status == "ended" and session.end_reason == "resolved"
    assert [t.index for t in turns] == list(range(len(turns)))
    assert all(t.frustration is not None for t in turns if t.speaker == "customer")
    assert all(t.latency_ms is not None for t in turns if t.speaker == "rep")
    assert version.used_at is not None, "a used version is locked"
    results = rep.get(f"/t/acme/sessions/{session_id}/")
    assert b"Frustration curve" in results.content and b"Transcript" in results.content


def test_dismissive_rep_gets_escalated(world_a, client_for):
    version = publish_library_scenario(world_a.tenant)
    rep = client_for(world_a.member("rep"))
    session_id = _start(rep, "acme", version)
    reasons = []
    for line in DISMISSIVE_SCRIPT:
        done = _say(rep, "acme", session_id, line)[-1]
        if done[0] == "done" and done[1]["status"] == "ended":
            reasons.append(done[1]["end_reason"])
            break
    assert reasons == ["escalated"]


def test_bad_turns_are_refused_and_the_session_is_intact(world_a, client_for):
    version = publish_library_scenario(world_a.tenant)
    rep = client_for(world_a.member("rep"))
    session_id = _start(rep, "acme", version)
    empty = rep.post(f"/t/acme/sessions/{session_id}/turns/", {"text": "   "})
    assert empty.status_code == 422 and read_events(empty)[0][1]["code"] == "empty_turn"
    huge = rep.post(f"/t/acme/sessions/{session_id}/turns/", {"text": "x" * 2001})
    assert huge.status_code == 422 and "2,001 characters" in read_events(huge)[0][1]["message"]
    assert _say(rep, "acme", session_id, "I'm sorry about this, let me help.")[-1][0] == "done"
    with tenant_context(world_a.tenant):
        assert Turn.objects.filter(session_id=session_id).count() == 3


def test_ended_session_refuses_turns_and_end_is_idempotent(world_a, client_for):
    version = publish_library_scenario(world_a.tenant)
    rep = client_for(world_a.member("rep"))
    session_id = _start(rep, "acme", version)
    assert rep.post(f"/t/acme/sessions/{session_id}/end/").status_code == 302
    assert rep.post(f"/t/acme/sessions/{session_id}/end/").status_code == 302
    refused = rep.post(f"/t/acme/sessions/{session_id}/turns/", {"text": "hello?"})
    assert refused.status_code == 409 and read_events(refused)[0][1]["code"] == "session_ended"
    with tenant_context(world_a.tenant):
        session = PracticeSession.objects.get(id=session_id)
        assert session.end_reason == "rep_ended" and Turn.objects.filter(session=session).count() == 1


def test_only_the_sessions_rep_can_take_turns_and_outsiders_get_404(world_a, world_b, client_for):
    version = publish_library_scenario(world_a.tenant)
    rep = client_for(world_a.member("rep"))
    session_id = _start(rep, "acme", version)
    manager = client_for(world_a.member("manager"))
    assert manager.get(f"/t/acme/sessions/{session_id}/").status_code == 200  # coaches the rep's team
    assert manager.post(f"/t/acme/sessions/{session_id}/turns/", {"text": "hi"}).status_code == 404
    assert client_for(world_a.rep2).get(f"/t/acme/sessions/{session_id}/").status_code == 404
    outsider = client_for(world_b.member("tenant_admin"))
    assert outsider.get(f"/t/acme/sessions/{session_id}/").status_code == 404
    assert outsider.get(f"/t/bolt/sessions/{session_id}/").status_code == 404


def test_draft_versions_are_only_for_authors_to_try(world_a, client_for):
    version = publish_library_scenario(world_a.tenant)
    with tenant_context(world_a.tenant):
        ScenarioVersion.objects.filter(pk=version.pk).update(status="draft")
    rep = client_for(world_a.member("rep"))
    assert rep.post("/t/acme/sessions/start/", {"version_id": version.id}).status_code == 404
    lead = client_for(world_a.member("enablement_lead"))
    session_id = _start(lead, "acme", version)
    with tenant_context(world_a.tenant):
        assert PracticeSession.objects.get(id=session_id).is_trial


def test_assignment_session_counts_as_an_attempt(world_a, client_for):
    version = publish_library_scenario(world_a.tenant)
    from scenarios.models import Assignment

    with tenant_context(world_a.tenant):
        assignment = Assignment.objects.create(
            tenant=world_a.tenant, scenario=version.scenario, version=version
        )
        recipient = AssignmentRecipient.objects.create(
            tenant=world_a.tenant, assignment=assignment, membership=world_a.member("rep")
        )
    rep = client_for(world_a.member("rep"))
    practice = rep.get("/t/acme/practice/")
    assert version.scenario.title.encode() in practice.content
    response = rep.post("/t/acme/sessions/start/", {"recipient_id": recipient.id})
    session_id = int(response["Location"].rstrip("/").split("/")[-1])
    rep.post(f"/t/acme/sessions/{session_id}/end/")
    with tenant_context(world_a.tenant):
        recipient.refresh_from_db()
    assert recipient.attempts == 1 and recipient.completed_at is not None
    # Someone else's assignment can't be used.
    assert (
        client_for(world_a.rep2).post("/t/acme/sessions/start/", {"recipient_id": recipient.id}).status_code
        == 404
    )


def test_turn_flood_is_rate_limited_with_a_clear_message_and_the_session_intact(world_a, client_for, settings):
    from django.core.cache import cache

    cache.clear()
    settings.USER_RATE_LIMITS = {**settings.USER_RATE_LIMITS, "turn": "3/m"}
    version = publish_library_scenario(world_a.tenant)
    rep = client_for(world_a.member("rep"))
    session_id = _start(rep, "acme", version)
    for line in ("Hello.", "I hear you.", "Let me check."):
        assert _say(rep, "acme", session_id, line)[-1][0] == "done"
    limited = rep.post(f"/t/acme/sessions/{session_id}/turns/", {"text": "One more"})
    assert limited.status_code == 429
    assert "faster than anyone can type" in read_events(limited)[0][1]["message"]
    with tenant_context(world_a.tenant):
        assert Turn.objects.filter(session_id=session_id).count() == 7
        assert PracticeSession.objects.get(id=session_id).status == "active"


def test_a_turns_done_event_reports_its_server_side_time(world_a, client_for):
    version = publish_library_scenario(world_a.tenant)
    rep = client_for(world_a.member("rep"))
    session_id = _start(rep, "acme", version)
    done = _say(rep, "acme", session_id, "I'm sorry about this, let me help.")[-1]
    assert done[0] == "done" and isinstance(done[1]["server_ms"], float) and done[1]["server_ms"] >= 0


def test_a_turn_past_the_scenarios_time_limit_ends_the_session_as_timed_out(world_a, client_for):
    version = publish_library_scenario(world_a.tenant)
    rep = client_for(world_a.member("rep"))
    session_id = _start(rep, "acme", version)
    limit = version.as_spec().end_conditions.time_limit_minutes
    assert limit, "the library scenario has a time limit"
    with tenant_context(world_a.tenant):
        PracticeSession.objects.filter(id=session_id).update(
            started_at=timezone.now() - timedelta(minutes=limit, seconds=1)
        )
    events = _say(rep, "acme", session_id, "Sorry for the wait, let me check that for you.")
    assert events == [("error", {"code": "session_ended", "message": "Time's up for this scenario: the session has ended."})]
    with tenant_context(world_a.tenant):
        session = PracticeSession.objects.get(id=session_id)
        assert (session.status, session.end_reason) == ("ended", "timed_out")
        assert Turn.objects.filter(session_id=session_id).count() == 1, "only the opening line: the late one wasn't saved"
    assert rep.get(f"/t/acme/sessions/{session_id}/").status_code == 200


def test_a_damaged_engine_state_keeps_the_reps_line_and_offers_a_retry(world_a, client_for):
    version = publish_library_scenario(world_a.tenant)
    rep = client_for(world_a.member("rep"))
    session_id = _start(rep, "acme", version)
    with tenant_context(world_a.tenant):
        good_state = PracticeSession.objects.get(id=session_id).engine_state
        PracticeSession.objects.filter(id=session_id).update(engine_state={"engine": "something-else"})
    events = _say(rep, "acme", session_id, "I'm sorry about the suit, let me fix this.")
    assert [kind for kind, _ in events] == ["saved", "error"]
    assert events[1][1]["code"] == "customer_unavailable" and events[1][1]["retry"] is True
    with tenant_context(world_a.tenant):
        assert list(Turn.objects.filter(session_id=session_id).values_list("speaker", flat=True)) == ["customer", "rep"]
        PracticeSession.objects.filter(id=session_id).update(engine_state=good_state)
    retried = read_events(rep.post(f"/t/acme/sessions/{session_id}/reply/"))
    assert retried[-1][0] == "done" and retried[-1][1]["turn"]["index"] == 2
