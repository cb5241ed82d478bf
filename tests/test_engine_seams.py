"""A third engine is its own module plus one registration: a throwaway customer and a throwaway
scorer, registered here and nowhere else, run a whole session and its scoring job, and the tokens
they declare are metered like the LLM's."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from django.urls import reverse

from coachhub.tenancy.budget import budget_status
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AISettings, Role
from scoring.engines import scoring_engines
from scoring.engines.base import BehaviorScore, Evidence, Focus, ScoreResult
from scoring.models import ScoreStatus, SessionScore
from scoring.transcript import Transcript
from sessions import services
from sessions.engines import customer_engines
from sessions.engines.base import CustomerTurn, Utterance
from sessions.models import EndReason
from tests.sessions.helpers import publish_library_scenario


class EchoCustomer:
    """Repeats the rep and is satisfied on the second line; says it costs tokens, to be metered."""

    name = "echo"
    model = "echo-1"
    answers_inline = True
    streams = False

    def start(self, spec, *, seed):
        return CustomerTurn(text=spec.opening_line, frustration=50), {"lines": 0}

    def respond(self, spec, state, rep_text, *, history: Sequence[Utterance] = ()):
        lines = state["lines"] + 1
        return (
            CustomerTurn(text=f"You said: {rep_text}", frustration=50 - 20 * lines,
                         end_reason="resolved" if lines >= 2 else None),
            {"lines": lines},
        )

    def token_estimate(self, spec, texts):
        return 50

    def tokens_used(self, before, after):
        return 7


class WordCountScorer:
    """Scores every rubric behavior by how many words the rep said."""

    name = "wordcount"
    version = "test-1"

    def score(self, transcript: Transcript, *, budget=None) -> ScoreResult:
        rep_lines = [(index, turn.text) for index, turn in enumerate(transcript.turns) if turn.speaker == "rep"]
        words = sum(len(text.split()) for _, text in rep_lines)
        index, quote = rep_lines[-1]
        behaviors = {
            item.key: BehaviorScore(min(100, words * 5), f"{words} words", 1.0, (Evidence(index, quote),))
            for item in transcript.scenario.rubric
        }
        focus_key = next(iter(behaviors))
        return ScoreResult(
            behaviors=behaviors, policies=(), turns=(), overall=min(100, words * 5),
            focus=Focus(behavior=focus_key, tip="Say more.", example=quote),
        )

    def token_estimate(self, transcript):
        return 0

    def tokens_used(self, result):
        return 0


@pytest.fixture
def throwaway_engines():
    customer_engines.register("echo", EchoCustomer)
    scoring_engines.register("wordcount", WordCountScorer)
    yield
    customer_engines.unregister("echo")
    scoring_engines.unregister("wordcount")


@pytest.mark.django_db
def test_a_registered_engine_pair_runs_a_session_and_its_scoring_job(
    world_a, throwaway_engines, client_for, django_capture_on_commit_callbacks
):
    tenant, rep = world_a.tenant, world_a.member(Role.REP)
    with tenant_context(tenant):
        AISettings.objects.update_or_create(tenant=tenant, defaults={"customer_engine": "echo", "scorer_engine": "wordcount"})
        session = services.session_start(tenant=tenant, rep=rep, version=publish_library_scenario(tenant))
        assert (session.engine, session.engine_model) == ("echo", "echo-1")
        _, first = services.session_turn_exchange(tenant=tenant, rep=rep, session_id=session.id, text="I hear you.")
        with django_capture_on_commit_callbacks(execute=True):  # what follows the end's commit
            _, second = services.session_turn_exchange(
                tenant=tenant, rep=rep, session_id=session.id, text="I'll send the right size today."
            )
        assert first.text == "You said: I hear you." and second.frustration == 10
        session.refresh_from_db()
        assert session.end_reason == EndReason.RESOLVED
        # Ending the session queued its scoring job with the tenant's scorer (eager in tests).
        score = SessionScore.objects.for_tenant(tenant).get(session=session, is_current=True)
        ledger = budget_status(tenant=tenant)
    assert (score.engine, score.scorer_version, score.status) == ("wordcount", "test-1", ScoreStatus.DONE)
    assert score.overall == 45  # 9 words × 5
    assert (ledger.reserved, ledger.used) == (0, 14), "each reply reserved its estimate and paid what it used"
    scores = client_for(rep).get(reverse("session_scores", kwargs={"tenant_slug": "acme", "session_id": session.id}))
    assert scores.status_code == 200 and "Say more." in scores.content.decode(), "the rep sees the new scorer's advice"


@pytest.mark.django_db
def test_an_unregistered_engine_is_refused_with_the_registered_names():
    from coachhub.core.engines import EngineUnavailable

    with pytest.raises(EngineUnavailable, match="Unknown engine 'echo'. Choose one of: embedded, llm."):
        customer_engines.create("echo")
    with pytest.raises(EngineUnavailable, match="unknown scoring engine 'wordcount'; choose one of embedded, llm"):
        scoring_engines.create("wordcount")
