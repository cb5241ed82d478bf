"""One prefork pool process killed with SIGKILL in the middle of a scoring job, while the worker's main
process lives on: the pool replaces the process, the job comes back (late acks and
reject_on_worker_lost) and the session is scored exactly once.

The job is provably mid-flight when the kill lands: the loopback OpenAI server holds the LLM
judge's first request open, and the test waits until that request has arrived and the score row is
claimed. The judge's second request (the redelivered job) gets a valid answer.
"""

from __future__ import annotations

import os
import re
import signal

import pytest

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role
from coachhub.tenancy.services import ai_settings_update
from scoring import services
from scoring.models import BehaviorScore, ScoreStatus, SessionScore
from sessions import services as session_services
from sessions.models import Turn
from tests.conftest import build_world
from tests.scoring.factories import ended_session
from tests.scoring.judge_answers import judge_scores, valid_judge_json
from tests.support.celery_worker import Workers
from tests.support.openai_server import OpenAIServer, delay, reply

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

# Long enough that only the kill (or the test's end, which wakes the server) finishes the held call.
HOLD_JUDGE_S = 300
# The judge must keep waiting on the held call rather than time out and retry on its own. The
# broker's visibility timeout is as long: the job comes back only through reject_on_worker_lost (what
# this test is about), never because a loaded machine took longer than the test worker's usual 3 s
# to finish the redelivered job (Redis would hand it out a third time).
WORKER_ENV = {"LLM_TIMEOUT_S": str(HOLD_JUDGE_S + 30), "LLM_MAX_RETRIES": "0",
              "TEST_VISIBILITY_TIMEOUT_S": str(HOLD_JUDGE_S + 30)}
WAIT_S = 120.0  # generous: a loaded 2-core runner is slow to fork a pool process and run the job


def _worker_log(workers: Workers) -> str:
    return "".join(path.read_text(errors="replace") for path in sorted(workers.log_dir.glob("*.log")))


def _jobs_finished(workers: Workers) -> int:
    """Scoring jobs the worker reported as finished ("Task scoring.score_session[…] succeeded in …")."""
    return len(re.findall(r"Task scoring\.score_session\[[^\]]+\] succeeded in", _worker_log(workers)))


def _scores(world, session):
    return SessionScore.objects.for_tenant(world.tenant).filter(session_id=session.id)


def test_a_pool_process_killed_mid_job_is_replaced_and_the_redelivered_job_scores_once(
    workers: Workers, openai_server: OpenAIServer
):
    world = build_world("Pool Co", "pool-co")
    tenant = world.tenant
    with tenant_context(tenant):
        ai_settings_update(tenant=tenant, actor=world.member(Role.TENANT_ADMIN).user, customer_engine="embedded",
                           scorer_engine="llm", llm_base_url=openai_server.base_url, llm_model="m", llm_api_key="")
    session = ended_session(world.member(Role.REP), status="active", end_reason="", ended_at=None)
    with tenant_context(tenant):
        turns = list(Turn.objects.for_tenant(tenant).filter(session=session).order_by("index"))
        transcript = services.transcript_for_session(session=session, turns=turns)
    answer = valid_judge_json(transcript)
    openai_server.script(delay(HOLD_JUDGE_S, then=reply(answer)), reply(answer))

    worker = workers.start(env=WORKER_ENV)
    workers.wait_ready(worker)
    with tenant_context(tenant):
        session_services.session_end(tenant=tenant, rep=world.member(Role.REP), session_id=session.id)

    # Mid-flight: the row is claimed and the judge has been asked, and has not answered.
    workers.wait_for("the judge's first request", lambda: len(openai_server.chat_requests()) == 1, WAIT_S)
    claimed = _scores(world, session).get()
    assert claimed.status == ScoreStatus.RUNNING and claimed.attempts == 1
    pool = workers.wait_for("the pool process", lambda: Workers.pool_pids(worker), WAIT_S)
    assert len(pool) == 1, f"expected one pool process with --concurrency=1, found {pool}"

    os.kill(pool[0], signal.SIGKILL)  # one fault: the pool process, not the worker

    rows = workers.wait_for(
        "a finished score",
        lambda: [row for row in _scores(world, session) if row.status == ScoreStatus.DONE] or None,
        WAIT_S,
    )
    assert worker.poll() is None, "the worker's main process died with its pool process"
    # The pool's bookkeeping (reaping the killed process, listing its replacement) may trail the
    # finished score by a moment: wait for a pool without the killed process.
    def replaced() -> list[int] | None:
        pids = Workers.pool_pids(worker)
        return pids if pids and pool[0] not in pids else None

    workers.wait_for("the pool to replace the killed process", replaced, WAIT_S)

    all_rows = list(_scores(world, session))
    assert [row.id for row in all_rows] == [rows[0].id], "the redelivered job left a second score"
    score = all_rows[0]
    assert score.is_current and score.overall is not None and score.error == ""
    assert score.attempts == 2, "the redelivered job should take over its own dead claim"
    assert len(openai_server.chat_requests()) == 2, "the judge was asked exactly once more"
    with tenant_context(tenant):
        stored = {b.behavior: b.ai_score for b in BehaviorScore.objects.for_tenant(tenant).filter(session_score=score)}
    assert stored == judge_scores(transcript)
    log = _worker_log(workers)
    assert "WorkerLostError" in log
    assert log.count(f"Task scoring.score_session[{claimed.claim_token}] received") == 2, "not redelivered"

    # Delivered once more (a duplicate from the broker): nothing changes, the judge is not asked.
    from scoring.tasks import score_session

    # The worker logs a job's success after the job committed its score: wait for the redelivered
    # job's line, or it could arrive late and pass for the duplicate's.
    finished_before = workers.wait_for("the redelivered job to be logged as finished",
                                       lambda: _jobs_finished(workers), WAIT_S)
    assert finished_before == 1, _worker_log(workers)
    score_session.apply_async(kwargs={"tenant_id": tenant.id, "session_id": session.id})
    workers.wait_for("the duplicate job to finish", lambda: _jobs_finished(workers) > finished_before, WAIT_S)
    assert list(_scores(world, session).values_list("id", "attempts", "status")) == [(score.id, 2, ScoreStatus.DONE)]
    assert len(openai_server.chat_requests()) == 2
