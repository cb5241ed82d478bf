"""Per-tenant retention: the scheduled cleanup deletes recordings and transcripts older than each
tenant's settings allow, keeps scores and dashboards, runs twice harmlessly; admins set it on a page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AuditEvent, RetentionSettings, Role
from coachhub.tenancy.tasks import apply_retention
from reports.dashboards.aggregates import rep_weeks_rebuild
from reports.models import RepWeek
from scoring.models import BehaviorScore, SessionScore
from sessions.models import PracticeSession, Turn
from tests.factories import MembershipFactory
from tests.scoring.factories import PracticeSessionFactory, add_turns, scored_session

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def days_ago(days: int):
    return timezone.now() - timedelta(days=days)


def record_voice(session: PracticeSession) -> list[str]:
    """Stores a recording on each rep turn of the session, as a voice session does."""
    names = []
    with tenant_context(session.tenant):
        for turn in Turn.objects.for_tenant(session.tenant).filter(session=session, speaker="rep"):
            turn.audio.save(f"s{session.id}-{turn.index}.audio", ContentFile(b"ID3" + bytes(64)), save=True)
            names.append(turn.audio.name)
    return names


def set_retention(world, *, audio, transcript) -> None:
    with tenant_context(world.tenant):
        RetentionSettings.objects.for_tenant(world.tenant).update_or_create(
            tenant=world.tenant,
            defaults={"audio_retention_days": audio, "transcript_retention_days": transcript},
        )


def turns_of(session) -> list[Turn]:
    with tenant_context(session.tenant):
        return list(Turn.objects.for_tenant(session.tenant).filter(session=session).order_by("index"))


def score_state(session) -> dict:
    with tenant_context(session.tenant):
        score = SessionScore.objects.for_tenant(session.tenant).get(session=session, is_current=True)
        behaviors = {
            row.behavior: (row.ai_score, row.final_score, row.evidence)
            for row in BehaviorScore.objects.for_tenant(session.tenant).filter(session_score=score)
        }
    return {"overall": score.overall, "focus": score.focus_behavior, "example": score.focus_example,
            "result": score.result, "behaviors": behaviors}


def quotes_in(value) -> list[str]:
    """Every non-empty quote or example anywhere in a stored result."""
    if isinstance(value, list):
        return [q for item in value for q in quotes_in(item)]
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k in ("quote", "example") and isinstance(v, str) and v]
        return found + [q for v in value.values() for q in quotes_in(v)]
    return []


def rep_weeks(world) -> list[tuple]:
    with tenant_context(world.tenant):
        rep_weeks_rebuild(tenant=world.tenant)
        return list(
            RepWeek.objects.for_tenant(world.tenant).order_by("membership_id", "week_start").values_list(
                "membership_id", "week_start", "sessions", "scored_sessions", "behaviors", "overall_mean"
            )
        )


@pytest.fixture
def aged(world_a, world_b, media):
    """Sessions of both tenants at several ages: tenant A keeps recordings 30 and transcripts 365
    days; tenant B keeps everything forever."""
    set_retention(world_a, audio=30, transcript=365)
    set_retention(world_b, audio=None, transcript=None)
    rep_a, rep_b = world_a.member(Role.REP), world_b.member(Role.REP)
    sessions = {}
    for label, rep, days in (
        ("a_old", rep_a, 400), ("a_mid", rep_a, 60), ("a_new", rep_a, 5), ("b_old", rep_b, 400),
    ):
        session, _ = scored_session(rep, ended_at=days_ago(days))
        sessions[label] = session
        sessions[label + "_audio"] = record_voice(session)
    # A session that never ended (abandoned in the browser) ages by its last activity.
    abandoned = PracticeSessionFactory(
        membership=rep_a, status="active", end_reason="", ended_at=None,
        started_at=days_ago(401), last_activity_at=days_ago(400),
    )
    add_turns(abandoned)
    sessions["a_abandoned"] = abandoned
    return sessions


def test_old_recordings_and_transcripts_go_scores_and_dashboards_stay(world_a, world_b, aged, media):
    weeks_before = rep_weeks(world_a)
    scores_before = {label: score_state(aged[label]) for label in ("a_old", "a_mid", "a_new", "b_old")}
    b_turns_before = [(t.text, t.audio.name) for t in turns_of(aged["b_old"])]

    totals = apply_retention.delay().get()

    # Tenant A, over a year old: no transcript, no recording, no quotes; the same scores.
    old = turns_of(aged["a_old"])
    assert all(turn.text == "" and not turn.audio for turn in old)
    assert not any((media / name).exists() for name in aged["a_old_audio"])
    after = score_state(aged["a_old"])
    before = scores_before["a_old"]
    assert after["overall"] == before["overall"] and after["focus"] == before["focus"]
    assert {k: v[:2] for k, v in after["behaviors"].items()} == {k: v[:2] for k, v in before["behaviors"].items()}
    assert quotes_in(before["result"]) and not quotes_in(after["result"])
    assert after["example"] == "" and all(evidence == [] for _, _, evidence in after["behaviors"].values())
    assert after["result"]["overall"] == before["result"]["overall"]
    assert all(turn.text == "" for turn in turns_of(aged["a_abandoned"]))

    # Two months old: the recordings are gone, the transcript and its evidence stay.
    mid = turns_of(aged["a_mid"])
    assert all(turn.text for turn in mid) and not any(turn.audio for turn in mid)
    assert not any((media / name).exists() for name in aged["a_mid_audio"])
    assert score_state(aged["a_mid"]) == scores_before["a_mid"]

    # Last week's session is untouched.
    new = turns_of(aged["a_new"])
    assert all(turn.text for turn in new) and all((media / name).exists() for name in aged["a_new_audio"])
    assert score_state(aged["a_new"]) == scores_before["a_new"]

    # Tenant B keeps everything, however old.
    assert [(t.text, t.audio.name) for t in turns_of(aged["b_old"])] == b_turns_before
    assert all((media / name).exists() for name in aged["b_old_audio"])
    assert score_state(aged["b_old"]) == scores_before["b_old"]

    # Dashboards computed from what is left are the same as before.
    assert rep_weeks(world_a) == weeks_before

    # The counts are in tenant A's audit log, and nothing in B's.
    with tenant_context(world_a.tenant):
        event = AuditEvent.objects.for_tenant(world_a.tenant).get(action="retention.applied")
    assert event.actor is None
    assert event.data["recordings"] == len(aged["a_old_audio"]) + len(aged["a_mid_audio"]) == totals["recordings"]
    assert event.data["transcripts"] == 2  # the old session and the abandoned one
    assert event.data["turns"] == len(old) + len(turns_of(aged["a_abandoned"]))
    assert event.data["scores"] == 1
    with tenant_context(world_b.tenant):
        assert not AuditEvent.objects.for_tenant(world_b.tenant).filter(action="retention.applied").exists()


def test_the_rep_sees_why_an_old_transcript_is_empty(world_a, aged, client_for):
    apply_retention.delay().get()
    page = client_for(world_a.member(Role.REP)).get(f"/t/acme/sessions/{aged['a_old'].id}/")
    assert page.status_code == 200
    assert page.content.decode().count("Removed under the data retention policy.") == len(turns_of(aged["a_old"]))


def test_running_twice_removes_nothing_more_and_records_once(world_a, aged):
    apply_retention.delay()
    state = {label: (score_state(aged[label]), [(t.text, t.audio.name) for t in turns_of(aged[label])])
             for label in ("a_old", "a_mid", "a_new")}

    second = apply_retention.delay().get()

    assert second == {"recordings": 0, "transcripts": 0, "turns": 0, "scores": 0}
    assert list(second) == ["recordings", "transcripts", "turns", "scores"]
    assert state == {label: (score_state(aged[label]), [(t.text, t.audio.name) for t in turns_of(aged[label])])
                     for label in ("a_old", "a_mid", "a_new")}
    with tenant_context(world_a.tenant):
        assert AuditEvent.objects.for_tenant(world_a.tenant).filter(action="retention.applied").count() == 1


def test_a_missing_tenant_is_a_no_op(aged):
    assert apply_retention.delay(tenant_id=987654).get() == {}
    assert all(turn.text for turn in turns_of(aged["a_old"]))


def test_one_tenant_only_when_named(world_a, world_b, aged):
    set_retention(world_b, audio=30, transcript=365)
    apply_retention.delay(tenant_id=world_b.tenant.id)
    assert all(turn.text == "" for turn in turns_of(aged["b_old"]))
    assert all(turn.text for turn in turns_of(aged["a_old"]))


def test_a_tenant_that_never_chose_gets_the_defaults(world_a, media):
    rep = world_a.member(Role.REP)
    session, _ = scored_session(rep, ended_at=days_ago(RetentionSettings.DEFAULT_AUDIO_DAYS + 10))
    names = record_voice(session)

    apply_retention.delay()

    turns = turns_of(session)
    assert not any(turn.audio for turn in turns) and not any((media / name).exists() for name in names)
    assert all(turn.text for turn in turns)  # transcripts are kept for a year by default


def test_a_late_score_on_an_erased_transcript_loses_its_quotes_next_run(world_a, aged):
    """A scoring job that finishes after the cleanup (it read the lines earlier) leaves quotes; the
    next run removes them."""
    apply_retention.delay()
    session = aged["a_old"]
    with tenant_context(world_a.tenant):
        SessionScore.objects.for_tenant(world_a.tenant).filter(session=session).update(
            focus_example="So the suit arrived in the wrong size?",
            result={"behaviors": {"empathy": {"score": 80, "evidence": [{"turn": 1, "quote": "so sorry"}]}}},
        )

    second = apply_retention.delay().get()

    assert second["scores"] == 1 and second["transcripts"] == 0
    state = score_state(session)
    assert state["example"] == "" and not quotes_in(state["result"])
    assert state["result"]["behaviors"]["empathy"]["score"] == 80


# --- the settings page ----------------------------------------------------------------------------


def test_admin_sets_retention_and_it_is_audited(world_a, world_b, client_for):
    admin = world_a.member(Role.TENANT_ADMIN)
    client = client_for(admin)
    url = f"/t/{world_a.tenant.slug}/settings/retention/"
    page = client.get(url)
    assert page.status_code == 200 and "30" in page.content.decode() and "365" in page.content.decode()

    response = client.post(url, {"audio_retention_days": "14", "transcript_retention_days": ""})

    assert response.status_code == 302
    with tenant_context(world_a.tenant):
        row = RetentionSettings.objects.for_tenant(world_a.tenant).get()
        event = AuditEvent.objects.for_tenant(world_a.tenant).get(action="settings.retention_changed")
    assert (row.audio_retention_days, row.transcript_retention_days) == (14, None)
    assert event.actor == admin.user
    assert event.data == {"audio_retention_days": [30, 14], "transcript_retention_days": [365, None]}
    with tenant_context(world_b.tenant):
        assert not RetentionSettings.objects.for_tenant(world_b.tenant).exists()


@pytest.mark.parametrize(
    "audio, transcript, message",
    [
        ("400", "365", "can&#x27;t be kept longer"),
        ("", "365", "can&#x27;t be kept longer"),
        ("0", "", "greater than or equal to 1"),
        ("5000", "", "less than or equal to 3650"),
        ("ten", "", "Enter a whole number"),
    ],
)
def test_bad_retention_is_explained_and_not_saved(world_a, client_for, audio, transcript, message):
    client = client_for(world_a.member(Role.TENANT_ADMIN))
    response = client.post(
        f"/t/{world_a.tenant.slug}/settings/retention/",
        {"audio_retention_days": audio, "transcript_retention_days": transcript},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_context(world_a.tenant):
        assert not RetentionSettings.objects.for_tenant(world_a.tenant).exists()
        assert not AuditEvent.objects.for_tenant(world_a.tenant).filter(action="settings.retention_changed").exists()


def test_only_admins_of_the_tenant_change_retention(world_a, world_b, client_for):
    url = f"/t/{world_a.tenant.slug}/settings/retention/"
    data = {"audio_retention_days": "1", "transcript_retention_days": "1"}
    for role in (Role.REP, Role.MANAGER, Role.ENABLEMENT_LEAD):
        assert client_for(world_a.member(role)).post(url, data).status_code == 403
    assert client_for(world_b.member(Role.TENANT_ADMIN)).post(url, data).status_code == 404
    with tenant_context(world_a.tenant):
        assert not RetentionSettings.objects.for_tenant(world_a.tenant).exists()


def test_settings_page_offers_erasure_of_members_of_its_own_tenant_only(world_a, world_b, client_for):
    MembershipFactory(tenant=world_a.tenant, user=world_b.rep2.user)  # also a member of B
    body = client_for(world_a.member(Role.TENANT_ADMIN)).get(f"/t/{world_a.tenant.slug}/settings/retention/")
    text = body.content.decode()
    assert world_a.loner.user.email in text and world_b.rep2.user.email in text
    assert world_b.loner.user.email not in text
    assert world_b.tenant.name not in text
