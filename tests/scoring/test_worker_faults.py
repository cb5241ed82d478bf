"""Scoring under real faults: a real `celery worker` subprocess on Redis and PostgreSQL.

Each test commits its rows (transactional database) so the worker, pointed at the same test
database through DATABASE_URL, sees them. The broker is a private Redis database per xdist worker,
flushed before each test, so parallel runs never take each other's jobs. Every wait is a polling
loop with a deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import kombu.pools
import pytest
from django.conf import settings
from django.db import connection

from coachhub.celery import app as celery_app
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role
from scoring.models import BehaviorScore, ScoreStatus, SessionScore
from scoring.tasks import sweep_unscored_sessions
from sessions import services as session_services
from tests.conftest import build_world, services_required
from tests.scoring.factories import ended_session

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT_S = 3  # the test worker's; production keeps it above twice the longest task
DEAD_BROKER = "redis://127.0.0.1:1/0"


def _require_services() -> None:
    problems = []
    if not settings.REDIS_URL:
        problems.append("REDIS_URL is not set")
    if connection.vendor != "postgresql":
        problems.append("the test database is not PostgreSQL (set DATABASE_URL)")
    if problems:
        message = "real-worker tests need Redis and PostgreSQL: " + "; ".join(problems)
        if services_required():
            pytest.fail(message)
        pytest.skip(message)


def _private_broker_url(worker_id: str) -> str:
    parts = urlsplit(settings.REDIS_URL)
    number = 8 + int(worker_id[2:]) % 7 if worker_id.startswith("gw") else 15
    return urlunsplit((parts.scheme, parts.netloc, f"/{number}", "", ""))


def _point_app_at(url: str) -> None:
    """Publish from this test process to `url` (drops pooled connections to the previous broker)."""
    celery_app.conf.broker_url = url
    celery_app.conf.task_always_eager = False
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    kombu.pools.reset()  # kombu caches producer pools per broker; start clean


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


WORKER_BOOT = """
import os
from coachhub.celery import app
app.conf.task_always_eager = False
app.conf.broker_transport_options = {
    "visibility_timeout": float(os.environ["TEST_VISIBILITY_TIMEOUT_S"]),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
app.worker_main(["worker", "--pool=prefork", "--concurrency=1", "--loglevel=INFO", "--without-gossip",
                 "--without-mingle", "--without-heartbeat", "-n", os.environ["TEST_WORKER_NAME"]])
"""


class Workers:
    def __init__(self, broker_url: str, log_dir: Path):
        self.broker_url = broker_url
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []

    def start(self, *, delay_s: float = 0.0) -> subprocess.Popen:
        name = f"scoring-test-{os.getpid()}-{len(self.procs)}@%h"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "coachhub.settings.test",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": self.broker_url,
            "SCORING_TEST_DELAY_S": str(delay_s),
            "TEST_VISIBILITY_TIMEOUT_S": str(VISIBILITY_TIMEOUT_S),
            "TEST_WORKER_NAME": name,
            "PYTHONUNBUFFERED": "1",
        }
        log = open(self.log_dir / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115 (kept open for the process)
        proc = subprocess.Popen(
            [sys.executable, "-c", WORKER_BOOT], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a SIGKILL takes the pool children too
        )
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        """Like losing the machine: no warm shutdown, nothing acknowledged or handed back."""
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace")[-3000:] for path in sorted(self.log_dir.glob("*.log")))


@pytest.fixture
def workers(request, tmp_path) -> Iterator[Workers]:
    _require_services()
    import redis

    worker_id = getattr(request.config, "workerinput", {}).get("workerid", "master")
    url = _private_broker_url(worker_id)
    redis.Redis.from_url(url).flushdb()
    saved = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    _point_app_at(url)
    pool = Workers(url, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()
        _point_app_at(saved[0])
        celery_app.conf.task_always_eager = saved[1]


def _wait_for(what: str, check: Callable[[], object], workers: Workers, timeout_s: float = 45.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}\n--- worker logs ---\n{workers.logs()}")


def _active_session(world):
    return ended_session(world.member(Role.REP), status="active", end_reason="", ended_at=None)


def _end(world, session) -> None:
    with tenant_context(world.tenant):
        session_services.session_end(tenant=world.tenant, rep=world.member(Role.REP), session_id=session.id)


def _scores(world, session):
    return SessionScore.objects.for_tenant(world.tenant).filter(session_id=session.id)


def _assert_scored_exactly_once(world, session, workers: Workers) -> SessionScore:
    _wait_for("a finished score", lambda: _scores(world, session).filter(status=ScoreStatus.DONE).exists(), workers)
    rows = list(_scores(world, session))
    assert len(rows) == 1, rows
    score = rows[0]
    assert score.is_current and score.overall is not None
    behaviors = BehaviorScore.objects.for_tenant(world.tenant).filter(session_score=score)
    assert behaviors.count() == len(score.result["behaviors"])
    return score


def test_ending_a_session_is_scored_once_by_a_real_worker(workers):
    world = build_world("Worker Co", "worker-co")
    session = _active_session(world)
    workers.start()
    _end(world, session)
    score = _assert_scored_exactly_once(world, session, workers)
    assert score.attempts == 1


def test_a_worker_killed_mid_job_is_redelivered_and_scores_once(workers):
    world = build_world("Crash Co", "crash-co")
    session = _active_session(world)
    doomed = workers.start(delay_s=60)  # holds the claim long enough to be killed with it
    _end(world, session)
    _wait_for("the job to start", lambda: _scores(world, session).filter(status=ScoreStatus.RUNNING).exists(),
              workers)
    workers.kill(doomed)
    assert _scores(world, session).get().status == ScoreStatus.RUNNING, "the kill left the claim behind"

    workers.start()  # Redis hands the unacknowledged job out again after the visibility timeout
    score = _assert_scored_exactly_once(world, session, workers)
    assert score.attempts == 2, "the redelivered job took over its own dead claim"


def test_redis_down_at_session_end_is_scored_by_the_sweeper_once_redis_is_back(workers):
    world = build_world("Outage Co", "outage-co")
    session = _active_session(world)
    _point_app_at(DEAD_BROKER)
    _end(world, session)  # ending must still work; the job could not be queued
    with tenant_context(world.tenant):
        session.refresh_from_db()
    assert session.status == "ended"
    assert not _scores(world, session).exists()

    _point_app_at(workers.broker_url)
    workers.start()
    sweep_unscored_sessions.apply_async(kwargs={"older_than_s": 0})
    score = _assert_scored_exactly_once(world, session, workers)
    assert score.attempts == 1
