"""Weekly digests (once per manager per week, with the scorecard's numbers), the insights page, the
report settings, the home sections and the demo history."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role
from reports.dashboards.digest import digest_send
from reports.dashboards.insights import confidence_weeks, insights_build
from reports.dashboards.models import DigestDelivery, TenantReportSettings
from reports.dashboards.selectors import scorecard_build
from reports.dashboards.tasks import send_weekly_digests
from reports.dashboards.weeks import last_full_week
from tests.reports.dashboards.helpers import adjust, at, naive_week, score_in_week, week_ago

pytestmark = pytest.mark.django_db


@pytest.fixture
def practiced(world_a, world_b, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        score_in_week(world_a.member(Role.REP), week_ago(2), good=False)
        _, score = score_in_week(world_a.member(Role.REP), week_ago(1))
        score_in_week(world_a.rep2, week_ago(1), good=False)
        score_in_week(world_b.member(Role.REP), week_ago(1))
    with django_capture_on_commit_callbacks(execute=True):
        adjust(world_a, score, "empathy", 40)
    return score


def test_digest_goes_once_to_each_manager_with_their_numbers(world_a, world_b, practiced):
    assert send_weekly_digests() == 2  # one manager per tenant
    assert send_weekly_digests() == 0  # a re-run sends nothing
    assert len(mail.outbox) == 2
    message = next(m for m in mail.outbox if m.to == ["manager@acme.example"])
    manager = world_a.member(Role.MANAGER)
    manager.tenant = world_a.tenant
    card = scorecard_build(viewer=manager, week=last_full_week())
    assert "2 of 2 reps practiced" in message.subject
    rep = next(row for row in card.rows if row.email == "rep@acme.example")
    naive = naive_week(world_a.tenant, rep.membership_id, last_full_week())
    assert f"{naive['overall']:.1f}".removesuffix(".0") in message.body
    assert rep.overall.change_shown in message.body
    html = message.alternatives[0][0]
    assert "Riley" not in html and rep.name in html and "loner@acme.example" not in message.body
    assert "bolt" not in message.body.lower()
    with tenant_context(world_a.tenant):
        assert DigestDelivery.objects.for_tenant(world_a.tenant).filter(sent_at__isnull=False).count() == 1
        assert digest_send(tenant=world_a.tenant, manager=manager, week_start=last_full_week()) is False


def test_insights_page_for_leads_and_managers(world_a, practiced, client_for):
    w = world_a
    url = reverse("insights", kwargs={"tenant_slug": w.tenant.slug})
    month = f"{last_full_week():%Y-%m}"
    lead = client_for(w.member(Role.ENABLEMENT_LEAD)).get(url, {"month": month})
    body = lead.content.decode()
    assert lead.status_code == 200
    assert "Too few data points to say anything" in body or "No behavior scores and KPIs" in body
    assert "70 or more overall in 3 sessions in a row" in body
    assert 'style="' not in body and "<script>" not in body
    assert client_for(w.member(Role.REP)).get(url).status_code == 403
    manager = w.member(Role.MANAGER)
    manager.tenant = w.tenant
    report = insights_build(viewer=manager, month=last_full_week().replace(day=1))
    assert report.rep_count == 2  # the manager's team, not the loner
    assert [row["manager"] for row in report.coverage] == [manager.user.display_name]
    csv_body = client_for(manager).get(url, {"month": month, "format": "csv", "table": "consistency"}).content
    assert csv_body.decode().startswith("reviewer,adjustments")


def test_time_to_confidence_counts_a_streak_from_the_start_date():
    from datetime import date

    start = date(2025, 1, 6)
    sessions = [(at(date(2025, 1, 6), d), s) for d, s in [(1, 80), (2, 60), (3, 72), (4, 75)]]
    sessions += [(at(date(2025, 1, 20), 0), 90)]
    assert confidence_weeks(started_on=start, sessions=sessions, threshold=70, streak=3) == 2.0
    assert confidence_weeks(started_on=start, sessions=sessions, threshold=95, streak=1) is None


def test_only_admins_change_the_confidence_definition(world_a, client_for):
    w = world_a
    url = reverse("report_settings", kwargs={"tenant_slug": w.tenant.slug})
    data = {"confidence_threshold": "80", "confidence_sessions": "4"}
    assert client_for(w.member(Role.ENABLEMENT_LEAD)).post(url, data).status_code == 403
    response = client_for(w.member(Role.TENANT_ADMIN)).post(url, data)
    assert response.status_code == 302
    with tenant_context(w.tenant):
        row = TenantReportSettings.objects.for_tenant(w.tenant).get()
    assert (row.confidence_threshold, row.confidence_sessions) == (80, 4)
    bad = client_for(w.member(Role.TENANT_ADMIN)).post(url, {"confidence_threshold": "0", "confidence_sessions": "x"},
                                                       follow=True)
    assert "score from 1 to 100" in bad.content.decode()


def test_home_sections_and_navigation(world_a, practiced, client_for):
    w = world_a
    home = reverse("tenant_home", kwargs={"tenant_slug": w.tenant.slug})
    manager_home = client_for(w.member(Role.MANAGER)).get(home).content.decode()
    assert "Last week on the scorecard" in manager_home and "2/2" in manager_home
    assert reverse("scorecard", kwargs={"tenant_slug": w.tenant.slug}) in manager_home
    rep_home = client_for(w.member(Role.REP)).get(home).content.decode()
    assert "Your week" in rep_home and reverse("my_progress", kwargs={"tenant_slug": w.tenant.slug}) in rep_home


def test_demo_history_is_idempotent_and_alive(db, django_capture_on_commit_callbacks):
    from coachhub.tenancy.demo import seed_demo
    from reports.dashboards.models import RepWeek
    from reports.models import KpiValue
    from sessions.models import PracticeSession

    tenant = seed_demo()
    with tenant_context(tenant):
        counts = (PracticeSession.objects.for_tenant(tenant).count(), KpiValue.objects.for_tenant(tenant).count(),
                  RepWeek.objects.for_tenant(tenant).count())
    assert counts[0] > 500 and counts[1] > 1000 and counts[2] > 300
    seed_demo()
    with tenant_context(tenant):
        assert (PracticeSession.objects.for_tenant(tenant).count(), KpiValue.objects.for_tenant(tenant).count(),
                RepWeek.objects.for_tenant(tenant).count()) == counts
        from coachhub.tenancy.models import Membership

        lead = Membership.objects.for_tenant(tenant).get(user__email="lead@demo.example")
        lead.tenant = tenant
        report = insights_build(viewer=lead, month=last_full_week().replace(day=1))
        manager = Membership.objects.for_tenant(tenant).get(user__email="manager@demo.example")
        manager.tenant = tenant
        card = scorecard_build(viewer=manager, week=last_full_week())
    assert len(card.rows) == 12 and any(row.kpis for row in card.rows)
    link = next(row for row in report.linkage if row["behavior"] == "empathy" and row["metric"].key == "csat")
    assert link["same"].enough and link["same"].r > 0.3
    escalation = next(row for row in report.linkage
                      if row["behavior"] == "next_step_ownership" and row["metric"].key == "escalation_rate")
    assert escalation["lags"][0].r < -0.3
    assert len(report.consistency) == 3
