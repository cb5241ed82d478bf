"""Scorecard page time on a large tenant: figures only, never pass/fail.

Seeds one tenant on PostgreSQL with 10,000 reps × 100 weeks: 1,000,000 scored practice sessions
(5 behavior scores each) and 5,000,000 KPI values (5 metrics), all with COPY and INSERT … SELECT,
then computes the weekly aggregates once, set-based, in SQL. A manager coaches a team of 50 reps; an
enablement lead sees every rep. Times GET /t/<slug>/scorecard/ through the Django test client
(p50/p95 over --requests) and reports its query count, for the manager and the lead, then the
scorecard's CSV export (all their reps, streamed). The tables are VACUUM ANALYZEd first, as a table
that has been live a while is.

Run: .venv/bin/python bench/bench_scorecard.py   (BENCH_DATABASE_URL defaults to
postgres://postgres@127.0.0.1:5432/coachhub_bench_reports; --reps/--weeks shrink it for a quick try)
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/coachhub_bench_reports"
SLUG = "scorecard-bench"
BEHAVIORS = ("empathy", "active_listening", "next_step_ownership", "confidence_under_pressure", "instruction_adherence")
METRICS = ("csat", "avg_handling_time", "escalation_rate", "first_contact_resolution", "complaint_resolution_quality")


def _copy(cursor, table: str, columns: list[str], lines) -> None:
    buffer = io.StringIO()
    for line in lines:
        buffer.write(line)
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def seed(reps: int, weeks: int, team_size: int):
    from django.db import connection

    from coachhub.tenancy.context import tenant_context
    from coachhub.tenancy.models import Membership, Role, Team, TeamMembership, Tenant, User
    from reports.dashboards.weeks import last_full_week
    from reports.kpi.importing import ensure_builtin_metrics
    from reports.models import KpiMetric
    from scenarios.library import library_get
    from scenarios.models import Scenario, ScenarioVersion

    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is not None:
        print(f"tenant {SLUG} exists: reusing it (drop the database to reseed)")
        settle()
        return tenant
    t0 = time.perf_counter()
    tenant = Tenant.objects.create(slug=SLUG, name="Scorecard Bench Co.")
    with tenant_context(tenant):
        spec = library_get("meal-kit-cancellation")
        scenario = Scenario.objects.create(tenant=tenant, slug=spec.slug, title=spec.title, moment=spec.moment)
        version = ScenarioVersion.objects.create(tenant=tenant, scenario=scenario, number=1, status="published",
                                                 spec=spec.to_dict())
        User.objects.bulk_create([User(email=f"agent{n:05d}@scorecard-bench.example", full_name=f"Agent {n:05d}")
                                  for n in range(reps)] + [
            User(email="manager@scorecard-bench.example", full_name="Bench Manager"),
            User(email="lead@scorecard-bench.example", full_name="Bench Lead")], batch_size=5000)
        users = User.objects.filter(email__endswith="@scorecard-bench.example")
        Membership.objects.bulk_create([
            Membership(tenant=tenant, user=u, role=Role.MANAGER if u.email.startswith("manager") else
                       Role.ENABLEMENT_LEAD if u.email.startswith("lead") else Role.REP)
            for u in users], batch_size=5000)
        rep_ids = list(Membership.objects.for_tenant(tenant).filter(role=Role.REP).order_by("id")
                       .values_list("id", flat=True))
        manager = Membership.objects.for_tenant(tenant).get(role=Role.MANAGER)
        team = Team.objects.create(tenant=tenant, name="Bench team")
        TeamMembership.objects.bulk_create(
            [TeamMembership(tenant=tenant, team=team, membership=manager, kind="coach")]
            + [TeamMembership(tenant=tenant, team=team, membership_id=i, kind="member") for i in rep_ids[:team_size]])
        ensure_builtin_metrics(tenant=tenant)
        metric_ids = dict(KpiMetric.objects.for_tenant(tenant).values_list("key", "id"))
    print(f"people: {reps:,} reps ({time.perf_counter() - t0:.1f} s)")

    last = last_full_week()
    first = last - timedelta(weeks=weeks - 1)
    raw = connection.connection
    with raw.cursor() as cursor:
        t0 = time.perf_counter()
        # One session per rep per week, ended on the Wednesday at a rep-specific minute.
        cursor.execute("""
            INSERT INTO roleplay_practicesession (tenant_id, membership_id, scenario_id, version_id, mode, engine,
                engine_model, seed, engine_state, status, end_reason, frustration, is_trial, started_at,
                last_activity_at, ended_at)
            SELECT %(tenant)s, m.id, %(scenario)s, %(version)s, 'text', 'embedded', 'bench', m.id * 1000 + w, '{}',
                   'ended', 'resolved', 40, false, e - interval '6 minutes', e, e
            FROM unnest(%(reps)s::bigint[]) AS m(id)
            CROSS JOIN generate_series(0, %(weeks)s - 1) AS w
            CROSS JOIN LATERAL (SELECT (%(first)s::date + w * 7 + 2)::timestamptz + (m.id %% 480) * interval '1 minute'
                                + interval '9 hours' AS e) AS t
        """, {"tenant": tenant.id, "scenario": scenario.id, "version": version.id, "reps": rep_ids, "weeks": weeks,
              "first": first})
        sessions = cursor.rowcount
        cursor.execute("""
            INSERT INTO scoring_sessionscore (tenant_id, session_id, membership_id, engine, scorer_version,
                rubric_version, status, is_current, overall, result, focus_behavior, focus_tip, focus_example, error,
                attempts, claim_token, created_at, started_at, finished_at)
            SELECT tenant_id, id, membership_id, 'embedded', 'bench-1', 1, 'done', true,
                   40 + (id * 37 %% 55), '{}', 'empathy', '', '', '', 1, '', ended_at, ended_at, ended_at
            FROM roleplay_practicesession WHERE tenant_id = %(tenant)s
        """, {"tenant": tenant.id})
        cursor.execute("""
            INSERT INTO scoring_behaviorscore (tenant_id, session_score_id, behavior, weight, ai_score, rationale,
                confidence, evidence, adjusted_score, adjusted_reason)
            SELECT s.tenant_id, s.id, b.key, 1.0, 30 + ((s.id * 7 + b.n * 13) %% 70), '', 0.7, '[]',
                   CASE WHEN (s.id + b.n) %% 23 = 0 THEN 50 + ((s.id + b.n) %% 40) END, ''
            FROM scoring_sessionscore s
            CROSS JOIN unnest(%(behaviors)s::text[]) WITH ORDINALITY AS b(key, n)
            WHERE s.tenant_id = %(tenant)s
        """, {"tenant": tenant.id, "behaviors": list(BEHAVIORS)})
        behaviors = cursor.rowcount
        raw.commit()
        print(f"sessions: {sessions:,} scored sessions, {behaviors:,} behavior scores ({time.perf_counter() - t0:.1f} s)")

        t0 = time.perf_counter()
        cursor.execute("""
            INSERT INTO reports_kpivalue (tenant_id, membership_id, metric_id, period_start, value, updated_at)
            SELECT %(tenant)s, m.id, k.id, %(first)s::date + w * 7, 20 + ((m.id * 11 + w * 5 + k.id) %% 70), now()
            FROM unnest(%(reps)s::bigint[]) AS m(id)
            CROSS JOIN generate_series(0, %(weeks)s - 1) AS w
            CROSS JOIN unnest(%(metrics)s::bigint[]) AS k(id)
        """, {"tenant": tenant.id, "reps": rep_ids, "weeks": weeks, "first": first,
              "metrics": [metric_ids[key] for key in METRICS]})
        kpis = cursor.rowcount
        raw.commit()
        print(f"KPIs: {kpis:,} values ({time.perf_counter() - t0:.1f} s)")

        t0 = time.perf_counter()
        cursor.execute("ANALYZE")  # fresh tables: give the planner real row counts before the big GROUP BY
        # The aggregates, once and set-based: what `aggregates.rep_weeks_rebuild` computes row by row.
        cursor.execute("""
            WITH finals AS (
                SELECT s.membership_id, date_trunc('week', p.ended_at AT TIME ZONE 'UTC')::date AS week,
                       b.behavior, COALESCE(b.adjusted_score, b.ai_score) AS final
                FROM scoring_behaviorscore b
                JOIN scoring_sessionscore s ON s.id = b.session_score_id
                JOIN roleplay_practicesession p ON p.id = s.session_id
                WHERE b.tenant_id = %(tenant)s AND s.is_current AND s.status = 'done' AND NOT p.is_trial
            ), per_behavior AS (
                SELECT membership_id, week, behavior, round(avg(final)::numeric, 2)::float AS mean, count(*) AS n
                FROM finals WHERE final IS NOT NULL GROUP BY 1, 2, 3
            ), behaviors AS (
                SELECT membership_id, week, jsonb_object_agg(behavior, jsonb_build_object('mean', mean, 'n', n)) AS b
                FROM per_behavior GROUP BY 1, 2
            ), activity AS (
                SELECT p.membership_id, date_trunc('week', p.ended_at AT TIME ZONE 'UTC')::date AS week,
                       count(*) AS sessions, count(s.id) AS scored, round(avg(s.overall)::numeric, 2)::float AS overall
                FROM roleplay_practicesession p
                LEFT JOIN scoring_sessionscore s ON s.session_id = p.id AND s.is_current AND s.status = 'done'
                WHERE p.tenant_id = %(tenant)s AND p.status = 'ended' AND NOT p.is_trial
                GROUP BY 1, 2
            )
            INSERT INTO reports_repweek (tenant_id, membership_id, week_start, sessions, scored_sessions,
                assignments_completed, behaviors, overall_mean, focus_behavior, focus_source, refreshed_at)
            SELECT %(tenant)s, a.membership_id, a.week, a.sessions, a.scored, 0, COALESCE(b.b, '{}'), a.overall,
                   'empathy', 'scoring', now()
            FROM activity a LEFT JOIN behaviors b USING (membership_id, week)
        """, {"tenant": tenant.id})
        rows = cursor.rowcount
        raw.commit()
        print(f"aggregates: {rows:,} rep-weeks computed set-based ({time.perf_counter() - t0:.1f} s)")
    settle()
    return tenant


def settle() -> None:
    """VACUUM ANALYZE, as autovacuum leaves a table that has been live a while: statistics for the
    planner and the visibility map that index-only scans need (a freshly bulk-loaded table has none,
    so every index-only scan would still visit the heap)."""
    from django.db import connection

    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        for table in ("reports_repweek", "reports_kpivalue", "tenancy_membership", "tenancy_user",
                      "tenancy_teammembership"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"vacuum analyze: {time.perf_counter() - t0:.1f} s")


def measure(tenant, email: str, requests: int) -> None:
    from django.db import connection, reset_queries
    from django.test import Client

    from coachhub.tenancy.models import User
    from reports.dashboards.weeks import last_full_week

    client = Client()
    client.force_login(User.objects.get(email=email))
    url = f"/t/{tenant.slug}/scorecard/?week={last_full_week().isoformat()}&sort=-b:empathy"
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    from django.conf import settings

    settings.DEBUG = True
    reset_queries()
    client.get(url)
    queries = len(connection.queries)
    settings.DEBUG = False
    rows = response.content.decode().count('data-rep="')
    timings.sort()
    p95 = timings[min(len(timings) - 1, int(round(0.95 * len(timings))) - 1)]
    print(f"{email}: scorecard p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms over {requests} requests; "
          f"{queries} queries; {rows} rows on the page")


def measure_csv(tenant, email: str, repeats: int) -> None:
    """The scorecard's CSV export (every rep in scope, streamed): time to the first chunk and to the end."""
    from django.test import Client

    from coachhub.tenancy.models import User
    from reports.dashboards.weeks import last_full_week

    client = Client()
    client.force_login(User.objects.get(email=email))
    url = f"/t/{tenant.slug}/scorecard/?week={last_full_week().isoformat()}&sort=-b:empathy&format=csv"
    firsts, totals = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(url)
        chunks = iter(response.streaming_content if response.streaming else [response.content])
        body = next(chunks)
        firsts.append((time.perf_counter() - started) * 1000)
        body += b"".join(chunks)
        totals.append((time.perf_counter() - started) * 1000)
    reps = body.count(b"\n") - 1
    print(f"{email}: CSV export of {reps:,} reps, {len(body) / 1024:,.0f} KB: first bytes after "
          f"{statistics.median(firsts):.0f} ms, all after {statistics.median(totals):.0f} ms (median of {repeats})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=100)
    parser.add_argument("--team-size", type=int, default=50)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    os.environ["BENCH_DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    from bench._server import setup_django

    setup_django(os.environ["BENCH_DATABASE_URL"])
    from django.conf import settings
    from django.db import connection

    # The dashboards are mounted here until coachhub/urls.py includes them.
    settings.ROOT_URLCONF = "tests.reports.dashboards.urlconf"
    settings.ALLOWED_HOSTS = ["*"]
    import reports.dashboards

    reports.dashboards.register()
    print(f"database: PostgreSQL {connection.pg_version} {connection.settings_dict['NAME']}")
    tenant = seed(args.reps, args.weeks, args.team_size)
    measure(tenant, "manager@scorecard-bench.example", args.requests)
    measure(tenant, "lead@scorecard-bench.example", max(5, args.requests // 5))
    measure_csv(tenant, "manager@scorecard-bench.example", 5)
    measure_csv(tenant, "lead@scorecard-bench.example", 3)


if __name__ == "__main__":
    main()
