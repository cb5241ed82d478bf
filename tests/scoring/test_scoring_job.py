"""The scoring job: idempotent under repeats, races and vanished rows; clear failures; the sweeper;
rescoring with history; the LLM judge's failures against a real OpenAI-compatible server on
loopback. Tasks run inline here (eager, retries included, without waiting out the countdown);
tests/scoring/test_worker_faults.py runs a real worker on Redis."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from coachhub.celery import app as celery_app
from coachhub.core.llm import LLMAuthError
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AISettings, Role
from coachhub.tenancy.selectors import tenant_llm_config
from coachhub.tenancy.services import ai_settings_update
from scoring import services
from scoring.engines import EmbeddedScorer
from scoring.engines.llm_judge import JUDGE_BAD_RESPONSE_MESSAGE, JUDGE_MESSAGES, LLMJudge
from scoring.evaluation import SYNTHETIC_INJECTIONS
from scoring.models import BehaviorScore, ScoreStatus, SessionScore
from scoring.tasks import MAX_RETRIES, score_session, sweep_unscored_sessions
from scoring.transcript import Transcript
from sessions.models import Turn
from tests.conftest import require_postgresql
from tests.scoring.factories import SUPPORTIVE_LINES, ended_session
from tests.scoring.judge_answers import judge_scores, valid_judge_json
from tests.support.celery_worker import DEAD_BROKER, _point_app_at
from tests.support.openai_server import OpenAIServer, reply, status

pytestmark = pytest.mark.django_db


def _scores(tenant, session=None):
    rows = SessionScore.objects.for_tenant(tenant)
    return rows.filter(session=session) if session is not None else rows


def _behaviors(tenant, score):
    return {b.behavior: b for b in BehaviorScore.objects.for_tenant(tenant).filter(session_score=score)}


def _run_task(tenant, session_id, **kwargs):
    score_session.apply(kwargs={"tenant_id": tenant.id, "session_id": session_id, **kwargs})


def test_the_same_job_twice_leaves_one_score(world_a):
    tenant = world_a.tenant
    session = ended_session(world_a.member(Role.REP))
    _run_task(tenant, session.id)
    first = _scores(tenant, session).get()
    behaviors_before = {k: (b.id, b.ai_score) for k, b in _behaviors(tenant, first).items()}

    _run_task(tenant, session.id)

    score = _scores(tenant, session).get()
    assert score.id == first.id and score.status == ScoreStatus.DONE and score.is_current
    assert score.attempts == 1, "the second run must not score again"
    assert {k: (b.id, b.ai_score) for k, b in _behaviors(tenant, score).items()} == behaviors_before
    assert score.rubric_version == session.version.number
    assert score.engine == "embedded" and score.scorer_version == EmbeddedScorer.version
    assert score.result["behaviors"].keys() == behaviors_before.keys()


def test_a_second_job_leaves_a_fresh_claim_alone_and_the_claimant_finishes(world_a):
    """Two deliveries interleaved: B arrives while A holds the claim → B does nothing; A finishes."""
    tenant = world_a.tenant
    session = ended_session(world_a.member(Role.REP))
    with tenant_context(tenant):
        claimed = services._claim(tenant=tenant, session=session, engine="embedded",
                                  version=EmbeddedScorer.version, job_id="job-a")
        assert claimed is not None and claimed.status == ScoreStatus.RUNNING
        assert services.session_score_run(tenant=tenant, session_id=session.id, job_id="job-b") is None
        # A's message is redelivered (its worker died): the same job id takes its claim back.
        done = services.session_score_run(tenant=tenant, session_id=session.id, job_id="job-a")
    assert done is not None and done.status == ScoreStatus.DONE
    assert _scores(tenant, session).count() == 1


def test_a_presumed_dead_claimant_cannot_overwrite_the_takeover(world_a):
    tenant = world_a.tenant
    session = ended_session(world_a.member(Role.REP))
    with tenant_context(tenant):
        claimed = services._claim(tenant=tenant, session=session, engine="embedded",
                                  version=EmbeddedScorer.version, job_id="job-a")
        _scores(tenant).filter(id=claimed.id).update(started_at=timezone.now() - timedelta(hours=1))
        taken = services.session_score_run(tenant=tenant, session_id=session.id, job_id="job-b")
        assert taken is not None and taken.status == ScoreStatus.DONE
        late = services._write_result(tenant=tenant, score_id=claimed.id, job_id="job-a",
                                      result={"behaviors": {}, "overall": 0}, turn_numbers=[], weights={})
    assert late is None
    score = _scores(tenant, session).get()
    assert score.overall == taken.overall and score.attempts == 2
    assert len(_behaviors(tenant, score)) == len(taken.result["behaviors"])


@pytest.mark.django_db(transaction=True)
def test_concurrent_jobs_score_once():
    """Real concurrent runs on PostgreSQL: several workers pick up the same session at once."""
    require_postgresql("row locks")
    from tests.conftest import build_world

    world = build_world("Race Co", "race")
    tenant = world.tenant
    session = ended_session(world.member(Role.REP))
    results, errors = [], []
    barrier = threading.Barrier(6)

    def worker(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            with tenant_context(tenant):
                results.append(services.session_score_run(tenant=tenant, session_id=session.id, job_id=f"job-{n}",
                                                          slow_down_s=0.2))
        except Exception as exc:  # reported below; a thread can't fail the test itself
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    finished = [r for r in results if r is not None]
    assert len(finished) == 1, results
    score = _scores(tenant, session).get()
    assert score.status == ScoreStatus.DONE and score.attempts == 1
    assert BehaviorScore.objects.for_tenant(tenant).filter(session_score=score).count() == len(score.result["behaviors"])


def test_a_vanished_session_is_a_no_op(world_a):
    tenant = world_a.tenant
    session = ended_session(world_a.member(Role.REP))
    session_id = session.id
    with tenant_context(tenant):
        session.delete()
    _run_task(tenant, session_id)
    _run_task(tenant, 987654)
    assert not _scores(tenant).exists()


def test_a_session_still_in_progress_is_not_scored(world_a):
    tenant = world_a.tenant
    session = ended_session(world_a.member(Role.REP), status="active", end_reason="", ended_at=None)
    _run_task(tenant, session.id)
    assert not _scores(tenant).exists()


def test_an_llm_engine_without_an_endpoint_is_a_recorded_failure_not_a_crash_loop(world_a, settings):
    settings.LLM_BASE_URL = ""  # no deployment default either
    tenant = world_a.tenant
    with tenant_context(tenant):
        AISettings.objects.for_tenant(tenant).create(tenant=tenant, scorer_engine="llm")
    session = ended_session(world_a.member(Role.REP))

    _run_task(tenant, session.id)  # no exception escapes, no retry storm
    score = _scores(tenant, session).get()
    assert score.status == ScoreStatus.FAILED
    assert score.error == (
        "The llm scoring engine is unavailable: "
        "No LLM endpoint is configured: set LLM_BASE_URL or the tenant's AI settings"
    )
    assert not score.is_current

    # The sweeper does not chase a failed run, so a missing engine can't loop.
    with tenant_context(tenant):
        assert services.sessions_needing_score(tenant=tenant, older_than=timedelta(0)) == []
    assert _scores(tenant).count() == 1

    # Another delivery of the same job records the same failure on the same row.
    _run_task(tenant, session.id)
    score = _scores(tenant, session).get()
    assert score.status == ScoreStatus.FAILED and score.attempts == 2


def test_the_page_says_why_scoring_failed(world_a, client_for, settings):
    settings.LLM_BASE_URL = ""
    tenant = world_a.tenant
    session = ended_session(world_a.member(Role.REP))
    _run_task(tenant, session.id, engine_name="llm")
    response = client_for(world_a.member(Role.REP)).get(f"/t/{tenant.slug}/sessions/{session.id}/scores/",
                                                         HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Scoring failed" in body and "llm scoring engine is unavailable" in body
    assert "No LLM endpoint is configured" in body
    assert "every 1s" not in body


# --- the LLM judge, against a real OpenAI-compatible server on loopback ---------------------------


@pytest.fixture
def llm_world(world_a, openai_server: OpenAIServer, settings):
    """world_a with its admin's AI settings pointing the scorer at the loopback server."""
    settings.LLM_BASE_URL = ""  # only the tenant's own endpoint can be the one answering
    tenant = world_a.tenant
    with tenant_context(tenant):
        ai_settings_update(tenant=tenant, actor=world_a.member(Role.TENANT_ADMIN).user, customer_engine="embedded",
                           scorer_engine="llm", llm_base_url=openai_server.base_url, llm_model="m", llm_api_key="")
    return world_a


def _judge_calls_per_job(tenant) -> int:
    """How many requests one job makes before giving up: the judge's first try plus its own retries."""
    with tenant_context(tenant):
        return 1 + tenant_llm_config(tenant=tenant).max_retries


def _transcript_of(tenant, session) -> Transcript:
    """What the job sends the judge, so a scripted answer can quote it verbatim."""
    with tenant_context(tenant):
        turns = list(Turn.objects.for_tenant(tenant).filter(session=session).order_by("index"))
        return services.transcript_for_session(session=session, turns=turns)


def test_a_judge_failing_on_its_side_is_retried_by_the_job_then_scored(llm_world, openai_server):
    tenant = llm_world.tenant
    session = ended_session(llm_world.member(Role.REP))
    transcript = _transcript_of(tenant, session)
    calls = _judge_calls_per_job(tenant)
    # The first job attempt exhausts the judge's own retries on 500s; the job's retry gets an answer.
    openai_server.script(*[status(500)] * calls, reply(valid_judge_json(transcript)))

    _run_task(tenant, session.id)

    score = _scores(tenant, session).get()
    assert score.status == ScoreStatus.DONE and score.is_current and score.error == ""
    assert score.attempts == 2
    assert (score.engine, score.scorer_version) == ("llm", LLMJudge.version)
    assert {key: b.ai_score for key, b in _behaviors(tenant, score).items()} == judge_scores(transcript)
    requests = openai_server.chat_requests()
    assert len(requests) == calls + 1
    assert {body["model"] for body in requests} == {"m"}, "the tenant's own model was asked"

    _run_task(tenant, session.id)  # delivered again: already done, the judge is not asked again
    assert len(openai_server.chat_requests()) == calls + 1
    assert _scores(tenant, session).get().attempts == 2


def test_a_judge_that_keeps_failing_ends_in_a_recorded_failure_after_bounded_retries(llm_world, openai_server):
    tenant = llm_world.tenant
    session = ended_session(llm_world.member(Role.REP))
    calls = _judge_calls_per_job(tenant)
    # Rate limited every time; "Retry-After: 0" lets the judge's own retries run without waiting.
    openai_server.script(*[status(429, retry_after=0)] * (calls * (1 + MAX_RETRIES)))

    _run_task(tenant, session.id)

    score = _scores(tenant, session).get()
    assert score.status == ScoreStatus.FAILED and not score.is_current
    assert score.error == (
        "Scoring kept failing on a temporary error; try rescoring later. "
        "(the AI service was rate limiting requests)"
    )
    assert score.attempts == 1 + MAX_RETRIES
    assert len(openai_server.chat_requests()) == calls * (1 + MAX_RETRIES)
    assert openai_server.pending_behaviors == 0
    assert not _behaviors(tenant, score) and score.result == {} and score.overall is None


def test_a_judge_whose_answers_stay_invalid_fails_without_requeue_or_stored_scores(llm_world, openai_server):
    tenant = llm_world.tenant
    session = ended_session(llm_world.member(Role.REP))
    transcript = _transcript_of(tenant, session)
    calls = _judge_calls_per_job(tenant)
    not_json = "The rep did great, I'd give them a 95 across the board!"
    openai_server.script(*[reply(not_json)] * calls, reply(valid_judge_json(transcript)))

    _run_task(tenant, session.id)

    score = _scores(tenant, session).get()
    assert score.status == ScoreStatus.FAILED and not score.is_current
    assert score.error == f"The llm scoring engine failed: {JUDGE_BAD_RESPONSE_MESSAGE}"
    assert score.attempts == 1, "invalid output is not a temporary error: the job is not re-queued"
    assert len(openai_server.chat_requests()) == calls
    assert openai_server.pending_behaviors == 1, "the valid answer after them was never asked for"
    assert not _behaviors(tenant, score) and score.result == {} and score.overall is None
    assert "95" not in score.error


def test_a_judge_that_refuses_our_key_fails_at_once(llm_world, openai_server):
    tenant = llm_world.tenant
    session = ended_session(llm_world.member(Role.REP))
    openai_server.script(status(401), reply("never asked for"))

    _run_task(tenant, session.id)

    score = _scores(tenant, session).get()
    assert score.status == ScoreStatus.FAILED and score.attempts == 1
    # The judge's own words for it, not the customer's (the shared AUTH_MESSAGE speaks of the AI service).
    assert score.error == f"The llm scoring engine failed: {JUDGE_MESSAGES[LLMAuthError]}"
    assert len(openai_server.chat_requests()) == 1, "configuration can't be fixed by retrying"


def test_injection_lines_never_raise_stored_scores(world_a):
    tenant = world_a.tenant
    rep = world_a.member(Role.REP)
    baseline = ended_session(rep)
    _run_task(tenant, baseline.id)
    base = _scores(tenant, baseline).get()
    base_behaviors = _behaviors(tenant, base)
    for line in SYNTHETIC_INJECTIONS:
        attacked_lines = [*SUPPORTIVE_LINES[:2], ("rep", line), *SUPPORTIVE_LINES[2:], ("rep", line)]
        attacked = ended_session(rep, attacked_lines, version=baseline.version)
        _run_task(tenant, attacked.id)
        score = _scores(tenant, attacked).get()
        assert score.overall is not None and score.overall <= base.overall, line
        for key, behavior in _behaviors(tenant, score).items():
            if behavior.ai_score is not None:
                assert base_behaviors[key].ai_score is not None and behavior.ai_score <= base_behaviors[key].ai_score
            quotes = [item["quote"] for item in behavior.evidence]
            assert line not in quotes


def test_evidence_points_at_the_sessions_own_turn_numbers(world_a):
    tenant = world_a.tenant
    session = ended_session(world_a.member(Role.REP), lines=[])
    with tenant_context(tenant):
        for offset, (speaker, text) in enumerate(SUPPORTIVE_LINES):
            Turn.objects.for_tenant(tenant).create(tenant=tenant, session=session, index=10 + offset * 2,
                                                   speaker=speaker, text=text)
        rep_turns = set(Turn.objects.for_tenant(tenant).filter(session=session, speaker="rep")
                        .values_list("index", flat=True))
    _run_task(tenant, session.id)
    score = _scores(tenant, session).get()
    cited = {item["turn"] for b in _behaviors(tenant, score).values() for item in b.evidence}
    assert cited and cited <= rep_turns


def test_voice_delivery_is_kept(world_a):
    tenant = world_a.tenant
    session = ended_session(world_a.member(Role.REP), delivery={"words_per_minute": 150.0, "pauses": 1, "fillers": 2})
    _run_task(tenant, session.id)
    score = _scores(tenant, session).get()
    assert score.delivery == {"words_per_minute": 150.0, "pauses": 3, "fillers": 6}


def test_ending_a_session_enqueues_scoring_after_commit(world_a, django_capture_on_commit_callbacks):
    from sessions import services as session_services
    from tests.sessions.helpers import publish_library_scenario

    tenant, rep = world_a.tenant, world_a.member(Role.REP)
    version = publish_library_scenario(tenant, "meal-kit-cancellation")
    with tenant_context(tenant):
        session = session_services.session_start(tenant=tenant, rep=rep, version=version)
        Turn.objects.for_tenant(tenant).bulk_create(
            Turn(tenant=tenant, session=session, index=i + 1, speaker=speaker, text=text)
            for i, (speaker, text) in enumerate(SUPPORTIVE_LINES[1:])
        )
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            session_services.session_end(tenant=tenant, rep=rep, session_id=session.id)
        assert not _scores(tenant).exists(), "nothing is queued before the commit"
        for callback in callbacks:
            callback()
    score = _scores(tenant, session).get()
    assert score.status == ScoreStatus.DONE and score.is_current


@pytest.fixture
def dead_broker():
    """Publish to a loopback port where nothing listens, then put the app back as it was."""
    saved_url, saved_eager = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    _point_app_at(DEAD_BROKER)
    yield
    _point_app_at(saved_url)
    celery_app.conf.task_always_eager = saved_eager


def test_a_broker_outage_at_session_end_does_not_break_ending(world_a, django_capture_on_commit_callbacks,
                                                                dead_broker):
    tenant = world_a.tenant
    session = ended_session(world_a.member(Role.REP))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with tenant_context(tenant):
            services.session_score_enqueue(tenant=tenant, session=session)
    assert len(callbacks) == 1, "the job was offered to the broker"
    assert not _scores(tenant).exists()
    with tenant_context(tenant):  # the sweeper finds it once the broker is back
        assert services.sessions_needing_score(tenant=tenant, older_than=timedelta(0)) == [session.id]


def test_the_sweeper_scores_what_never_arrived_once(world_a):
    tenant = world_a.tenant
    rep = world_a.member(Role.REP)
    old = timezone.now() - timedelta(minutes=5)
    lost = ended_session(rep, ended_at=old)
    fresh = ended_session(rep)  # its job may still be on the way
    trial = ended_session(world_a.member(Role.ENABLEMENT_LEAD), ended_at=old, is_trial=True)
    stuck = ended_session(rep, ended_at=old)
    with tenant_context(tenant):
        claimed = services._claim(tenant=tenant, session=stuck, engine="embedded",
                                  version=EmbeddedScorer.version, job_id="dead-worker")
    _scores(tenant).filter(id=claimed.id).update(started_at=timezone.now() - timedelta(hours=1))

    assert sweep_unscored_sessions.apply().get() == 2
    assert sweep_unscored_sessions.apply().get() == 0

    assert _scores(tenant, lost).get().status == ScoreStatus.DONE
    assert _scores(tenant, stuck).get().status == ScoreStatus.DONE
    assert not _scores(tenant, fresh).exists()
    assert not _scores(tenant, trial).exists()


def test_the_sweeper_stays_inside_each_tenant(world_a, world_b):
    old = timezone.now() - timedelta(minutes=5)
    a = ended_session(world_a.member(Role.REP), ended_at=old)
    b = ended_session(world_b.member(Role.REP), ended_at=old)
    assert sweep_unscored_sessions.apply().get() == 2
    assert _scores(world_a.tenant, a).get().tenant_id == world_a.tenant.id
    assert _scores(world_b.tenant, b).get().tenant_id == world_b.tenant.id


def test_rescoring_with_a_newer_scorer_keeps_history(world_a):
    tenant = world_a.tenant
    session = ended_session(world_a.member(Role.REP))
    _run_task(tenant, session.id)
    old = _scores(tenant, session).get()

    call_command("rescore", "--tenant", tenant.slug)  # same scorer: nothing new
    assert _scores(tenant, session).count() == 1

    # The stored run is what an older release of the scorer wrote; today's scorer is newer.
    _scores(tenant, session).filter(id=old.id).update(scorer_version="0.9")
    call_command("rescore", "--tenant", tenant.slug, "--engine", "embedded",
                 "--since", (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d"))
    rows = list(_scores(tenant, session).order_by("id"))
    assert [r.scorer_version for r in rows] == ["0.9", EmbeddedScorer.version]
    assert [r.is_current for r in rows] == [False, True]
    assert len(_behaviors(tenant, old)) == len(_behaviors(tenant, rows[1])), "the old run's behaviors stay"


def test_rescore_refuses_an_unknown_tenant():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No tenant"):
        call_command("rescore", "--tenant", "nobody")


def _judge_prompt_reservation(transcript) -> int:
    from coachhub.tenancy.budget import estimate_prompt_tokens
    from scoring.engines.judge_prompt import build_messages

    return estimate_prompt_tokens([message["content"] for message in build_messages(transcript)])


def _set_monthly_budget(tenant, tokens: int) -> None:
    with tenant_context(tenant):
        AISettings.objects.for_tenant(tenant).update(monthly_token_budget=tokens)


def test_each_judge_call_is_metered_and_its_answer_capped_by_what_the_budget_has_left(llm_world, openai_server):
    """The judge may ask up to three times. Each call reserves its own prompt and answer, settles what
    it used before the next is reserved, and asks for no longer an answer than the month has left,
    so a job can't overspend the budget by more than one call's estimate."""
    from coachhub.tenancy.budget import budget_status

    tenant = llm_world.tenant
    session = ended_session(llm_world.member(Role.REP))
    transcript = _transcript_of(tenant, session)
    prompt = _judge_prompt_reservation(transcript)
    # Room for one full call (4,096-token answer) and a little more: not for two full reservations.
    budget = prompt + 4096 + 300
    _set_monthly_budget(tenant, budget)
    openai_server.script(reply("Not JSON at all."), reply(valid_judge_json(transcript)))

    _run_task(tenant, session.id)

    score = _scores(tenant, session).get()
    assert score.status == ScoreStatus.DONE, score.error
    first, second = openai_server.chat_requests()
    assert first["max_tokens"] == 4096
    assert 512 <= second["max_tokens"] < 4096, "the second answer fits what the first call left"
    with tenant_context(tenant):
        ledger = budget_status(tenant=tenant)
    assert ledger.reserved == 0, "every call settled its reservation"
    assert 0 < ledger.used <= budget


def test_a_judge_call_that_cannot_fit_its_minimum_answer_is_not_made(llm_world, openai_server):
    from coachhub.tenancy.budget import budget_status

    tenant = llm_world.tenant
    session = ended_session(llm_world.member(Role.REP))
    _set_monthly_budget(tenant, _judge_prompt_reservation(_transcript_of(tenant, session)) + 100)
    openai_server.script(reply("never asked for"))

    _run_task(tenant, session.id)

    score = _scores(tenant, session).get()
    assert score.status == ScoreStatus.FAILED and "AI budget" in score.error
    assert openai_server.chat_requests() == [], "no call the budget can't pay for"
    with tenant_context(tenant):
        ledger = budget_status(tenant=tenant)
    assert (ledger.reserved, ledger.used) == (0, 0)
