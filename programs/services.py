"""Writes: building programs, assigning them, the "ready for live" decision, and the session-event
hooks the runner and the scorer call after their transactions commit."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from coachhub.core.errors import ApplicationError, Conflict
from coachhub.tenancy.access import AUTHORS, REVIEWERS
from coachhub.tenancy.models import Membership, Role, Team, TeamMembership, TeamRole, Tenant
from coachhub.tenancy.services import audit_record
from scenarios.models import Scenario, ScenarioVersion, VersionStatus
from sessions import events as session_events

from . import readiness
from .models import LiveStatus, Program, ProgramEnrollment, ProgramStep

logger = logging.getLogger(__name__)

TITLE_MAX = 120
DESCRIPTION_MAX = 2000
REASON_MAX = 500
MAX_ATTEMPTS_LIMIT = 20
MAX_STEPS = 20


def _require(member: Membership, roles, what: str) -> None:
    if member.role not in roles:
        raise ApplicationError(f"Your role can't {what}.", code="forbidden", status_code=403)


def _program_fields(*, title: str, description: str, due_on: date | None, max_attempts: int | None) -> dict:
    errors: dict[str, str] = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = "Give the program a title."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"Keep the title under {TITLE_MAX} characters."
    if len(description or "") > DESCRIPTION_MAX:
        errors["description"] = f"Keep the description under {DESCRIPTION_MAX} characters."
    if due_on is not None and due_on < timezone.localdate():
        errors["due_on"] = "The due date is in the past."
    if max_attempts is not None and not 1 <= max_attempts <= MAX_ATTEMPTS_LIMIT:
        errors["max_attempts"] = f"Attempts per scenario must be between 1 and {MAX_ATTEMPTS_LIMIT}."
    if errors:
        raise ApplicationError("The program could not be saved.", code="invalid_program", fields=errors)
    return {"title": title, "description": (description or "").strip()}


def _title_taken(tenant: Tenant, title: str, exclude_id: int | None = None) -> bool:
    programs = Program.objects.for_tenant(tenant).filter(title__iexact=title)
    return programs.exclude(id=exclude_id).exists() if exclude_id else programs.exists()


@transaction.atomic
def program_create(
    *, tenant: Tenant, actor: Membership, title: str, description: str = "", is_ordered: bool = False,
    due_on: date | None = None, max_attempts: int | None = None,
) -> Program:
    _require(actor, AUTHORS, "build programs")
    fields = _program_fields(title=title, description=description, due_on=due_on, max_attempts=max_attempts)
    if _title_taken(tenant, fields["title"]):
        raise Conflict("A program with this title exists.", code="program_title_taken",
                       fields={"title": "A program with this title already exists; pick another."})
    program = Program.objects.for_tenant(tenant).create(
        tenant=tenant, created_by=actor.user, is_ordered=is_ordered, due_on=due_on, max_attempts=max_attempts,
        **fields,
    )
    audit_record(tenant=tenant, actor=actor.user, action="program.created", summary=f"Program “{program.title}” created",
                 target=program)
    return program


@transaction.atomic
def program_update(
    *, tenant: Tenant, actor: Membership, program: Program, title: str, description: str = "",
    is_ordered: bool = False, due_on: date | None = None, max_attempts: int | None = None,
) -> Program:
    _require(actor, AUTHORS, "edit programs")
    fields = _program_fields(title=title, description=description, due_on=due_on, max_attempts=max_attempts)
    if _title_taken(tenant, fields["title"], exclude_id=program.id):
        raise Conflict("A program with this title exists.", code="program_title_taken",
                       fields={"title": "A program with this title already exists; pick another."})
    row = Program.objects.for_tenant(tenant).select_for_update().get(id=program.id)
    before = {"due_on": str(row.due_on or ""), "max_attempts": row.max_attempts, "is_ordered": row.is_ordered}
    row.title, row.description = fields["title"], fields["description"]
    row.is_ordered, row.due_on, row.max_attempts = is_ordered, due_on, max_attempts
    row.updated_at = timezone.now()
    row.save()
    audit_record(tenant=tenant, actor=actor.user, action="program.updated", summary=f"Program “{row.title}” edited",
                 target=row, data={"before": before})
    return row


@transaction.atomic
def program_archive(*, tenant: Tenant, actor: Membership, program: Program) -> Program:
    _require(actor, AUTHORS, "archive programs")
    row = Program.objects.for_tenant(tenant).select_for_update().get(id=program.id)
    if row.archived_at is not None:
        raise Conflict("This program is already archived.", code="program_archived")
    row.archived_at = timezone.now()
    row.save(update_fields=["archived_at"])
    audit_record(tenant=tenant, actor=actor.user, action="program.archived", summary=f"Program “{row.title}” archived",
                 target=row)
    return row


def _published_behaviors(tenant: Tenant, scenario: Scenario) -> list[str] | None:
    version = (
        ScenarioVersion.objects.for_tenant(tenant).filter(scenario=scenario, status=VersionStatus.PUBLISHED).first()
    )
    if version is None or scenario.archived_at is not None:
        return None
    return [behavior["key"] for behavior in version.spec["rubric"]["behaviors"]]


def _clean_minimums(minimums: dict[str, Any], behaviors: list[str]) -> dict[str, int]:
    from .selectors import behavior_label

    cleaned, problems = {}, []
    for key, value in (minimums or {}).items():
        if value in (None, ""):
            continue
        if key not in behaviors:
            problems.append(f"{behavior_label(key)} isn't scored in this scenario")
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            problems.append(f"the minimum for {behavior_label(key)} must be a whole number")
            continue
        if not 0 <= number <= 100:
            problems.append(f"the minimum for {behavior_label(key)} must be between 0 and 100")
            continue
        cleaned[key] = number
    if problems:
        raise ApplicationError("The behavior minimums are not right.", code="invalid_step",
                               fields={"behavior_minimums": "; ".join(problems).capitalize() + "."})
    return cleaned


@transaction.atomic
def program_step_add(
    *, tenant: Tenant, actor: Membership, program: Program, scenario: Scenario, pass_overall: Any,
    behavior_minimums: dict[str, Any] | None = None,
) -> ProgramStep:
    """Add a scenario with its pass mark. The scenario must be published (its rubric names the
    behaviors a minimum may be set on)."""
    _require(actor, AUTHORS, "edit programs")
    row = Program.objects.for_tenant(tenant).select_for_update().get(id=program.id)
    if row.archived_at is not None:
        raise Conflict("An archived program can't change.", code="program_archived")
    if scenario.tenant_id != tenant.id:
        raise ApplicationError("Unknown scenario.", code="scenario_not_found", status_code=404)
    behaviors = _published_behaviors(tenant, scenario)
    if behaviors is None:
        raise Conflict("Only a published scenario can be part of a program. Publish it first.",
                       code="scenario_not_published", fields={"scenario": "This scenario is not published."})
    steps = ProgramStep.objects.for_tenant(tenant).filter(program=row)
    if steps.filter(scenario=scenario).exists():
        raise Conflict("This scenario is already in the program.", code="step_exists",
                       fields={"scenario": "This scenario is already in the program."})
    if steps.count() >= MAX_STEPS:
        raise Conflict(f"A program holds at most {MAX_STEPS} scenarios.", code="too_many_steps")
    try:
        pass_mark = int(pass_overall)
    except (TypeError, ValueError):
        pass_mark = -1
    if not 0 <= pass_mark <= 100:
        raise ApplicationError("The pass mark is not right.", code="invalid_step",
                               fields={"pass_overall": "The pass mark is a score between 0 and 100."})
    minimums = _clean_minimums(behavior_minimums or {}, behaviors)
    position = (steps.aggregate(top=Max("position"))["top"] or 0) + 1
    step = ProgramStep.objects.for_tenant(tenant).create(
        tenant=tenant, program=row, scenario=scenario, position=position, pass_overall=pass_mark,
        behavior_minimums=minimums,
    )
    row.updated_at = timezone.now()
    row.save(update_fields=["updated_at"])
    audit_record(tenant=tenant, actor=actor.user, action="program.step_added",
                 summary=f"“{scenario.title}” added to “{row.title}” (pass mark {pass_mark})", target=step,
                 data={"program_id": row.id, "pass_overall": pass_mark, "behavior_minimums": minimums})
    return step


@transaction.atomic
def program_step_remove(*, tenant: Tenant, actor: Membership, step: ProgramStep) -> None:
    _require(actor, AUTHORS, "edit programs")
    program = Program.objects.for_tenant(tenant).select_for_update().get(id=step.program_id)
    if program.archived_at is not None:
        raise Conflict("An archived program can't change.", code="program_archived")
    title = step.scenario.title
    ProgramStep.objects.for_tenant(tenant).filter(id=step.id).delete()
    # Close the gap so positions stay 1..n (two passes: the unique key holds at every statement).
    remaining = list(ProgramStep.objects.for_tenant(tenant).filter(program=program).order_by("position"))
    for offset, item in enumerate(remaining):
        ProgramStep.objects.for_tenant(tenant).filter(id=item.id).update(position=1000 + offset)
    for offset, item in enumerate(remaining):
        ProgramStep.objects.for_tenant(tenant).filter(id=item.id).update(position=offset + 1)
    audit_record(tenant=tenant, actor=actor.user, action="program.step_removed",
                 summary=f"“{title}” removed from “{program.title}”", target=program)


@transaction.atomic
def program_assign(
    *, tenant: Tenant, actor: Membership, program: Program, reps: Sequence[Membership] = (),
    teams: Sequence[Team] = (),
) -> list[ProgramEnrollment]:
    """Enroll reps, directly or through a team (its reps today). A rep already enrolled keeps their
    enrollment and progress. Managers reach only the reps and teams they coach."""
    from scenarios.selectors import assignable_reps, assignable_teams

    if actor.role not in (Role.MANAGER, Role.ENABLEMENT_LEAD, Role.TENANT_ADMIN):
        raise ApplicationError("Your role can't assign programs.", code="forbidden", status_code=403)
    program = Program.objects.for_tenant(tenant).select_for_update().get(id=program.id)
    if program.archived_at is not None:
        raise Conflict("An archived program can't be assigned.", code="program_archived")
    if not ProgramStep.objects.for_tenant(tenant).filter(program=program).exists():
        raise Conflict("Add at least one scenario before assigning the program.", code="program_empty")
    if not reps and not teams:
        raise ApplicationError("Choose at least one rep or team.", code="invalid_assignment",
                               fields={"recipients": "Choose at least one rep or team."})
    allowed_reps = set(assignable_reps(membership=actor).values_list("id", flat=True))
    allowed_teams = set(assignable_teams(membership=actor).values_list("id", flat=True))
    refused = {}
    if any(rep.id not in allowed_reps for rep in reps):
        refused["reps"] = "Includes someone who is not a rep you can assign practice to."
    if any(team.id not in allowed_teams for team in teams):
        refused["teams"] = "You can assign only teams you coach."
    if refused:
        raise ApplicationError("You can assign programs only to the reps and teams you coach.",
                               code="recipient_not_allowed", fields=refused, status_code=403)
    targets: dict[int, Team | None] = {rep.id: None for rep in reps}
    for team in teams:
        members = TeamMembership.objects.for_tenant(tenant).filter(
            team=team, kind=TeamRole.MEMBER, membership__role=Role.REP, membership__is_active=True
        )
        for member_id in members.values_list("membership_id", flat=True):
            targets.setdefault(member_id, team)
    existing = set(
        ProgramEnrollment.objects.for_tenant(tenant).filter(program=program, membership_id__in=targets)
        .values_list("membership_id", flat=True)
    )
    new = [
        ProgramEnrollment(tenant=tenant, program=program, membership_id=member_id, via_team=team, assigned_by=actor.user)
        for member_id, team in targets.items() if member_id not in existing
    ]
    ProgramEnrollment.objects.for_tenant(tenant).bulk_create(new)
    audit_record(tenant=tenant, actor=actor.user, action="program.assigned",
                 summary=f"“{program.title}” assigned to {len(new)} new rep(s)", target=program,
                 data={"membership_ids": [e.membership_id for e in new], "team_ids": [t.id for t in teams]})
    return new


@transaction.atomic
def live_decide(
    *, tenant: Tenant, actor: Membership, enrollment: ProgramEnrollment, decision: str, reason: str
) -> ProgramEnrollment:
    """A manager confirms a rep is ready for live work, or withdraws that; the reason is kept on the
    enrollment and in the audit log. Confirming needs the program's readiness to be "ready"."""
    from coachhub.tenancy.selectors import visible_rep_memberships

    from .selectors import behavior_label, readiness_for

    _require(actor, REVIEWERS, "decide who is ready for live work")
    if not visible_rep_memberships(membership=actor).filter(id=enrollment.membership_id).exists():
        raise ApplicationError("You can decide only for the reps you coach.", code="forbidden", status_code=403)
    reason = (reason or "").strip()
    if decision not in (LiveStatus.CONFIRMED, LiveStatus.WITHDRAWN):
        raise ApplicationError("Choose confirm or withdraw.", code="invalid_decision",
                               fields={"decision": "Choose confirm or withdraw."})
    if not reason:
        raise ApplicationError("Say why.", code="reason_required",
                               fields={"reason": "Say why, so the rep and other coaches know what it rests on."})
    if len(reason) > REASON_MAX:
        raise ApplicationError("The reason is too long.", code="invalid",
                               fields={"reason": f"Keep the reason under {REASON_MAX} characters."})
    row = ProgramEnrollment.objects.for_tenant(tenant).select_for_update().select_related("program", "membership__user").get(id=enrollment.id)
    if decision == row.live_status:
        state = "confirmed" if decision == LiveStatus.CONFIRMED else "withdrawn"
        raise Conflict(f"This rep is already {state}.", code=f"already_{state}")
    if decision == LiveStatus.WITHDRAWN and row.live_status != LiveStatus.CONFIRMED:
        raise Conflict("Only a confirmed rep can be withdrawn.", code="not_confirmed")
    state = readiness_for(tenant=tenant, enrollments=[row])[row.id]
    if decision == LiveStatus.CONFIRMED and state.state != readiness.READY:
        holding = ", ".join(behavior_label(key) for key in state.holding_back) or "scenarios not yet passed"
        raise Conflict(
            f"{row.membership.user.display_name} isn't ready yet: {state.passed_steps} of {len(state.steps)} "
            f"scenarios passed; holding back: {holding}.",
            code="not_ready",
        )
    previous = row.live_status
    row.live_status, row.live_reason = decision, reason
    row.live_decided_by, row.live_decided_at = actor.user, timezone.now()
    row.save(update_fields=["live_status", "live_reason", "live_decided_by", "live_decided_at"])
    verb = "confirmed ready for live" if decision == LiveStatus.CONFIRMED else "withdrawn from live"
    audit_record(
        tenant=tenant, actor=actor.user, action=f"program.live_{decision}",
        summary=f"{row.membership.user.display_name} {verb} in “{row.program.title}”: {reason}",
        target=row,
        data={"program_id": row.program_id, "membership_id": row.membership_id, "previous": previous,
              "decision": decision, "reason": reason, "readiness": state.state,
              "passed_sessions": [sid for step in state.steps for sid in step.passed_session_ids]},
    )
    return row


# --- session events ---------------------------------------------------------------------------
# The runner and the scorer call these after their transaction commits. Learning-record targets
# (xAPI, LTI grade passback) register a listener; each listener is called on its own and a failing
# one is logged without stopping the others or the caller.

# The registry lives with the sessions it describes (sessions/events.py); these names stay for
# callers and tests of this app.
SESSION_EVENTS = session_events.SESSION_EVENTS
register_session_listener = session_events.register_session_listener


def _dispatch(event: str, *, tenant: Tenant, session) -> None:
    session_events.dispatch(event, tenant=tenant, session_id=getattr(session, "pk", session))


def on_session_started(*, tenant: Tenant, session) -> None:
    """Call after the commit that started `session` (a PracticeSession or its id)."""
    _dispatch("started", tenant=tenant, session=session)


def on_session_ended(*, tenant: Tenant, session) -> None:
    """Call after the commit that ended `session`."""
    _dispatch("ended", tenant=tenant, session=session)


def on_session_scored(*, tenant: Tenant, session) -> None:
    """Call after the commit that scored `session`, and again after a reviewer changes its scores."""
    _dispatch("scored", tenant=tenant, session=session)
