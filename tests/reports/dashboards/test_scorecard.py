"""The weekly scorecard and rep drill-down: every number equals a naive computation from the raw rows
(adjusted scores included), people see only whom they may see, the aggregates follow score writes,
adjustments and session ends, the CSV matches the table, and the page's query count is constant."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role, TeamRole
from reports.dashboards.models import RepWeek
from reports.dashboards.selectors import scorecard_build, scorecard_stream
from reports.kpi.importing import ensure_builtin_metrics
from reports.models import KpiMetric, KpiValue
from scenarios.behaviors import behavior_label
from sessions.models import PracticeSession
from tests.factories import MembershipFactory, TeamFactory, TeamMembershipFactory, UserFactory
from tests.reports.dashboards.helpers import adjust, naive_week, score_in_week, week_ago

pytestmark = pytest.mark.django_db


def _url(world, name="scorecard", **kwargs):
    return reverse(name, kwargs={"tenant_slug": world.tenant.slug, **kwargs})


@pytest.fixture
def history(world_a, django_capture_on_commit_callbacks):
    """Two reps of the manager's team and the loner, over two weeks, with adjustments and a trial."""
    w = world_a
    last, before = week_ago(1), week_ago(2)
    scores = {}
    with django_capture_on_commit_callbacks(execute=True):
        scores["rep_before"] = score_in_week(w.member(Role.REP), before, good=False)[1]
        scores["rep_last_1"] = score_in_week(w.member(Role.REP), last, day=1)[1]
        scores["rep_last_2"] = score_in_week(w.member(Role.REP), last, day=3, good=False)[1]
        scores["rep2_last"] = score_in_week(w.rep2, last, day=2)[1]
        scores["rep2_before"] = score_in_week(w.rep2, before, day=4)[1]
        scores["loner_last"] = score_in_week(w.loner, last)[1]
        score_in_week(w.member(Role.REP), last, day=4, is_trial=True)  # never counted
    with django_capture_on_commit_callbacks(execute=True):
        adjust(w, scores["rep_last_2"], "empathy", 91)
        adjust(w, scores["rep2_before"], "active_listening", 12)
        adjust(w, scores["rep_last_1"], "next_step_ownership", 3)
    with tenant_context(w.tenant):
        ensure_builtin_metrics(tenant=w.tenant)
        csat = KpiMetric.objects.for_tenant(w.tenant).get(key="csat")
        aht = KpiMetric.objects.for_tenant(w.tenant).get(key="avg_handling_time")
        for membership, week, metric, value in [
            (w.member(Role.REP), last, csat, 81.5), (w.member(Role.REP), before, csat, 78.0),
            (w.rep2, last, csat, 90.0), (w.member(Role.REP), last, aht, 385.0), (w.rep2, before, aht, 400.0),
        ]:
            KpiValue.objects.for_tenant(w.tenant).create(tenant=w.tenant, membership=membership, metric=metric,
                                                        period_start=week, value=value)
    return {"last": last, "before": before, "scores": scores}


def _membership(world, role):
    member = world.member(role)
    member.tenant = world.tenant
    return member


def test_every_scorecard_number_equals_the_raw_rows(world_a, history):
    w = world_a
    card = scorecard_build(viewer=_membership(w, Role.ENABLEMENT_LEAD), week=history["last"])
    assert {row.email for row in card.rows} == {"rep@acme.example", "rep2@acme.example", "loner@acme.example"}
    checked = 0
    for row in card.rows:
        now = naive_week(w.tenant, row.membership_id, history["last"])
        before = naive_week(w.tenant, row.membership_id, history["before"])
        assert row.sessions == now["sessions"]
        assert row.overall.value == pytest.approx(now["overall"], abs=0.01)
        if before["overall"] is not None:
            assert row.overall.change == pytest.approx(now["overall"] - before["overall"], abs=0.02)
        for key, cell in zip(card.behaviors, row.behaviors, strict=True):
            expected = now["behaviors"].get(key)
            assert (cell.value is None) == (expected is None)
            if expected is not None:
                assert cell.value == pytest.approx(expected, abs=0.01)
                checked += 1
                if key in before["behaviors"]:
                    assert cell.change == pytest.approx(expected - before["behaviors"][key], abs=0.02)
    assert checked >= 12
    rep_row = next(row for row in card.rows if row.email == "rep@acme.example")
    assert rep_row.sessions == 2  # the trial session is left out
    # The adjusted empathy (91) counts instead of the AI's score.
    empathy = rep_row.behaviors[card.behaviors.index("empathy")].value
    ai_first = naive_week(w.tenant, rep_row.membership_id, history["last"])["behaviors"]["empathy"]
    assert empathy == pytest.approx(ai_first, abs=0.01) and 91 in _finals(w, history["scores"]["rep_last_2"], "empathy")
    csat = rep_row.kpis[[m.key for m in card.metrics].index("csat")]
    assert csat.value == 81.5 and csat.change == pytest.approx(3.5) and csat.better is True


def _finals(world, score, behavior):
    from scoring.models import BehaviorScore

    with tenant_context(world.tenant):
        row = BehaviorScore.objects.for_tenant(world.tenant).get(session_score=score, behavior=behavior)
    return [row.final_score]


def test_the_page_shows_the_numbers_and_sorts_server_side(world_a, history, client_for):
    w = world_a
    client = client_for(w.member(Role.MANAGER))
    response = client.get(_url(w), {"week": history["last"].isoformat(), "sort": "-overall"})
    assert response.status_code == 200
    body = response.content.decode()
    card = scorecard_build(viewer=_membership(w, Role.MANAGER), week=history["last"], sort="-overall")
    values = [row.overall.value for row in card.rows]
    assert values == sorted(values, reverse=True)
    names = [row.name for row in card.rows]
    assert body.index(names[0]) < body.index(names[1])
    for row in card.rows:
        assert row.overall.shown in body
    ascending = client.get(_url(w), {"week": history["last"].isoformat(), "sort": "overall"}).content.decode()
    assert ascending.index(names[1]) < ascending.index(names[0])
    by_empathy = scorecard_build(viewer=_membership(w, Role.MANAGER), week=history["last"], sort="b:empathy")
    assert by_empathy.sort == "b:empathy"
    assert [r.behaviors[by_empathy.behaviors.index("empathy")].value for r in by_empathy.rows] == sorted(
        r.behaviors[by_empathy.behaviors.index("empathy")].value for r in by_empathy.rows)


def test_the_scorecard_names_the_scorer_version_behind_its_scores(world_a, history, client_for):
    from scoring.engines import EmbeddedScorer

    body = client_for(world_a.member(Role.MANAGER)).get(
        _url(world_a), {"week": history["last"].isoformat()}
    ).content.decode()
    assert f"Behavior scores by the embedded {EmbeddedScorer.version} scorer." in body


def test_csv_export_matches_the_table(world_a, history, client_for):
    w = world_a
    client = client_for(w.member(Role.TENANT_ADMIN))
    response = client.get(_url(w), {"week": history["last"].isoformat(), "format": "csv"})
    assert response["Content-Type"].startswith("text/csv") and response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    card = scorecard_build(viewer=_membership(w, Role.TENANT_ADMIN), week=history["last"])
    assert [r["rep_email"] for r in rows] == [row.email for row in card.rows]
    for line, row in zip(rows, card.rows, strict=True):
        naive = naive_week(w.tenant, row.membership_id, history["last"])
        assert int(line["sessions"]) == naive["sessions"]
        for key, value in naive["behaviors"].items():
            assert float(line[key]) == pytest.approx(value, abs=0.01)
        assert (line["overall"] == "") == (naive["overall"] is None)


def test_manager_sees_only_their_teams_and_reps_are_refused(world_a, world_b, history, client_for):
    w = world_a
    manager = client_for(w.member(Role.MANAGER))
    body = manager.get(_url(w), {"week": history["last"].isoformat()}).content.decode()
    assert "rep2@acme.example" in body and "loner@acme.example" not in body
    lead_body = client_for(w.member(Role.ENABLEMENT_LEAD)).get(_url(w), {"week": history["last"].isoformat()})
    assert "loner@acme.example" in lead_body.content.decode()
    assert client_for(w.member(Role.REP)).get(_url(w)).status_code == 403
    # Drill-down: own team 200, another team 404, another tenant's rep 404, reps 403.
    assert manager.get(_url(w, "rep_detail", membership_id=w.rep2.id)).status_code == 200
    assert manager.get(_url(w, "rep_detail", membership_id=w.loner.id)).status_code == 404
    assert manager.get(_url(w, "rep_detail", membership_id=world_b.rep2.id)).status_code == 404
    assert client_for(w.member(Role.REP)).get(_url(w, "rep_detail", membership_id=w.member(Role.REP).id)
                                              ).status_code == 403
    # A rep's own progress page shows only themself.
    own = client_for(w.member(Role.REP)).get(_url(w, "my_progress")).content.decode()
    assert "rep2@acme.example" not in own and "loner@acme.example" not in own


def test_drill_down_shows_scores_sessions_with_evidence_links_and_kpis(world_a, history, client_for):
    w = world_a
    client = client_for(w.member(Role.MANAGER))
    rep = w.member(Role.REP)
    response = client.get(_url(w, "rep_detail", membership_id=rep.id))
    body = response.content.decode()
    with tenant_context(w.tenant):
        sessions = PracticeSession.objects.for_tenant(w.tenant).filter(membership=rep, is_trial=False)
        for session in sessions:
            assert reverse("session_detail", kwargs={"tenant_slug": w.tenant.slug, "session_id": session.id}) in body
    assert "<svg" in body and "polyline" in body and "81.5%" in body
    assert 'style="' not in body  # CSP: no inline styles
    scores_csv = client.get(_url(w, "rep_detail", membership_id=rep.id), {"format": "csv", "table": "scores"})
    lines = list(csv.DictReader(io.StringIO(scores_csv.content.decode())))
    last = next(line for line in lines if line["week_start"] == history["last"].isoformat())
    naive = naive_week(w.tenant, rep.id, history["last"])
    assert float(last["empathy"]) == pytest.approx(naive["behaviors"]["empathy"], abs=0.01)
    kpis_csv = client.get(_url(w, "rep_detail", membership_id=rep.id), {"format": "csv", "table": "kpis"})
    assert "81.5" in kpis_csv.content.decode()


def test_aggregates_follow_score_writes_adjustments_and_session_ends(world_a, django_capture_on_commit_callbacks):
    w = world_a
    rep = w.member(Role.REP)
    week = week_ago(1)
    with django_capture_on_commit_callbacks(execute=True):
        _, score = score_in_week(rep, week)
    with tenant_context(w.tenant):
        row = RepWeek.objects.for_tenant(w.tenant).get(membership=rep, week_start=week)
    assert row.sessions == 1 and row.scored_sessions == 1
    before = row.behaviors["empathy"]["mean"]
    with django_capture_on_commit_callbacks(execute=True):
        adjust(w, score, "empathy", 7 if before > 50 else 97)
    with tenant_context(w.tenant):
        row.refresh_from_db()
    assert row.behaviors["empathy"]["mean"] == (7 if before > 50 else 97)
    # A session that ends (and is not yet scored) counts as practice at once.
    from sessions.services import session_end
    from tests.scoring.factories import PracticeSessionFactory

    active = PracticeSessionFactory(membership=rep, status="active", end_reason="", ended_at=None)
    rep.tenant = w.tenant
    # Only the dashboard refresh follows the end (not scoring), as when the scoring worker is still busy.
    from scoring.services import on_session_ended
    from sessions.events import register_session_listener, unregister_session_listener

    unregister_session_listener("ended", on_session_ended)
    try:
        with tenant_context(w.tenant), django_capture_on_commit_callbacks(execute=True):
            session_end(tenant=w.tenant, rep=rep, session_id=active.id)
    finally:
        register_session_listener("ended", on_session_ended)
    with tenant_context(w.tenant):
        current = RepWeek.objects.for_tenant(w.tenant).get(membership=rep, week_start=week_ago(0))
    assert current.sessions == 1 and current.scored_sessions == 0


def test_refresh_task_is_idempotent_and_a_vanished_session_is_a_noop(world_a, django_capture_on_commit_callbacks):
    from reports.dashboards.tasks import refresh_rep_week

    w = world_a
    with django_capture_on_commit_callbacks(execute=True):
        session, _ = score_in_week(w.member(Role.REP), week_ago(1))
    with tenant_context(w.tenant):
        first = list(RepWeek.objects.for_tenant(w.tenant).values("sessions", "behaviors", "overall_mean"))
    refresh_rep_week(tenant_id=w.tenant.id, session_id=session.id)
    refresh_rep_week(tenant_id=w.tenant.id, session_id=session.id)
    with tenant_context(w.tenant):
        assert list(RepWeek.objects.for_tenant(w.tenant).values("sessions", "behaviors", "overall_mean")) == first
        session.delete()
    refresh_rep_week(tenant_id=w.tenant.id, session_id=session.id)  # gone: nothing happens
    refresh_rep_week(tenant_id=999999, session_id=1)


def test_scorecard_query_count_is_constant(world_a, client_for, django_assert_max_num_queries,
                                           django_capture_on_commit_callbacks):
    w = world_a
    client = client_for(w.member(Role.MANAGER))
    week = week_ago(1)

    def add_reps(count):
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(count):
                rep = MembershipFactory(tenant=w.tenant, role=Role.REP, user=UserFactory())
                TeamMembershipFactory(team=w.team, membership=rep, kind=TeamRole.MEMBER)
                score_in_week(rep, week)

    add_reps(2)
    client.get(_url(w), {"week": week.isoformat()})  # warm the session
    with django_assert_max_num_queries(13) as few:  # 13: one more names the scorer versions behind the scores
        assert client.get(_url(w), {"week": week.isoformat()}).status_code == 200
    add_reps(8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(_url(w), {"week": week.isoformat(), "sort": "-b:empathy"})
    assert response.content.decode().count('data-rep="') == 12


def _seed_rep_weeks(world, week, count, *, team=None, prefix="agent"):
    """`count` extra reps with aggregate rows written directly (ties, blanks, no row at all, several
    teams, KPIs): what sorting and paging must cope with, without scoring a session per rep."""
    tenant = world.tenant
    previous = week_ago(2) if week == week_ago(1) else None
    with tenant_context(tenant):
        ensure_builtin_metrics(tenant=tenant)
        csat = KpiMetric.objects.for_tenant(tenant).get(key="csat")
        focus_keys = ["empathy", "", "active_listening", "custom_thing", "empathy"]
        for n in range(count):
            # Names repeat every 7 reps and differ in case, so the name tiebreak and the id both matter.
            rep = MembershipFactory(tenant=tenant, role=Role.REP, user=UserFactory(
                full_name="" if n % 9 == 4 else ("agent " if n % 2 else "Agent ") + f"{n % 7}",
                email=f"{prefix}{n:03d}@{tenant.slug}.example"))
            if team is not None and n % 3:
                TeamMembershipFactory(team=team, membership=rep, kind=TeamRole.MEMBER)
            if n % 5 == 0:
                TeamMembershipFactory(team=world.team, membership=rep, kind=TeamRole.MEMBER)
            if n % 6 == 5:
                continue  # never practiced that week: no aggregate row at all
            behaviors = {"empathy": {"mean": float(40 + (n * 7) % 5 * 10), "n": 1}}
            if n % 4:
                behaviors["active_listening"] = {"mean": 55.5 + n % 3, "n": 1}
            RepWeek.objects.for_tenant(tenant).create(
                tenant=tenant, membership=rep, week_start=week, sessions=n % 4, scored_sessions=n % 4,
                assignments_completed=n % 3, behaviors=behaviors, overall_mean=None if n % 8 == 3 else 50 + n % 4,
                focus_behavior=focus_keys[n % len(focus_keys)], focus_source="scoring")
            if previous and n % 2:
                RepWeek.objects.for_tenant(tenant).create(
                    tenant=tenant, membership=rep, week_start=previous, sessions=1, scored_sessions=1,
                    behaviors={"empathy": {"mean": 50.0, "n": 1}}, overall_mean=48.0)
            if n % 3 != 1:
                KpiValue.objects.for_tenant(tenant).create(tenant=tenant, membership=rep, metric=csat,
                                                            period_start=week, value=float(70 + n % 4))


def _naive_order(card, key, descending):
    """The old way: every row built, then sorted in Python. Blanks last, ties by name then id."""
    def value(row):
        if key == "rep":
            return row.name.lower()
        if key == "team":
            return row.teams.lower() or None
        if key == "overall":
            return row.overall.value
        if key == "sessions":
            return row.sessions
        if key == "assignments":
            return row.assignments_completed
        if key == "focus":
            return row.focus_label.lower() or None
        if key.startswith("b:"):
            return row.behaviors[card.behaviors.index(key[2:])].value
        return row.kpis[[metric.key for metric in card.metrics].index(key[2:])].value

    present = [row for row in card.rows if value(row) is not None]
    blank = [row for row in card.rows if value(row) is None]
    present.sort(key=lambda row: (row.name.lower(), row.membership_id))  # stable sorts: the tiebreak first
    present.sort(key=value, reverse=descending)
    blank.sort(key=lambda row: (row.name.lower(), row.membership_id))
    return [row.membership_id for row in present + blank]


def test_pages_sorted_by_the_database_equal_a_naive_full_sort(world_a, history):
    w = world_a
    other_team = TeamFactory(tenant=w.tenant, name="Billing")
    _seed_rep_weeks(w, history["last"], 23, team=other_team)
    lead = _membership(w, Role.ENABLEMENT_LEAD)
    everyone = scorecard_build(viewer=lead, week=history["last"])
    assert everyone.total == len(everyone.rows) == 26
    keys = [column.key for column in everyone.columns]
    assert {"rep", "team", "b:empathy", "overall", "sessions", "assignments", "focus", "k:csat"} <= set(keys)
    for key in keys:
        for descending in (False, True):
            sort = f"-{key}" if descending else key
            first = scorecard_build(viewer=lead, week=history["last"], sort=sort, page=1, per_page=4)
            assert first.sort == sort and first.total == 26 and first.pages == 7
            paged = [row.membership_id for number in range(1, first.pages + 1) for row in
                     scorecard_build(viewer=lead, week=history["last"], sort=sort, page=number, per_page=4).rows]
            assert paged == _naive_order(everyone, key, descending), sort
    # The rows of a page carry the same numbers as the full build.
    by_id = {row.membership_id: row for row in everyone.rows}
    for row in scorecard_build(viewer=lead, week=history["last"], sort="-b:empathy", page=2, per_page=4).rows:
        assert row == by_id[row.membership_id]
    # An unknown column falls back to the rep's name; past the end is the last page.
    assert scorecard_build(viewer=lead, week=history["last"], sort="-b:nonsense").sort == "rep"
    last = scorecard_build(viewer=lead, week=history["last"], sort="-overall", page=99, per_page=4)
    assert last.page == 7 and len(last.rows) == 2
    assert [row.membership_id for row in last.rows] == _naive_order(everyone, "overall", True)[-2:]
    assert behavior_label("custom_thing").lower() in {row.focus_label.lower() for row in everyone.rows}


def test_a_lead_with_many_reps_gets_one_page_in_a_constant_number_of_queries(
        world_a, client_for, django_assert_max_num_queries):
    from reports.dashboards.views import PAGE_SIZE

    w = world_a
    week = week_ago(1)
    client = client_for(w.member(Role.ENABLEMENT_LEAD))
    _seed_rep_weeks(w, week, 3)
    client.get(_url(w), {"week": week.isoformat()})  # warm the session
    with django_assert_max_num_queries(14) as few:  # 14: one more asks the people-status providers (readiness)
        assert client.get(_url(w), {"week": week.isoformat(), "sort": "-k:csat"}).status_code == 200
    _seed_rep_weeks(w, week, PAGE_SIZE + 20, prefix="more")
    total = 3 + 3 + PAGE_SIZE + 20  # rep, rep2, loner, then the seeded ones
    for sort, page in (("-b:empathy", "1"), ("focus", "2"), ("team", "1"), ("-k:csat", "2")):
        with django_assert_max_num_queries(len(few.captured_queries)):
            response = client.get(_url(w), {"week": week.isoformat(), "sort": sort, "page": page})
        body = response.content.decode()
        shown = body.count('data-rep="')
        assert shown == (PAGE_SIZE if page == "1" else total - PAGE_SIZE), (sort, page)
        assert f"{total} reps" in body and f"page {1 if page == '1' else 2} of 2" in body
    past_the_end = client.get(_url(w), {"week": week.isoformat(), "page": "9"}).content.decode()
    assert past_the_end.count('data-rep="') == total - PAGE_SIZE and "page 2 of 2" in past_the_end
    first = client.get(_url(w), {"week": week.isoformat(), "sort": "rep"}).content.decode()
    assert "page=2" in first and f"Reps 1–{PAGE_SIZE} of {total}" in first
    # The CSV still holds every rep, in the page's order.
    export = client.get(_url(w), {"week": week.isoformat(), "sort": "rep", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert len(rows) == total
    lead = _membership(w, Role.ENABLEMENT_LEAD)
    assert [row["rep_email"] for row in rows] == [
        row.email for row in scorecard_build(viewer=lead, week=week, sort="rep").rows]
    # Streamed a few reps at a time, the rows are those of the full build, in the same order.
    for sort in ("-b:empathy", "team", "-k:csat"):
        card, chunks = scorecard_stream(viewer=lead, week=week, sort=sort, chunk_size=7)
        streamed = [row for chunk in chunks for row in chunk]
        assert card.total == total and streamed == scorecard_build(viewer=lead, week=week, sort=sort).rows
