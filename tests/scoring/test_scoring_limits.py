"""Per-user limit on the scoring actions people trigger (adjust a score, comment on a turn, dispute,
resolve a dispute), on the score pages and the API: a refused action says why in plain words and
changes nothing; the score and its session stay as they were."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils.html import escape

from coachhub.core.limits import SCORING_LIMITED
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AuditEvent, Role
from scoring.models import BehaviorScore, Dispute, DisputeStatus, SessionScore, TurnComment
from sessions.models import PracticeSession
from tests.scoring.factories import scored_session

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
JSON = {"content_type": "application/json"}
LIMIT = 2
RATE_LIMITED = {"error": {"code": "rate_limited", "message": SCORING_LIMITED, "fields": {}}}


@pytest.fixture(autouse=True)
def tight_scoring_limit(settings):
    cache.clear()  # the counters live in the (per-process) cache; ids can repeat between tests
    settings.USER_RATE_LIMITS = {**settings.USER_RATE_LIMITS, "scoring": f"{LIMIT}/m"}


def until_refused(send, *, is_refused) -> tuple[int, object]:
    """Sends actions until one is refused: (how many got through, the refusal). The window is a
    clock minute, so a boundary falling between two actions can reset the count once: at most
    2 × LIMIT get through, never more."""
    for sent in range(2 * LIMIT + 1):
        response = send(sent)
        if is_refused(response):
            return sent, response
        assert response.status_code in (200, 201), response.content[:500]
    pytest.fail(f"{2 * LIMIT + 1} scoring actions in a row were all accepted with a limit of {LIMIT}/m")


def page_refused(response) -> bool:
    return escape(SCORING_LIMITED) in response.content.decode()


def api_refused(response) -> bool:
    return response.status_code == 429


def behaviors(world, score) -> dict[str, BehaviorScore]:
    with tenant_context(world.tenant):
        return {row.behavior: row for row in BehaviorScore.objects.for_tenant(world.tenant).filter(session_score=score)}


def audits(world, action: str) -> int:
    with tenant_context(world.tenant):
        return AuditEvent.objects.for_tenant(world.tenant).filter(action=action).count()


def assert_score_intact(world, session, score) -> None:
    with tenant_context(world.tenant):
        session.refresh_from_db()
        rows = list(SessionScore.objects.for_tenant(world.tenant).filter(session=session))
    assert session.status == "ended"
    assert [row.id for row in rows] == [score.id] and rows[0].is_current and rows[0].overall == score.overall


def test_adjusting_on_the_page_past_the_limit_is_refused_in_words_and_changes_nothing(world_a, client_for):
    session, score = scored_session(world_a.member(Role.REP))
    empathy = behaviors(world_a, score)["empathy"]
    manager = client_for(world_a.member(Role.MANAGER))
    url = f"/t/{world_a.tenant.slug}/sessions/{session.id}/scores/behaviors/{empathy.id}/adjust/"

    accepted, refused = until_refused(
        lambda n: manager.post(url, {"score": 70 + n, "reason": f"Review {n}."}, **HX), is_refused=page_refused
    )

    assert LIMIT <= accepted <= 2 * LIMIT
    assert refused.status_code == 200  # HTMX swaps only 2xx: the refusal travels in the partial
    empathy.refresh_from_db()
    assert empathy.adjusted_score == 70 + accepted - 1, "the refused adjustment was written"
    assert empathy.adjusted_reason == f"Review {accepted - 1}."
    assert audits(world_a, "score.adjusted") == accepted
    assert_score_intact(world_a, session, score)

    # Without HTMX the page redirects to the scores page, which says why.
    plain = manager.post(url, {"score": 1, "reason": "Once more."}, follow=True)
    assert plain.status_code == 200 and plain.redirect_chain[-1][0].endswith("/scores/")
    empathy.refresh_from_db()
    if page_refused(plain):
        assert empathy.adjusted_score == 70 + accepted - 1
    else:  # the minute turned since the refusal: a new window, and this one went through whole
        assert empathy.adjusted_score == 1 and audits(world_a, "score.adjusted") == accepted + 1


def test_adjusting_by_api_past_the_limit_answers_429_in_the_one_error_shape(world_a, client_for):
    session, score = scored_session(world_a.member(Role.REP))
    lead = client_for(world_a.member(Role.ENABLEMENT_LEAD))
    url = f"/api/v1/t/{world_a.tenant.slug}/session-scores/{score.id}/adjust/"

    accepted, refused = until_refused(
        lambda n: lead.post(url, {"behavior": "active_listening", "score": 40 + n, "reason": f"Take {n}."}, **JSON),
        is_refused=api_refused,
    )

    assert LIMIT <= accepted <= 2 * LIMIT
    assert refused.json() == RATE_LIMITED
    listening = behaviors(world_a, score)["active_listening"]
    assert listening.adjusted_score == 40 + accepted - 1 and listening.adjusted_reason == f"Take {accepted - 1}."
    assert audits(world_a, "score.adjusted") == accepted
    assert_score_intact(world_a, session, score)
    # Reading is not limited: the score is still there to see.
    assert lead.get(f"/api/v1/t/{world_a.tenant.slug}/session-scores/{score.id}/").status_code == 200


def test_a_rep_disputing_past_the_limit_is_refused_and_no_dispute_is_left_half_open(world_a, client_for):
    rep = world_a.member(Role.REP)
    session, score = scored_session(rep)
    rows = list(behaviors(world_a, score).values())
    assert len(rows) >= 2 * LIMIT + 1, "the rubric needs a behavior per attempt"
    rep_client = client_for(rep)
    base = f"/t/{world_a.tenant.slug}/sessions/{session.id}/scores/behaviors"

    accepted, refused = until_refused(
        lambda n: rep_client.post(f"{base}/{rows[n].id}/dispute/", {"note": f"Look at turn {n}."}, **HX),
        is_refused=page_refused,
    )

    assert LIMIT <= accepted <= 2 * LIMIT
    with tenant_context(world_a.tenant):
        disputed = set(Dispute.objects.for_tenant(world_a.tenant).values_list("behavior_score_id", flat=True))
    assert disputed == {row.id for row in rows[:accepted]}, "the refused dispute was stored"
    assert_score_intact(world_a, session, score)

    # The API counts against the same allowance and answers in the one error shape.
    api = rep_client.post(f"/api/v1/t/{world_a.tenant.slug}/disputes/",
                          {"behavior_score_id": rows[-1].id, "note": "And this one."}, **JSON)
    if api.status_code == 201:  # the minute turned between the two calls: a new window opened
        disputed.add(rows[-1].id)
    else:
        assert api.status_code == 429 and api.json() == RATE_LIMITED
    with tenant_context(world_a.tenant):
        assert Dispute.objects.for_tenant(world_a.tenant).count() == len(disputed)


def test_comments_and_resolutions_share_the_reviewers_allowance_and_a_refused_resolution_leaves_it_open(
    world_a, client_for
):
    rep = world_a.member(Role.REP)
    session, score = scored_session(rep)
    empathy = behaviors(world_a, score)["empathy"]
    api = f"/api/v1/t/{world_a.tenant.slug}"
    opened = client_for(rep).post(f"{api}/disputes/", {"behavior_score_id": empathy.id, "note": "Look again"}, **JSON)
    assert opened.status_code == 201
    dispute_id = opened.json()["id"]
    manager = client_for(world_a.member(Role.MANAGER))

    accepted, refused = until_refused(
        lambda n: manager.post(f"{api}/turn-comments/", {"session_id": session.id, "turn_index": 1, "text": f"Note {n}"},
                               **JSON),
        is_refused=api_refused,
    )
    assert refused.json() == RATE_LIMITED
    with tenant_context(world_a.tenant):
        assert TurnComment.objects.for_tenant(world_a.tenant).count() == accepted

    resolve_page = f"/t/{world_a.tenant.slug}/sessions/{session.id}/scores/disputes/{dispute_id}/resolve/"
    page = manager.post(resolve_page, {"resolution_note": "Agreed.", "score": 95}, **HX)
    by_api = manager.post(f"{api}/disputes/{dispute_id}/resolve/", {"resolution_note": "Agreed.", "score": 95}, **JSON)
    with tenant_context(world_a.tenant):
        dispute = Dispute.objects.for_tenant(world_a.tenant).get(id=dispute_id)
    empathy.refresh_from_db()
    if page_refused(page) and by_api.status_code == 429:
        assert by_api.json() == RATE_LIMITED
        assert dispute.status == DisputeStatus.OPEN and dispute.resolved_by is None
        assert empathy.adjusted_score is None, "a refused resolution changed the score"
        assert audits(world_a, "score.adjusted") == 0 and audits(world_a, "score.dispute_resolved") == 0
    else:  # the minute turned in between and one went through: then exactly once, completely
        assert dispute.status == DisputeStatus.RESOLVED and empathy.adjusted_score == 95
        assert audits(world_a, "score.dispute_resolved") == 1

    # Another reviewer has their own allowance and can answer the rep.
    lead = client_for(world_a.member(Role.ENABLEMENT_LEAD))
    if dispute.status == DisputeStatus.OPEN:
        answered = lead.post(f"{api}/disputes/{dispute_id}/resolve/", {"resolution_note": "It stands."}, **JSON)
        assert answered.status_code == 200 and answered.json()["status"] == "resolved"
    assert_score_intact(world_a, session, score)
    with tenant_context(world_a.tenant):
        assert PracticeSession.objects.for_tenant(world_a.tenant).get(id=session.id).status == "ended"
