"""Starting and ending a role-play session, and the customer engine it runs on."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from coachhub.core.errors import ApplicationError, Conflict
from coachhub.core.limits import enforce
from coachhub.tenancy.access import AUTHORS
from coachhub.tenancy.models import Membership, Tenant
from coachhub.tenancy.selectors import ai_settings_get, tenant_llm_config
from scenarios.models import AssignmentRecipient, ScenarioVersion, VersionStatus
from scenarios.services import assignment_record_attempt, version_mark_used
from scenarios.spec import ScenarioSpec
from sessions.engines import EngineUnavailable, customer_engines
from sessions.engines.base import CustomerEngine, CustomerTurn
from sessions.events import announce_on_commit

from ..models import EndReason, PracticeSession, SessionStatus, Speaker, Turn

if TYPE_CHECKING:
    from .turns import ReplyContext

# Engines may say "time_limit"; the session records every limit as "timed_out".
_ENGINE_END_REASONS = {"resolved": EndReason.RESOLVED, "escalated": EndReason.ESCALATED,
                       "timed_out": EndReason.TIMED_OUT, "time_limit": EndReason.TIMED_OUT}


# --- engines --------------------------------------------------------------------------------------


def engine_get(*, tenant: Tenant, name: str) -> CustomerEngine:
    return _engine(name, _llm_config_if_needed(tenant, name))


def engine_for(context: ReplyContext) -> CustomerEngine:
    """The engine that answers `context`, without touching the database (safe in async code)."""
    return _engine(context.engine, context.llm_config)


def _engine(name: str, llm_config) -> CustomerEngine:
    try:
        return customer_engines.create(name, llm_config=llm_config)
    except EngineUnavailable as exc:
        raise ApplicationError(str(exc), code="engine_unavailable", status_code=503) from exc


def _llm_config_if_needed(tenant: Tenant, name: str, ai_settings=None):
    # Only engines that call a model need the endpoint; the embedded one answers without a database read.
    return tenant_llm_config(tenant=tenant, ai_settings=ai_settings) if customer_engines.needs_llm(name) else None



# --- start ------------------------------------------------------------------------------------------


@transaction.atomic
def session_start(
    *,
    tenant: Tenant,
    rep: Membership,
    version: ScenarioVersion | None = None,
    recipient: AssignmentRecipient | None = None,
    mode: str = "text",
    engine_name: str | None = None,
    seed: int | None = None,
) -> PracticeSession:
    """Starts practice on a published version (or an assignment's pinned version). Authors may
    "try" any version: their sessions are marked as trials, which reports leave out."""
    enforce(action="session_start", user_id=rep.user_id, message="Too many new sessions in a minute: wait a moment.")
    if recipient is not None:
        if recipient.membership_id != rep.id:
            raise ApplicationError("That assignment isn't yours.", code="assignment_not_found", status_code=404)
        assignment = recipient.assignment
        if assignment.cancelled_at is not None:
            raise Conflict("This assignment was cancelled.", code="assignment_cancelled")
        version = _assignment_version(tenant, assignment)
    if version is None:
        raise ApplicationError("Choose a scenario to practice.", code="scenario_required", fields={"version_id": ["Required."]})
    # Practice on an assignment is never a trial: it is what the rep was asked to do.
    trial = version.status != VersionStatus.PUBLISHED and recipient is None
    if trial and rep.role not in AUTHORS:
        raise ApplicationError("This scenario isn't published yet.", code="scenario_not_published", status_code=404)
    if version.status == VersionStatus.ARCHIVED and rep.role not in AUTHORS and recipient is None:
        raise ApplicationError("This scenario was archived.", code="scenario_archived", status_code=404)
    if mode not in ("text", "voice"):
        raise ApplicationError("Mode must be text or voice.", code="invalid_mode", fields={"mode": ["Unknown mode."]})

    spec = version.as_spec()
    engine = engine_get(tenant=tenant, name=engine_name or ai_settings_get(tenant=tenant).customer_engine)
    seed = seed if seed is not None else secrets.randbelow(2**31)
    opening, state = engine.start(spec, seed=seed)
    version_mark_used(tenant=tenant, version=version)
    now = timezone.now()
    session = PracticeSession.objects.for_tenant(tenant).create(
        tenant=tenant, membership=rep, scenario_id=version.scenario_id, version=version, recipient=recipient,
        mode=mode, engine=engine.name, engine_model=engine.model, seed=seed, engine_state=state,
        frustration=opening.frustration, is_trial=trial or rep.role in AUTHORS,
        started_at=now, last_activity_at=now,
    )
    _customer_turn_create(tenant=tenant, session=session, index=0, turn=opening)
    announce_on_commit("started", tenant=tenant, session_id=session.id)
    if mode == "voice":
        # The rep reads the opening line and speaks for seconds: load the speech model meanwhile.
        from sessions.voice.transcribe import warm_up_in_background

        transaction.on_commit(warm_up_in_background)
    return session


def _assignment_version(tenant: Tenant, assignment) -> ScenarioVersion:
    """What an assignment practices: the scenario's published version (publishing moves open
    assignments along; this also covers ones assigned before it did), else, when the whole scenario
    was archived, the version last assigned, so the rep is never left with a dead "Start practice"."""
    if assignment.version.status == VersionStatus.PUBLISHED:
        return assignment.version
    published = (
        ScenarioVersion.objects.for_tenant(tenant)
        .filter(scenario_id=assignment.scenario_id, status=VersionStatus.PUBLISHED)
        .order_by("-number").first()
    )
    return published or assignment.version



def _locked_session(
    tenant: Tenant, session_id: int, rep: Membership | None = None, *, with_version: bool = True
) -> PracticeSession:
    sessions = PracticeSession.objects.for_tenant(tenant).select_for_update(of=("self",))
    if with_version:  # the version row carries the whole scenario spec: join it only when it's read
        sessions = sessions.select_related("version")
    if rep is not None:
        sessions = sessions.filter(membership=rep)
    session = sessions.filter(id=session_id).first()
    if session is None:
        raise ApplicationError("Session not found.", code="session_not_found", status_code=404)
    return session


def _past_time_limit(session: PracticeSession, spec: ScenarioSpec) -> bool:
    limit = spec.end_conditions.time_limit_minutes
    return bool(limit) and timezone.now() - session.started_at > timedelta(minutes=limit)



# --- end ---------------------------------------------------------------------------------------------


@transaction.atomic
def session_end(*, tenant: Tenant, rep: Membership, session_id: int, reason: str = EndReason.REP_ENDED) -> PracticeSession:
    """Ends the session (idempotent: ending an ended session returns it unchanged)."""
    session = _locked_session(tenant, session_id, rep)
    if session.status == SessionStatus.ENDED:
        return session
    _end(tenant=tenant, session=session, reason=reason)
    return session


def _end(*, tenant: Tenant, session: PracticeSession, reason: str) -> None:
    now = timezone.now()
    session.status = SessionStatus.ENDED
    session.end_reason = reason
    session.ended_at = now
    session.last_activity_at = now
    session.save(update_fields=["status", "end_reason", "ended_at", "last_activity_at"])
    if session.recipient_id and reason != EndReason.ABANDONED:
        recipient = AssignmentRecipient.objects.for_tenant(tenant).select_related("assignment").get(pk=session.recipient_id)
        needed = recipient.assignment.max_attempts or 1
        assignment_record_attempt(tenant=tenant, recipient=recipient, completed=recipient.attempts + 1 >= needed)
    # Scoring queues its job and reports refresh the rep's week when this commits (their listeners:
    # trials are scored too, so authors can check their rubric; reports leave them out).
    announce_on_commit("ended", tenant=tenant, session_id=session.id)


def _customer_turn(*, tenant: Tenant, session: PracticeSession, index: int, turn: CustomerTurn) -> Turn:
    return Turn(
        tenant=tenant, session=session, index=index, speaker=Speaker.CUSTOMER, text=turn.text,
        frustration=turn.frustration, cues=list(turn.cues), revealed=list(turn.revealed), created_at=timezone.now(),
    )


def _customer_turn_create(*, tenant: Tenant, session: PracticeSession, index: int, turn: CustomerTurn) -> Turn:
    customer_turn = _customer_turn(tenant=tenant, session=session, index=index, turn=turn)
    customer_turn.save()
    return customer_turn
