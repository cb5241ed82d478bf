"""Members and teams: roles, team names, and who belongs to (or coaches) which team."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from coachhub.core.errors import ApplicationError, Conflict

from ..models import Membership, Role, Team, TeamMembership, TeamRole, Tenant, User
from ..selectors import team_get_by_name
from .audit import audit_record


@transaction.atomic
def membership_change_role(*, tenant: Tenant, actor: User, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise ApplicationError(f"Unknown role “{role}”.", code="invalid_role", fields={"role": ["Unknown role."]})
    if membership.role == role:
        return membership
    if membership.role == Role.TENANT_ADMIN and not (
        Membership.objects.for_tenant(tenant).filter(role=Role.TENANT_ADMIN, is_active=True).exclude(pk=membership.pk).exists()
    ):
        raise Conflict("A tenant needs at least one admin: promote someone else first.", code="last_admin")
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        tenant=tenant, actor=actor, action="member.role_changed",
        summary=f"{membership.user.email}: {Role(old).label} → {Role(role).label}",
        target=membership, data={"from": old, "to": role},
    )
    return membership


@transaction.atomic
def _team_name_checked(*, tenant: Tenant, name: str, team: Team | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Give the team a name.", code="invalid_team", fields={"name": ["Give the team a name."]})
    if len(name) > 100:
        message = f"Team names are at most 100 characters; this one has {len(name)}."
        raise ApplicationError(message, code="invalid_team", fields={"name": [message]})
    existing = team_get_by_name(tenant=tenant, name=name)
    if existing and (team is None or existing.pk != team.pk):
        raise _team_taken(name)
    return name


def _team_taken(name: str) -> Conflict:
    message = f"There is already a team called “{name}”. Pick another name, or add the people to that team."
    return Conflict(message, code="team_exists", fields={"name": [message]})


def team_create(*, tenant: Tenant, actor: User, name: str) -> Team:
    name = _team_name_checked(tenant=tenant, name=name)
    try:
        with transaction.atomic():
            team = Team.objects.for_tenant(tenant).create(tenant=tenant, name=name)
    except IntegrityError as exc:
        raise _team_taken(name) from exc
    audit_record(tenant=tenant, actor=actor, action="team.created", summary=f"Team {name} created", target=team)
    return team


def team_rename(*, tenant: Tenant, actor: User, team: Team, name: str) -> Team:
    """Renames a team; its people, coaches and assignments stay as they are."""
    name = _team_name_checked(tenant=tenant, name=name, team=team)
    before = team.name
    if name == before:
        return team
    try:
        with transaction.atomic():
            Team.objects.for_tenant(tenant).filter(pk=team.pk).update(name=name)
    except IntegrityError as exc:
        raise _team_taken(name) from exc
    team.name = name
    audit_record(tenant=tenant, actor=actor, action="team.renamed", summary=f"Team {before} renamed to {name}",
                 target=team, data={"from": before, "to": name})
    return team


@transaction.atomic
def team_delete(*, tenant: Tenant, actor: User, team: Team) -> None:
    """Deletes a team. Its people stay in the organization and keep the assignments they already
    have (which no longer name the team); only the team and its member/coach links go."""
    links = TeamMembership.objects.for_tenant(tenant).filter(team=team).count()
    name, team_id = team.name, team.pk
    Team.objects.for_tenant(tenant).filter(pk=team_id).delete()
    audit_record(tenant=tenant, actor=actor, action="team.deleted", summary=f"Team {name} deleted",
                 target=None, data={"team_id": team_id, "name": name, "links_removed": links})


@transaction.atomic
def team_set_membership(
    *, tenant: Tenant, actor: User, team: Team, membership: Membership, kind: str, present: bool
) -> None:
    """Adds or removes a person as a team's member (reps) or coach (managers)."""
    if kind not in TeamRole.values:
        raise ApplicationError("Unknown team role.", code="invalid_team_role")
    links = TeamMembership.objects.for_tenant(tenant).filter(team=team, membership=membership, kind=kind)
    if present and not links.exists():
        TeamMembership.objects.for_tenant(tenant).create(tenant=tenant, team=team, membership=membership, kind=kind)
        action, verb = "team.member_added", "added to"
    elif not present and links.exists():
        links.delete()
        action, verb = "team.member_removed", "removed from"
    else:
        return
    audit_record(
        tenant=tenant, actor=actor, action=action,
        summary=f"{membership.user.email} {verb} {team.name} as {TeamRole(kind).label.lower()}",
        target=team, data={"membership": membership.pk, "kind": kind},
    )
