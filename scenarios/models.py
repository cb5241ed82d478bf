"""Scenarios, their immutable-once-used versions, and assignments to reps and teams.

A version's content is a validated `scenarios.spec.ScenarioSpec`, stored as its dict; the spec
module owns validation so forms, the API, YAML import and the starter library agree.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from coachhub.tenancy.models import Membership, Team, TenantOwnedModel

from .behaviors import CATALOGUE
from .spec import MOMENTS, ScenarioSpec

MOMENT_LABELS = {
    "angry_complaint": "Angry complaint",
    "policy_refusal": "Policy refusal",
    "delayed_resolution": "Delayed resolution",
    "billing_dispute": "Billing dispute",
    "cancellation": "Cancellation",
    "technical_outage": "Technical outage",
    "custom": "Custom",
}
MOMENT_CHOICES = [(key, MOMENT_LABELS[key]) for key in MOMENTS]
BEHAVIOR_CHOICES = [(behavior.key, behavior.label) for behavior in CATALOGUE]


class Scenario(TenantOwnedModel):
    """A practice scenario. Its content lives in versions; these fields mirror the latest version
    for lists and filters."""

    slug = models.SlugField(max_length=60)
    title = models.CharField(max_length=120)
    moment = models.CharField(max_length=30, choices=MOMENT_CHOICES)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)
    source_library_slug = models.SlugField(max_length=60, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "slug"], name="scenario_unique_slug")]
        indexes = [models.Index(fields=["tenant", "moment"], name="scenario_tenant_moment")]
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class RealismStatus(models.TextChoices):
    """Where a version's realism check stands (see sessions.engines.realism); empty = never run."""

    NOT_RUN = "", "Not run"
    RUNNING = "running", "Checking"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    ERROR = "error", "Could not run"


class ScenarioVersion(TenantOwnedModel):
    """One version of a scenario. Draft → published → archived; once any practice session used it
    (`used_at` set) its content never changes, so scores stay comparable.

    The realism check's latest report for exactly this content lives on the version: editing a
    draft clears it, and a new version starts without one."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    spec = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    realism_status = models.CharField(max_length=10, choices=RealismStatus.choices, default="", blank=True)
    realism_report = models.JSONField(null=True, blank=True)
    realism_engine = models.CharField(max_length=120, blank=True)
    realism_requested_at = models.DateTimeField(null=True, blank=True)
    realism_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "scenario", "number"], name="version_unique_number"),
            models.UniqueConstraint(
                fields=["tenant", "scenario"], condition=Q(status="draft"), name="version_one_draft"
            ),
            models.UniqueConstraint(
                fields=["tenant", "scenario"], condition=Q(status="published"), name="version_one_published"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "scenario", "status"], name="version_tenant_status")]
        ordering = ["scenario_id", "-number"]

    def __str__(self) -> str:
        return f"{self.scenario_id} v{self.number} ({self.status})"

    @property
    def is_locked(self) -> bool:
        return self.used_at is not None

    def as_spec(self) -> ScenarioSpec:
        return ScenarioSpec.from_dict(self.spec)

    @property
    def realism_passed(self) -> bool:
        return self.realism_status == RealismStatus.PASSED


class Assignment(TenantOwnedModel):
    """A published scenario version assigned to reps (directly or through their team)."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="assignments")
    version = models.ForeignKey(ScenarioVersion, on_delete=models.PROTECT, related_name="assignments")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_on = models.DateField(null=True, blank=True)
    focus_behavior = models.CharField(max_length=50, blank=True)
    max_attempts = models.PositiveSmallIntegerField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    teams = models.ManyToManyField(Team, through="AssignmentTeam", related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "-created_at"], name="assignment_tenant_created")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Assignment {self.pk} of scenario {self.scenario_id}"


class AssignmentTeam(TenantOwnedModel):
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="team_links")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "assignment", "team"], name="assignmentteam_unique")
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id} → team {self.team_id}"


class AssignmentRecipient(TenantOwnedModel):
    """One rep's copy of an assignment: their attempts and when they completed it."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="recipients")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    via_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attempts = models.PositiveSmallIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "assignment", "membership"], name="recipient_unique")
        ]
        indexes = [models.Index(fields=["tenant", "membership", "completed_at"], name="recipient_open")]

    def __str__(self) -> str:
        return f"{self.membership_id} on assignment {self.assignment_id}"
