"""Factories for scoring tests: a published library scenario, ended sessions with real turns, and
scores produced by the real scoring service (never hand-made result dicts)."""

from __future__ import annotations

import factory
from django.utils import timezone

from coachhub.tenancy.context import tenant_context
from scenarios.library import library_get
from sessions.models import PracticeSession, Turn
from tests.factories import MembershipFactory, TenantOwnedFactory
from tests.scenarios import factories as scenario_factories

SCENARIO_SLUG = "wrong-suit-before-wedding"
SUPPORTIVE_LINES = [
    ("customer", "My suit arrived in the wrong size and the wedding is on Saturday!"),
    ("rep", "I'm so sorry, that sounds really stressful with the wedding on Saturday. So the suit arrived in the "
            "wrong size?"),
    ("customer", "Yes, a 42 instead of a 40R. I need it fixed."),
    ("rep", "I can send the right suit by overnight express at no charge, because the mistake was ours."),
    ("customer", "Okay. When will I know it's on the way?"),
    ("rep", "I will ship the 40R today and email you the tracking number by 3pm today."),
]
DISMISSIVE_LINES = [
    ("customer", "My suit arrived in the wrong size and the wedding is on Saturday!"),
    ("rep", "Calm down."),
    ("customer", "Don't tell me to calm down."),
    ("rep", "There's nothing I can do, it's policy."),
]


class ScenarioFactory(scenario_factories.ScenarioFactory):
    """The suit scenario the scripted lines above belong to."""

    slug = factory.Sequence(lambda n: f"{SCENARIO_SLUG}-{n}")
    title = factory.LazyFunction(lambda: library_get(SCENARIO_SLUG).title)
    moment = factory.LazyFunction(lambda: library_get(SCENARIO_SLUG).moment)


class ScenarioVersionFactory(scenario_factories.ScenarioVersionFactory):
    scenario = factory.SubFactory(ScenarioFactory)
    status = "published"
    spec = factory.LazyFunction(lambda: library_get(SCENARIO_SLUG).to_dict())


class PracticeSessionFactory(TenantOwnedFactory):
    """An ended session of the world's rep (pass `membership`), pinned to a published version."""

    class Meta:
        model = PracticeSession

    membership = factory.SubFactory(MembershipFactory)
    tenant = factory.SelfAttribute("membership.tenant")
    version = factory.SubFactory(ScenarioVersionFactory, scenario__tenant=factory.SelfAttribute("...tenant"))
    scenario = factory.SelfAttribute("version.scenario")
    engine = "embedded"
    engine_model = "embedded-1"
    seed = 7
    status = "ended"
    end_reason = "resolved"
    ended_at = factory.LazyFunction(timezone.now)


def add_turns(session: PracticeSession, lines=SUPPORTIVE_LINES, *, delivery: dict | None = None) -> list[Turn]:
    turns = []
    for index, (speaker, text) in enumerate(lines):
        turns.append(
            Turn.objects.for_tenant(session.tenant).create(
                tenant=session.tenant, session=session, index=index, speaker=speaker, text=text,
                latency_ms=2500 if speaker == "rep" else None,
                delivery=(delivery or {}) if speaker == "rep" else {},
            )
        )
    return turns


def ended_session(membership, lines=SUPPORTIVE_LINES, *, version=None, delivery=None, **extra) -> PracticeSession:
    kwargs = {"membership": membership, **extra}
    if version is not None:
        kwargs.update(version=version, scenario=version.scenario)
    session = PracticeSessionFactory(**kwargs)
    add_turns(session, lines, delivery=delivery)
    return session


def scored_session(membership, lines=SUPPORTIVE_LINES, **extra):
    """An ended session scored by the real embedded scorer; returns (session, session_score)."""
    from scoring.services import session_score_run

    session = ended_session(membership, lines, **extra)
    with tenant_context(session.tenant):
        score = session_score_run(tenant=session.tenant, session_id=session.id)
    return session, score
