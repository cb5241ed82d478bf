"""Reads of scenarios, versions and assignments. Every read names its tenant; ids from clients are
looked up inside it, so another tenant's object and a missing one are the same 404."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from coachhub.tenancy.access import AUTHORS
from coachhub.tenancy.models import Membership, Role, Team, TeamMembership, TeamRole, Tenant
from coachhub.tenancy.selectors import visible_rep_memberships

from .models import Assignment, AssignmentRecipient, AssignmentTeam, Scenario, ScenarioVersion, VersionStatus

# Filters of the scenario list, by what an author means rather than by version rows.
STATUS_FILTERS = {
    "published": "Published",
    "draft": "Has a draft",
    "archived": "Archived",
}


# --- scenarios and versions -------------------------------------------------------------------


def _versions_prefetch(tenant: Tenant) -> Prefetch:
    return Prefetch("versions", queryset=ScenarioVersion.objects.for_tenant(tenant).order_by("-number"))


def scenario_get(*, tenant: Tenant, scenario_id: int) -> Scenario:
    return get_object_or_404(
        Scenario.objects.for_tenant(tenant).prefetch_related(_versions_prefetch(tenant)), id=scenario_id
    )


def scenario_get_by_slug(*, tenant: Tenant, slug: str) -> Scenario | None:
    return Scenario.objects.for_tenant(tenant).filter(slug=slug).first()


def scenario_list(
    *, tenant: Tenant, moment: str = "", status: str = "", team_id: int | None = None
) -> QuerySet[Scenario]:
    """Scenarios with their versions prefetched (two queries however many rows)."""
    versions = ScenarioVersion.objects.for_tenant(tenant).filter(scenario=OuterRef("pk"))
    scenarios = Scenario.objects.for_tenant(tenant).annotate(
        has_published=Exists(versions.filter(status=VersionStatus.PUBLISHED)),
        has_draft=Exists(versions.filter(status=VersionStatus.DRAFT)),
    )
    if moment:
        scenarios = scenarios.filter(moment=moment)
    if status == "published":
        scenarios = scenarios.filter(has_published=True, archived_at__isnull=True)
    elif status == "draft":
        scenarios = scenarios.filter(has_draft=True, archived_at__isnull=True)
    elif status == "archived":
        scenarios = scenarios.filter(archived_at__isnull=False)
    if team_id:
        used_by_team = AssignmentTeam.objects.for_tenant(tenant).filter(
            team_id=team_id, assignment__scenario=OuterRef("pk"), assignment__cancelled_at__isnull=True
        )
        scenarios = scenarios.filter(Exists(used_by_team))
    return scenarios.prefetch_related(_versions_prefetch(tenant)).order_by("title", "id")


def version_get(*, tenant: Tenant, version_id: int) -> ScenarioVersion:
    return get_object_or_404(ScenarioVersion.objects.for_tenant(tenant).select_related("scenario"), id=version_id)


def version_list(*, tenant: Tenant, scenario: Scenario | None = None) -> QuerySet[ScenarioVersion]:
    versions = ScenarioVersion.objects.for_tenant(tenant).select_related("scenario", "created_by")
    if scenario is not None:
        versions = versions.filter(scenario=scenario)
    return versions.order_by("scenario_id", "-number")


def _by_status(scenario: Scenario, status: str) -> ScenarioVersion | None:
    # Reads the prefetched versions when there are some, so lists don't query per row.
    return next((v for v in scenario.versions.all() if v.status == status), None)


def scenario_published_version(scenario: Scenario) -> ScenarioVersion | None:
    return _by_status(scenario, VersionStatus.PUBLISHED)


def scenario_draft_version(scenario: Scenario) -> ScenarioVersion | None:
    return _by_status(scenario, VersionStatus.DRAFT)


def scenario_working_version(scenario: Scenario) -> ScenarioVersion | None:
    """What an author edits and exports: the draft if there is one, else the published version,
    else the newest version."""
    versions = list(scenario.versions.all())
    return (
        _by_status(scenario, VersionStatus.DRAFT)
        or _by_status(scenario, VersionStatus.PUBLISHED)
        or max(versions, key=lambda v: v.number, default=None)
    )


def library_installed(*, tenant: Tenant) -> dict[str, Scenario]:
    """Starter-library slug → the scenario installed from it."""
    scenarios = Scenario.objects.for_tenant(tenant).exclude(source_library_slug="")
    return {scenario.source_library_slug: scenario for scenario in scenarios}


def assignable_scenarios(*, tenant: Tenant) -> QuerySet[Scenario]:
    """Scenarios with a published version that aren't archived: the only ones that can be assigned."""
    published = ScenarioVersion.objects.for_tenant(tenant).filter(
        scenario=OuterRef("pk"), status=VersionStatus.PUBLISHED
    )
    return Scenario.objects.for_tenant(tenant).filter(Exists(published), archived_at__isnull=True).order_by("title")


def published_behaviors(*, tenant: Tenant, scenario_id: int | str | None) -> list[tuple[str, str]]:
    """(key, label) of the rubric behaviors of a scenario's published version; [] when unknown."""
    from .brief import behavior_label

    try:
        scenario_id = int(scenario_id or 0)
    except (TypeError, ValueError):
        return []
    version = (
        ScenarioVersion.objects.for_tenant(tenant)
        .filter(scenario_id=scenario_id, status=VersionStatus.PUBLISHED)
        .first()
    )
    if version is None:
        return []
    return [(b["key"], behavior_label(b["key"])) for b in version.spec["rubric"]["behaviors"]]


# --- assignments ------------------------------------------------------------------------------


def assignable_reps(*, membership: Membership) -> QuerySet[Membership]:
    """Reps this member may assign practice to: a manager their teams' reps, leads and admins all."""
    return (
        visible_rep_memberships(membership=membership)
        .filter(role=Role.REP, is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


def assignable_teams(*, membership: Membership) -> QuerySet[Team]:
    teams = Team.objects.for_tenant(membership.tenant)
    if membership.role == Role.MANAGER:
        coached = TeamMembership.objects.for_tenant(membership.tenant).filter(
            membership=membership, kind=TeamRole.COACH
        )
        teams = teams.filter(id__in=coached.values("team_id"))
    return teams.order_by("name")


def assignment_list(*, membership: Membership) -> QuerySet[Assignment]:
    """Assignments this member may follow: leads and admins all, a manager those they made or that
    reach a rep they coach."""
    tenant = membership.tenant
    assignments = Assignment.objects.for_tenant(tenant)
    counted = Q()  # whose progress is counted: a manager's own reps only
    if membership.role == Role.MANAGER:
        reps = visible_rep_memberships(membership=membership).values("id")
        reaching = AssignmentRecipient.objects.for_tenant(tenant).filter(membership_id__in=reps)
        assignments = assignments.filter(Q(assigned_by=membership.user) | Q(id__in=reaching.values("assignment_id")))
        counted = Q(recipients__membership_id__in=reps)
    elif membership.role not in AUTHORS:
        return assignments.none()
    return (
        assignments.select_related("scenario", "version", "assigned_by")
        .annotate(
            recipient_total=Count("recipients", filter=counted, distinct=True),
            recipient_done=Count(
                "recipients", filter=counted & Q(recipients__completed_at__isnull=False), distinct=True
            ),
        )
        .prefetch_related(
            Prefetch("team_links", queryset=AssignmentTeam.objects.for_tenant(tenant).select_related("team"))
        )
        .order_by("-created_at", "-id")
    )


def assignment_get(*, membership: Membership, assignment_id: int) -> Assignment:
    return get_object_or_404(assignment_list(membership=membership), id=assignment_id)


def assignment_recipients(*, membership: Membership, assignment: Assignment) -> QuerySet[AssignmentRecipient]:
    """Per-rep progress; a manager sees only the reps they coach."""
    recipients = AssignmentRecipient.objects.for_tenant(assignment.tenant).filter(assignment=assignment)
    if membership.role == Role.MANAGER:
        recipients = recipients.filter(membership_id__in=visible_rep_memberships(membership=membership).values("id"))
    return recipients.select_related("membership__user", "via_team").order_by("membership__user__email")


def recipient_get(*, tenant: Tenant, recipient_id: int) -> AssignmentRecipient:
    return get_object_or_404(
        AssignmentRecipient.objects.for_tenant(tenant).select_related("assignment__scenario", "assignment__version"),
        id=recipient_id,
    )


def open_recipients_for(*, tenant: Tenant, membership: Membership) -> QuerySet[AssignmentRecipient]:
    """A rep's assignments still to do: not completed, not cancelled, attempts left."""
    return (
        AssignmentRecipient.objects.for_tenant(tenant)
        .filter(membership=membership, completed_at__isnull=True, assignment__cancelled_at__isnull=True)
        .exclude(assignment__max_attempts__isnull=False, attempts__gte=F("assignment__max_attempts"))
        .select_related("assignment__scenario", "assignment__version")
        .order_by("assignment__due_on", "assignment__created_at")
    )


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def assignment_progress(assignment: Assignment) -> Progress:
    """Completion from the counts `assignment_list` annotates."""
    return Progress(done=getattr(assignment, "recipient_done", 0), total=getattr(assignment, "recipient_total", 0))
