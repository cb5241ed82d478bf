"""End-of-session → score-visible latency with a real Celery worker on Redis and PostgreSQL.

Creates a throwaway PostgreSQL database, migrates it, starts `celery worker`, then ends practice
sessions through `sessions.services.session_end` (which queues scoring after commit) and polls the
database the way the results partial does until the score is visible. Prints p50/p95/max for
sessions ended one at a time and for a burst ended together. Figures only; never pass/fail.

    .venv/bin/python bench/bench_score_latency.py [--sessions 50] [--concurrency 2]
      (DATABASE_URL / REDIS_URL default to postgres://postgres@127.0.0.1:5432/coachhub, redis://127.0.0.1:6379/0)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LINES = [
    ("customer", "My suit arrived in the wrong size and the wedding is on Saturday!"),
    ("rep", "I'm so sorry, that sounds really stressful with the wedding on Saturday. So the suit arrived in the "
            "wrong size?"),
    ("customer", "Yes, a 42 instead of a 40R. I need it fixed."),
    ("rep", "I can send the right suit by overnight express at no charge, because the mistake was ours."),
    ("customer", "Okay. When will I know it's on the way?"),
    ("rep", "I will ship the 40R today and email you the tracking number by 3pm today."),
]


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _recreate_database(admin_url: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg2

    parts = urlsplit(admin_url)
    conn = psycopg2.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
                            password=parts.password or None, dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _report(label: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(f"{label:<34} n={len(ms):>3}  p50={statistics.median(ms):7.1f} ms  p95={_percentile(ms, 0.95):7.1f} ms  "
          f"max={max(ms):7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    args = parser.parse_args()

    base_db = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/coachhub")
    base_redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    bench_db = "coachhub_bench_score"
    database_url = _with_path(base_db, f"/{bench_db}")
    redis_url = _with_path(base_redis, "/14")
    _recreate_database(base_db, bench_db)
    os.environ.update(DJANGO_SETTINGS_MODULE="coachhub.settings.local", DJANGO_DEBUG="false",
                      DATABASE_URL=database_url, REDIS_URL=redis_url, LOG_LEVEL="WARNING")

    import django

    django.setup()
    import redis
    from django.core.management import call_command

    redis.Redis.from_url(redis_url).flushdb()
    call_command("migrate", verbosity=0)

    from bench._server import celery_worker
    from coachhub.tenancy.context import tenant_context
    from coachhub.tenancy.models import Membership, Role, Tenant, User
    from scenarios.library import library_get
    from scenarios.models import Scenario, ScenarioVersion
    from scoring.models import ScoreStatus, SessionScore
    from sessions import services as session_services
    from sessions.models import PracticeSession, Turn

    spec = library_get("wrong-suit-before-wedding")
    tenant = Tenant.objects.create(name="Bench", slug="bench")
    user = User.objects.create_user("rep@bench.example", "bench-password-123")
    try:
        with celery_worker(env={}, concurrency=args.concurrency), tenant_context(tenant):
            rep = Membership.objects.create(tenant=tenant, user=user, role=Role.REP)
            scenario = Scenario.objects.create(tenant=tenant, slug=spec.slug, title=spec.title, moment=spec.moment)
            version = ScenarioVersion.objects.create(tenant=tenant, scenario=scenario, number=1,
                                                     status="published", spec=spec.to_dict())

            def new_session() -> PracticeSession:
                session = PracticeSession.objects.create(
                    tenant=tenant, membership=rep, scenario=scenario, version=version, engine="embedded",
                    engine_model="embedded", seed=1,
                )
                Turn.objects.bulk_create(
                    Turn(tenant=tenant, session=session, index=i, speaker=speaker, text=text)
                    for i, (speaker, text) in enumerate(LINES)
                )
                return session

            def visible(session_id: int) -> bool:
                return SessionScore.objects.filter(session_id=session_id, status=ScoreStatus.DONE,
                                                   is_current=True).exists()

            def one_at_a_time(count: int) -> list[float]:
                latencies = []
                for _ in range(count):
                    session = new_session()
                    started = time.perf_counter()
                    session_services.session_end(tenant=tenant, rep=rep, session_id=session.id)
                    while not visible(session.id):
                        if time.perf_counter() - started > 60:
                            raise SystemExit("a score never became visible")
                        time.sleep(0.002)
                    latencies.append(time.perf_counter() - started)
                return latencies

            one_at_a_time(3)  # warm the worker's imports and connections
            sequential = one_at_a_time(args.sessions)

            sessions = [new_session() for _ in range(args.sessions)]
            ended_at = {}
            for session in sessions:
                session_services.session_end(tenant=tenant, rep=rep, session_id=session.id)
                ended_at[session.id] = time.perf_counter()
            burst: dict[int, float] = {}
            while len(burst) < len(sessions):
                done = set(SessionScore.objects.filter(session_id__in=[s.id for s in sessions],
                                                       status=ScoreStatus.DONE).values_list("session_id", flat=True))
                now = time.perf_counter()
                for session_id in done - burst.keys():
                    burst[session_id] = now - ended_at[session_id]
                if now - min(ended_at.values()) > 120:
                    raise SystemExit("the burst did not finish in 120 s")
                time.sleep(0.002)
            service = [
                (s.finished_at - s.started_at).total_seconds()
                for s in SessionScore.objects.filter(status=ScoreStatus.DONE)
            ]

        print(f"Score latency: real worker (prefork x{args.concurrency}) on Redis + PostgreSQL, embedded scorer")
        _report("ended one at a time", sequential)
        _report(f"burst of {args.sessions} ended together", list(burst.values()))
        _report("job run time (claim → result)", service)
    finally:
        from django.db import connections

        connections.close_all()
        _recreate_database(base_db, bench_db, drop_only=True)


if __name__ == "__main__":
    main()
