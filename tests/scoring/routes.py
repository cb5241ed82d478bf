"""Scoring routes in the cross-tenant matrix. The seeded session belongs to the world's rep (a
member of the team the world's manager coaches) and is scored by the real embedded scorer; the rep
has an open dispute on its empathy score."""

from coachhub.tenancy.context import tenant_context
from scoring import services
from scoring.models import BehaviorScore
from tests.matrix import ADMIN, LEAD, MANAGER, REP, TENANT_API, TENANT_PAGE, Route, everyone, only
from tests.scoring.factories import scored_session

REVIEWERS = {MANAGER, LEAD, ADMIN}


def seed(world) -> None:
    rep = world.member(REP)
    session, score = scored_session(rep)
    with tenant_context(world.tenant):
        empathy = BehaviorScore.objects.for_tenant(world.tenant).get(session_score=score, behavior="empathy")
        listening = BehaviorScore.objects.for_tenant(world.tenant).get(session_score=score, behavior="active_listening")
        dispute = services.dispute_open(tenant=world.tenant, rep=rep, behavior_score=empathy, note="I did empathize.")
    world.extra.update(
        scored_session=session, session_score=score, empathy=empathy, listening=listening, dispute=dispute
    )


def _session(world) -> dict:
    return {"session_id": world.extra["scored_session"].id}


def _behavior(name: str):
    return lambda world: {**_session(world), "behavior_score_id": world.extra[name].id}


ROUTES = {
    "session_scores": Route(TENANT_PAGE, everyone(200), kwargs=_session, has_object_ids=True),
    "score_adjust": Route(
        TENANT_PAGE, only(REVIEWERS, 302), method="POST", kwargs=_behavior("empathy"), has_object_ids=True,
        data=lambda w: {"score": 70, "reason": "Acknowledged the wedding stress."},
    ),
    "score_dispute_open": Route(
        # Only the session's own rep disputes; others who can see the session get 404, as on the runner.
        TENANT_PAGE, {REP: 302, MANAGER: 404, LEAD: 404, ADMIN: 404}, method="POST", kwargs=_behavior("listening"),
        has_object_ids=True, data=lambda w: {"note": "I did listen."},
    ),
    "score_dispute_resolve": Route(
        # The first reviewer resolves it; later ones are told it is already resolved (a message, 302).
        TENANT_PAGE, only(REVIEWERS, 302), method="POST", has_object_ids=True,
        kwargs=lambda w: {**_session(w), "dispute_id": w.extra["dispute"].id},
        data=lambda w: {"resolution_note": "Looked again: the score stands."},
    ),
    "turn_comment_add": Route(
        TENANT_PAGE, only(REVIEWERS, 302), method="POST", kwargs=_session, has_object_ids=True,
        data=lambda w: {"turn_index": 1, "text": "Good acknowledgement here."},
    ),
    "api-session-score-list": Route(TENANT_API, everyone(200)),
    "api-session-score-detail": Route(
        TENANT_API, everyone(200), kwargs=lambda w: {"pk": w.extra["session_score"].id}, has_object_ids=True
    ),
    "api-session-score-adjust": Route(
        TENANT_API, only(REVIEWERS), method="POST", kwargs=lambda w: {"pk": w.extra["session_score"].id},
        has_object_ids=True, data=lambda w: {"behavior": "empathy", "score": 70, "reason": "Heard the customer."},
    ),
    "api-turn-comment-list": Route(TENANT_API, everyone(200)),
    "api-dispute-list": Route(TENANT_API, everyone(200)),
    "api-dispute-detail": Route(
        TENANT_API, everyone(200), kwargs=lambda w: {"pk": w.extra["dispute"].id}, has_object_ids=True
    ),
    "api-dispute-resolve": Route(
        # The manager resolves it first; the lead and admin then get 409 "already resolved".
        TENANT_API, {REP: 403, MANAGER: 200, LEAD: 409, ADMIN: 409}, method="POST",
        kwargs=lambda w: {"pk": w.extra["dispute"].id}, has_object_ids=True,
        data=lambda w: {"resolution_note": "The score stands."},
    ),
}
