"""The results partial and the review around it: who sees which scores, adjustments with reasons
(audited, AI score still shown), comments, disputes, trends, escaping, and the API."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AuditEvent, Role
from scoring import selectors
from scoring.models import BehaviorScore, Dispute, DisputeStatus, TurnComment
from tests.scoring.factories import DISMISSIVE_LINES, ended_session, scored_session

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def _url(world, session, suffix=""):
    return f"/t/{world.tenant.slug}/sessions/{session.id}/scores/{suffix}"


def _behavior(world, score, key="empathy") -> BehaviorScore:
    return BehaviorScore.objects.for_tenant(world.tenant).get(session_score=score, behavior=key)


def test_the_rep_sees_scores_with_evidence_links_focus_and_policies(world_a, client_for):
    session, score = scored_session(world_a.member(Role.REP))
    body = client_for(world_a.member(Role.REP)).get(_url(world_a, session), **HX).content.decode()
    assert f">{score.overall}<" in body
    empathy = _behavior(world_a, score)
    quote = empathy.evidence[0]
    assert f'href="#turn-{quote["turn"]}"' in body
    # People count turns from 1: the customer's opening is turn 1, the rep's first line turn 2.
    assert f'href="#turn-{quote["turn"]}">Turn {quote["turn"] + 1}</a>' in body
    assert "Practice next:" in body and "A better version of your line" in body
    assert "Policies" in body
    assert "every 1s" not in body, "a finished result stops polling"


def test_pending_scores_poll_every_second(world_a, client_for):
    session = ended_session(world_a.member(Role.REP))
    response = client_for(world_a.member(Role.REP)).get(_url(world_a, session), **HX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Scoring…" in body and 'hx-trigger="every 1s"' in body
    assert f'hx-get="{_url(world_a, session)}"' in body


def test_not_observed_is_words_not_a_number(world_a, client_for):
    session, score = scored_session(world_a.member(Role.REP), [("customer", "Hello?"), ("rep", "Hi.")])
    rows = BehaviorScore.objects.for_tenant(world_a.tenant).filter(session_score=score, ai_score__isnull=True)
    assert rows.exists()
    body = client_for(world_a.member(Role.REP)).get(_url(world_a, session), **HX).content.decode()
    assert "Not observed" in body


def test_manager_override_is_audited_and_shown_next_to_the_ai_score(world_a, client_for):
    session, score = scored_session(world_a.member(Role.REP))
    empathy = _behavior(world_a, score)
    manager = world_a.member(Role.MANAGER)
    response = client_for(manager).post(
        _url(world_a, session, f"behaviors/{empathy.id}/adjust/"),
        {"score": 85, "reason": "She named the wedding stress right away."}, **HX,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert ">85<" in body and f"AI score {empathy.ai_score}" in body
    assert "She named the wedding stress right away." in body

    empathy.refresh_from_db()
    assert empathy.adjusted_score == 85 and empathy.ai_score is not None and empathy.adjusted_by == manager.user
    event = AuditEvent.objects.for_tenant(world_a.tenant).get(action="score.adjusted")
    assert event.actor == manager.user
    assert event.data["ai_score"] == empathy.ai_score and event.data["score"] == 85
    assert event.data["reason"] == "She named the wedding stress right away."

    # The rep sees both numbers too.
    rep_body = client_for(world_a.member(Role.REP)).get(_url(world_a, session), **HX).content.decode()
    assert ">85<" in rep_body and f"AI score {empathy.ai_score}" in rep_body


def test_an_adjustment_needs_a_reason(world_a, client_for):
    session, score = scored_session(world_a.member(Role.REP))
    empathy = _behavior(world_a, score)
    response = client_for(world_a.member(Role.MANAGER)).post(
        _url(world_a, session, f"behaviors/{empathy.id}/adjust/"), {"score": 90, "reason": "  "}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    empathy.refresh_from_db()
    assert empathy.adjusted_score is None
    assert not AuditEvent.objects.for_tenant(world_a.tenant).filter(action="score.adjusted").exists()


def test_a_rep_cannot_adjust_scores(world_a, client_for):
    rep = world_a.member(Role.REP)
    session, score = scored_session(rep)
    empathy = _behavior(world_a, score)
    client = client_for(rep)
    page = client.post(_url(world_a, session, f"behaviors/{empathy.id}/adjust/"), {"score": 100, "reason": "me"})
    api = client.post(f"/api/v1/t/{world_a.tenant.slug}/session-scores/{score.id}/adjust/",
                      {"behavior": "empathy", "score": 100, "reason": "me"}, content_type="application/json")
    assert page.status_code == 403 and api.status_code == 403
    assert api.json()["error"]["code"] == "permission_denied"
    empathy.refresh_from_db()
    assert empathy.adjusted_score is None


def test_a_manager_cannot_see_or_touch_other_teams_sessions(world_a, client_for):
    session, score = scored_session(world_a.loner)  # a rep in no team the manager coaches
    empathy = _behavior(world_a, score)
    client = client_for(world_a.member(Role.MANAGER))
    api = f"/api/v1/t/{world_a.tenant.slug}"
    assert client.get(_url(world_a, session), **HX).status_code == 404
    assert client.post(_url(world_a, session, f"behaviors/{empathy.id}/adjust/"),
                       {"score": 1, "reason": "x"}).status_code == 404
    assert client.get(f"{api}/session-scores/{score.id}/").status_code == 404
    assert client.get(f"{api}/session-scores/").json()["count"] == 0
    # The enablement lead sees everyone.
    assert client_for(world_a.member(Role.ENABLEMENT_LEAD)).get(_url(world_a, session), **HX).status_code == 200


def test_another_tenant_gets_404(world_a, world_b, client_for):
    session, score = scored_session(world_a.member(Role.REP))
    outsider = client_for(world_b.member(Role.TENANT_ADMIN))
    assert outsider.get(_url(world_a, session), **HX).status_code == 404
    # world_a's ids under world_b's own slug: the same 404 as a missing session.
    assert outsider.get(f"/t/{world_b.tenant.slug}/sessions/{session.id}/scores/", **HX).status_code == 404
    assert outsider.get(f"/api/v1/t/{world_b.tenant.slug}/session-scores/{score.id}/").status_code == 404


def test_reviewers_cannot_adjust_their_own_practice(world_a, client_for):
    manager = world_a.member(Role.MANAGER)
    session, score = scored_session(manager)
    empathy = _behavior(world_a, score)
    response = client_for(manager).post(_url(world_a, session, f"behaviors/{empathy.id}/adjust/"),
                                        {"score": 100, "reason": "I was great"})
    assert response.status_code == 403


def test_comments_and_quotes_are_escaped(world_a, client_for):
    lines = [("customer", "I was charged twice!"),
             ("rep", "I understand how frustrating that is <script>alert(1)</script>, I'll call you by 5 pm today.")]
    session, score = scored_session(world_a.member(Role.REP), lines)
    manager = client_for(world_a.member(Role.MANAGER))
    response = manager.post(_url(world_a, session, "comments/"),
                            {"turn_index": 1, "text": "<img src=x onerror=alert(1)> nice"}, **HX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt; nice" in body
    assert "<script>alert(1)</script>" not in body
    assert TurnComment.objects.for_tenant(world_a.tenant).filter(session=session, turn_index=1).count() == 1
    assert '<a href="#turn-1">Turn 2</a>' in body, "the rep's first line is turn 2 to people"
    assert "Turn 1</a>" not in body and "Turn 0" not in body
    rep_body = client_for(world_a.member(Role.REP)).get(_url(world_a, session), **HX).content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt; nice" in rep_body


def test_a_comment_must_point_at_a_turn_of_the_session(world_a, client_for):
    session, _ = scored_session(world_a.member(Role.REP))
    response = client_for(world_a.member(Role.MANAGER)).post(_url(world_a, session, "comments/"),
                                                             {"turn_index": 99, "text": "hm"})
    assert response.status_code == 400
    assert not TurnComment.objects.for_tenant(world_a.tenant).exists()


def test_rep_disputes_and_manager_resolves_with_an_adjustment(world_a, client_for):
    rep = world_a.member(Role.REP)
    session, score = scored_session(rep)
    empathy = _behavior(world_a, score)
    rep_client = client_for(rep)
    response = rep_client.post(_url(world_a, session, f"behaviors/{empathy.id}/dispute/"),
                               {"note": "I acknowledged the wedding."}, **HX)
    assert response.status_code == 200 and "I acknowledged the wedding." in response.content.decode()
    dispute = Dispute.objects.for_tenant(world_a.tenant).get()
    # A second dispute on the same score while one is open is refused, in words.
    again = rep_client.post(_url(world_a, session, f"behaviors/{empathy.id}/dispute/"), {"note": "again"}, **HX)
    assert "already disputed" in again.content.decode()
    assert Dispute.objects.for_tenant(world_a.tenant).count() == 1
    # The rep can't resolve their own dispute.
    assert rep_client.post(_url(world_a, session, f"disputes/{dispute.id}/resolve/"),
                           {"resolution_note": "ok"}).status_code == 403

    response = client_for(world_a.member(Role.MANAGER)).post(
        _url(world_a, session, f"disputes/{dispute.id}/resolve/"),
        {"resolution_note": "Agreed, raising it.", "score": 80},
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    empathy.refresh_from_db()
    assert dispute.status == DisputeStatus.RESOLVED and dispute.resolved_by == world_a.member(Role.MANAGER).user
    assert empathy.adjusted_score == 80
    assert AuditEvent.objects.for_tenant(world_a.tenant).filter(action="score.adjusted").count() == 1


def test_the_trend_sparkline_covers_the_reps_recent_sessions(world_a, client_for):
    rep = world_a.member(Role.REP)
    scored_session(rep, DISMISSIVE_LINES)
    session, _ = scored_session(rep)
    body = client_for(rep).get(_url(world_a, session), **HX).content.decode()
    assert '<svg class="spark"' in body and "<polyline points=" in body
    assert "<script" not in body.split('id="session-scores')[1], "no inline scripts (CSP)"


def test_the_standalone_page_works_without_htmx(world_a, client_for):
    session, score = scored_session(world_a.member(Role.REP))
    response = client_for(world_a.member(Role.REP)).get(_url(world_a, session))
    assert response.status_code == 200
    assert "<html" in response.content.decode() and f">{score.overall}<" in response.content.decode()


def test_agreement_tracking_per_behavior(world_a):
    rep = world_a.member(Role.REP)
    manager = world_a.member(Role.MANAGER)
    from scoring import services

    scores = [scored_session(rep)[1] for _ in range(4)]
    with tenant_context(world_a.tenant):
        rows = [_behavior(world_a, score) for score in scores]
        ai = rows[0].ai_score
        services.score_adjust(tenant=world_a.tenant, actor=manager.user, reviewer=manager, behavior_score=rows[0],
                              score=min(100, ai + 5), reason="close")
        services.score_adjust(tenant=world_a.tenant, actor=manager.user, reviewer=manager, behavior_score=rows[1],
                              score=max(0, ai - 30), reason="far off")
        stats = {a.behavior: a for a in selectors.agreement_by_behavior(tenant=world_a.tenant)}
    empathy = stats["empathy"]
    assert empathy.scored == 4 and empathy.adjusted == 2
    assert empathy.share_adjusted == 0.5
    assert empathy.agreement_rate == 0.75
    assert empathy.mean_abs_adjustment == round((abs(min(100, ai + 5) - ai) + abs(max(0, ai - 30) - ai)) / 2, 1)
    assert stats["active_listening"].adjusted == 0 and stats["active_listening"].agreement_rate == 1.0


# --- API --------------------------------------------------------------------------------------


def test_api_lists_scores_with_a_pinned_query_count(world_a, client_for, django_assert_num_queries):
    rep = world_a.member(Role.REP)
    session, score = scored_session(rep)
    client = client_for(world_a.member(Role.MANAGER))
    url = f"/api/v1/t/{world_a.tenant.slug}/session-scores/"
    client.get(url)  # warm up session/auth caches
    with django_assert_num_queries(7):
        first = client.get(url)
    for _ in range(3):
        scored_session(rep)
    with django_assert_num_queries(7):
        many = client.get(url)
    assert first.json()["count"] == 1 and many.json()["count"] == 4
    filtered = client.get(url, {"session": session.id}).json()
    assert [item["id"] for item in filtered["results"]] == [score.id]
    item = filtered["results"][0]
    assert item["status"] == "done" and item["is_current"] and item["overall"] == score.overall
    empathy = next(b for b in item["behaviors"] if b["behavior"] == "empathy")
    assert empathy["evidence"] and {"turn", "quote"} <= set(empathy["evidence"][0])


def test_api_adjust_keeps_the_ai_score_visible(world_a, client_for):
    session, score = scored_session(world_a.member(Role.REP))
    ai = _behavior(world_a, score).ai_score
    response = client_for(world_a.member(Role.ENABLEMENT_LEAD)).post(
        f"/api/v1/t/{world_a.tenant.slug}/session-scores/{score.id}/adjust/",
        {"behavior": "empathy", "score": 42, "reason": "Apologised but never acknowledged the impact."},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    empathy = next(b for b in response.json()["behaviors"] if b["behavior"] == "empathy")
    assert empathy["ai_score"] == ai and empathy["final_score"] == 42 and empathy["adjusted_score"] == 42
    missing_reason = client_for(world_a.member(Role.ENABLEMENT_LEAD)).post(
        f"/api/v1/t/{world_a.tenant.slug}/session-scores/{score.id}/adjust/",
        {"behavior": "empathy", "score": 42}, content_type="application/json",
    )
    assert missing_reason.status_code == 400 and "reason" in missing_reason.json()["error"]["fields"]


def test_api_comments_and_disputes(world_a, client_for):
    rep = world_a.member(Role.REP)
    session, score = scored_session(rep)
    empathy = _behavior(world_a, score)
    api = f"/api/v1/t/{world_a.tenant.slug}"
    manager = client_for(world_a.member(Role.MANAGER))
    created = manager.post(f"{api}/turn-comments/", {"session_id": session.id, "turn_index": 1, "text": "Nice."},
                           content_type="application/json")
    assert created.status_code == 201
    assert client_for(rep).get(f"{api}/turn-comments/", {"session": session.id}).json()["count"] == 1
    assert client_for(rep).post(f"{api}/turn-comments/", {"session_id": session.id, "turn_index": 1, "text": "x"},
                                content_type="application/json").status_code == 403

    opened = client_for(rep).post(f"{api}/disputes/", {"behavior_score_id": empathy.id, "note": "Look again"},
                                  content_type="application/json")
    assert opened.status_code == 201 and opened.json()["status"] == "open"
    # Someone else's score can't be disputed: it's not theirs, so it doesn't exist for them.
    assert client_for(world_a.rep2).post(f"{api}/disputes/", {"behavior_score_id": empathy.id, "note": "x"},
                                         content_type="application/json").status_code == 404
    resolved = manager.post(f"{api}/disputes/{opened.json()['id']}/resolve/", {"resolution_note": "It stands."},
                            content_type="application/json")
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"


def test_the_schema_describes_the_scoring_api_without_warnings(tmp_path, capsys):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out), "--validate")
    captured = capsys.readouterr()
    schema = out.read_text()
    for path in ("/session-scores/", "/turn-comments/", "/disputes/{id}/resolve/", "/session-scores/{id}/adjust/"):
        assert path in schema
    noisy = [line for line in (captured.err + captured.out).splitlines()
             if "scoring" in line.lower() or any(name in line for name in
                                                ("SessionScore", "TurnComment", "Dispute", "BehaviorScore"))]
    assert not noisy, noisy
