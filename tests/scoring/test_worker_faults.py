"""Scoring under real faults: a real `celery worker` subprocess on Redis and PostgreSQL.

Each test commits its rows (transactional database) so the worker, pointed at the same test
database through DATABASE_URL, sees them. The broker is a private Redis database per xdist worker,
flushed before each test, so parallel runs never take each other's jobs. Every wait is a polling
loop with a deadline, and a worker's boot is waited for on its own (it can take tens of seconds on a
loaded machine), so the deadlines after it time the jobs.
"""

from __future__ import annotations

import pytest

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role
from scoring.models import BehaviorScore, ScoreStatus, SessionScore
from scoring.tasks import sweep_unscored_sessions
from sessions import services as session_services
from tests.conftest import build_world
from tests.scoring.factories import ended_session
from tests.support.celery_worker import DEAD_BROKER, Workers, _point_app_at

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _active_session(world):
    return ended_session(world.member(Role.REP), status="active", end_reason="", ended_at=None)


def _end(world, session) -> None:
    with tenant_context(world.tenant):
        session_services.session_end(tenant=world.tenant, rep=world.member(Role.REP), session_id=session.id)


def _scores(world, session):
    return SessionScore.objects.for_tenant(world.tenant).filter(session_id=session.id)


def _assert_scored_exactly_once(world, session, workers: Workers) -> SessionScore:
    workers.wait_for("a finished score", lambda: _scores(world, session).filter(status=ScoreStatus.DONE).exists())
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
    workers.wait_ready(workers.start())
    _end(world, session)
    score = _assert_scored_exactly_once(world, session, workers)
    assert score.attempts == 1


def test_a_worker_killed_mid_job_is_redelivered_and_scores_once(workers):
    world = build_world("Crash Co", "crash-co")
    session = _active_session(world)
    doomed = workers.start(delay_s=60)  # holds the claim long enough to be killed with it
    workers.wait_ready(doomed)
    _end(world, session)
    workers.wait_for("the job to start", lambda: _scores(world, session).filter(status=ScoreStatus.RUNNING).exists())
    workers.kill(doomed)
    assert _scores(world, session).get().status == ScoreStatus.RUNNING, "the kill left the claim behind"

    # Redis hands the unacknowledged job out again after the visibility timeout.
    workers.wait_ready(workers.start())
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
    workers.wait_ready(workers.start())
    sweep_unscored_sessions.apply_async(kwargs={"older_than_s": 0})
    score = _assert_scored_exactly_once(world, session, workers)
    assert score.attempts == 1
