"""Assignments: a published scenario version assigned to reps and whole teams, and each rep's attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.db import transaction
from django.utils import timezone

from coachhub.core.errors import ApplicationError, Conflict
from coachhub.tenancy.access import AUTHORS
from coachhub.tenancy.models import Membership, Role, Team, TeamMembership, TeamRole, Tenant
from coachhub.tenancy.services import audit_record

from ..models import Assignment, AssignmentRecipient, AssignmentTeam, Scenario, ScenarioVersion, VersionStatus

MAX_ATTEMPTS_LIMIT = 20
NOTE_MAX = 500


@transaction.atomic
def assignment_create(
    *,
    tenant: Tenant,
    assigned_by: Membership,
    scenario: Scenario,
    reps: Sequence[Membership] = (),
    teams: Sequence[Team] = (),
    due_on: date | None = None,
    focus_behavior: str = "",
    max_attempts: int | None = None,
    note: str = "",
) -> Assignment:
    """Pin the scenario's published version and give every named rep, and every rep of every named
    team, their own recipient row. Managers may reach only the reps and teams they coach."""
    from ..selectors import assignable_reps, assignable_teams

    errors: dict[str, str] = {}
    if scenario.tenant_id != tenant.id:
        raise ApplicationError("Unknown scenario.", code="scenario_not_found", status_code=404)
    version = (
        ScenarioVersion.objects.for_tenant(tenant)
        .filter(scenario=scenario, status=VersionStatus.PUBLISHED)
        .first()
    )
    if version is None or scenario.archived_at is not None:
        raise Conflict(
            "Only a published scenario can be assigned. Publish a draft first.",
            code="scenario_not_published",
            fields={"scenario": "is not published"},
        )
    behaviors = [behavior["key"] for behavior in version.spec["rubric"]["behaviors"]]
    if focus_behavior and focus_behavior not in behaviors:
        errors["focus_behavior"] = f"must be one of this scenario's behaviors: {', '.join(behaviors)}"
    if max_attempts is not None and not 1 <= max_attempts <= MAX_ATTEMPTS_LIMIT:
        errors["max_attempts"] = f"must be between 1 and {MAX_ATTEMPTS_LIMIT}"
    if due_on is not None and due_on < timezone.localdate():
        errors["due_on"] = "is in the past"
    if len(note) > NOTE_MAX:
        errors["note"] = f"must be at most {NOTE_MAX} characters"
    if not reps and not teams:
        errors["recipients"] = "choose at least one rep or team"
    if errors:
        raise ApplicationError("The assignment could not be created.", code="invalid_assignment", fields=errors)

    allowed_reps = set(assignable_reps(membership=assigned_by).values_list("id", flat=True))
    allowed_teams = set(assignable_teams(membership=assigned_by).values_list("id", flat=True))
    refused = {}
    if any(rep.id not in allowed_reps for rep in reps):
        refused["rep_ids"] = "includes someone who is not a rep you can assign practice to"
    if any(team.id not in allowed_teams for team in teams):
        refused["team_ids"] = "you can assign only teams you coach"
    if refused:
        raise ApplicationError(
            "You can assign practice only to the reps and teams you coach.",
            code="recipient_not_allowed", fields=refused, status_code=403,
        )

    recipients: dict[int, Team | None] = {rep.id: None for rep in reps}
    for team in teams:
        members = TeamMembership.objects.for_tenant(tenant).filter(
            team=team, kind=TeamRole.MEMBER, membership__is_active=True, membership__role=Role.REP
        )
        for membership_id in members.values_list("membership_id", flat=True):
            recipients.setdefault(membership_id, team)
    if not recipients:
        raise ApplicationError(
            "The chosen teams have no reps yet.", code="invalid_assignment",
            fields={"recipients": "the chosen teams have no reps yet"},
        )

    assignment = Assignment.objects.for_tenant(tenant).create(
        tenant=tenant,
        scenario=scenario,
        version=version,
        assigned_by=assigned_by.user,
        due_on=due_on,
        focus_behavior=focus_behavior,
        max_attempts=max_attempts,
        note=note.strip(),
    )
    AssignmentTeam.objects.for_tenant(tenant).bulk_create(
        [AssignmentTeam(tenant=tenant, assignment=assignment, team=team) for team in {t.id: t for t in teams}.values()]
    )
    AssignmentRecipient.objects.for_tenant(tenant).bulk_create(
        [
            AssignmentRecipient(tenant=tenant, assignment=assignment, membership_id=membership_id, via_team=team)
            for membership_id, team in recipients.items()
        ]
    )
    audit_record(
        tenant=tenant, actor=assigned_by.user, action="assignment.created",
        summary=f"{scenario.title} assigned to {len(recipients)} rep(s)", target=assignment,
        data={"version": version.number, "teams": [t.name for t in teams], "recipients": len(recipients)},
    )
    return assignment


@transaction.atomic
def assignment_cancel(*, tenant: Tenant, cancelled_by: Membership, assignment: Assignment) -> Assignment:
    """Withdraw an assignment; reps stop seeing it. Managers cancel only the ones they made.
    Idempotent: cancelling a cancelled assignment changes nothing."""
    assignment = Assignment.objects.for_tenant(tenant).select_for_update().get(pk=assignment.pk)
    if cancelled_by.role not in AUTHORS and assignment.assigned_by_id != cancelled_by.user_id:
        raise ApplicationError(
            "Only whoever made this assignment, or an enablement lead, can cancel it.",
            code="forbidden", status_code=403,
        )
    if assignment.cancelled_at is not None:
        return assignment  # cancelling twice is the same as once
    assignment.cancelled_at = timezone.now()
    assignment.save(update_fields=["cancelled_at"])
    audit_record(
        tenant=tenant, actor=cancelled_by.user, action="assignment.cancelled",
        summary=f"Assignment of {assignment.scenario.title} cancelled", target=assignment,
    )
    return assignment


@transaction.atomic
def assignment_record_attempt(*, tenant: Tenant, recipient: AssignmentRecipient, completed: bool) -> AssignmentRecipient:
    """The runner calls this when a rep finishes a practice session for an assignment."""
    recipient = AssignmentRecipient.objects.for_tenant(tenant).select_for_update().get(pk=recipient.pk)
    recipient.attempts += 1
    if completed and recipient.completed_at is None:
        recipient.completed_at = timezone.now()
    recipient.save(update_fields=["attempts", "completed_at"])
    return recipient
