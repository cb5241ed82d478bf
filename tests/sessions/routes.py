"""Runner routes in the cross-tenant matrix. Sessions belong to the world's rep."""

from coachhub.tenancy.context import tenant_context
from sessions import services
from tests.matrix import ADMIN, LEAD, MANAGER, REP, TENANT_API, TENANT_PAGE, Route, everyone, only
from tests.sessions.helpers import publish_library_scenario


def seed(world) -> None:
    version = publish_library_scenario(world.tenant, "meal-kit-cancellation")
    with tenant_context(world.tenant):
        session = services.session_start(tenant=world.tenant, rep=world.member(REP), version=version)
        ended = services.session_start(tenant=world.tenant, rep=world.member(REP), version=version)
        services.session_end(tenant=world.tenant, rep=world.member(REP), session_id=ended.id)
    world.extra.update(version=version, session=session, ended_session=ended)


def _session(world) -> dict:
    return {"session_id": world.extra["session"].id}


# Only the session's own rep may act in it; others who can see it get 404 on the action routes.
_OWN_ONLY = {REP: 200, MANAGER: 404, LEAD: 404, ADMIN: 404}

def _checked_scenario(world) -> dict:
    return {"scenario_id": world.extra["version"].scenario_id}


ROUTES = {
    # The realism check of a scenario: authors only, like the scenario page it sits on.
    "scenario_realism_check": Route(
        TENANT_PAGE, only({LEAD, ADMIN}, 302), method="POST", kwargs=_checked_scenario, has_object_ids=True
    ),
    "scenario_realism_status": Route(
        TENANT_PAGE, only({LEAD, ADMIN}), kwargs=_checked_scenario, has_object_ids=True
    ),
    "practice": Route(TENANT_PAGE, everyone(200)),
    "session_list": Route(TENANT_PAGE, everyone(200)),
    "session_start": Route(
        TENANT_PAGE,
        everyone(302),
        method="POST",
        has_object_ids=True,
        kwargs=lambda w: {},
        data=lambda w: {"version_id": w.extra["version"].id},
    ),
    "session_detail": Route(TENANT_PAGE, everyone(200), kwargs=_session, has_object_ids=True),
    "session_turn": Route(
        TENANT_PAGE,
        _OWN_ONLY,
        method="POST",
        kwargs=_session,
        has_object_ids=True,
        data=lambda w: {"text": "I hear you."},
    ),
    "session_voice_turn": Route(
        TENANT_PAGE,
        {REP: 422, MANAGER: 404, LEAD: 404, ADMIN: 404},
        method="POST",
        kwargs=_session,
        has_object_ids=True,
    ),
    # The walked session has no line waiting for a reply: its owner is refused before any stream (409).
    "session_reply_retry": Route(
        TENANT_PAGE, {**_OWN_ONLY, REP: 409}, method="POST", kwargs=_session, has_object_ids=True
    ),
    "session_end": Route(
        TENANT_PAGE,
        {REP: 302, MANAGER: 404, LEAD: 404, ADMIN: 404},
        method="POST",
        kwargs=_session,
        has_object_ids=True,
    ),
    "api-session-list": Route(TENANT_API, everyone(200)),
    "api-session-detail": Route(
        TENANT_API, everyone(200), kwargs=lambda w: {"pk": w.extra["session"].id}, has_object_ids=True
    ),
    "api-session-turns": Route(
        TENANT_API, everyone(200), kwargs=lambda w: {"pk": w.extra["session"].id}, has_object_ids=True
    ),
    "api-session-reply": Route(
        TENANT_API,
        {REP: 409, MANAGER: 404, LEAD: 404, ADMIN: 404},
        method="POST",
        kwargs=lambda w: {"pk": w.extra["session"].id},
        has_object_ids=True,
    ),
    "api-session-audio": Route(  # JSON instead of a multipart recording: 415 for the session's rep
        TENANT_API,
        {REP: 415, MANAGER: 404, LEAD: 404, ADMIN: 404},
        method="POST",
        kwargs=lambda w: {"pk": w.extra["session"].id},
        has_object_ids=True,
    ),
    "api-session-end": Route(
        TENANT_API,
        {REP: 200, MANAGER: 404, LEAD: 404, ADMIN: 404},
        method="POST",
        kwargs=lambda w: {"pk": w.extra["session"].id},
        has_object_ids=True,
    ),
}
