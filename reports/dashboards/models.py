"""Dashboard tables: one aggregate row per rep per week (kept fresh by `aggregates`), a tenant's
report settings, and the record of weekly digests sent."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from coachhub.tenancy.models import Membership, TenantOwnedModel

__all__ = ["RepWeek", "TenantReportSettings", "DigestDelivery"]


class RepWeek(TenantOwnedModel):
    """What one rep did in one week (Monday `week_start`, by the session's end time), recomputed from
    the raw rows whenever a session ends or a score is written or adjusted, so pages never aggregate
    raw scores. Trial sessions are left out.

    `behaviors` maps a behavior key to {"mean": <mean final score>, "n": <scored sessions>}: the final
    score is the reviewer's adjustment when there is one, otherwise the AI score."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField()
    sessions = models.PositiveIntegerField(default=0)
    scored_sessions = models.PositiveIntegerField(default=0)
    assignments_completed = models.PositiveIntegerField(default=0)
    behaviors = models.JSONField(default=dict, blank=True)
    overall_mean = models.FloatField(null=True, blank=True)
    focus_behavior = models.CharField(max_length=50, blank=True)
    # "assignment" when an open assignment set the focus, "scoring" when it is the scorer's most
    # frequent suggestion that week.
    focus_source = models.CharField(max_length=12, blank=True)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "reports"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "membership", "week_start"], name="repweek_unique_week")
        ]
        indexes = [models.Index(fields=["tenant", "week_start"], name="repweek_tenant_week")]
        ordering = ["week_start", "membership_id"]

    def __str__(self) -> str:
        return f"Week of {self.week_start} for {self.membership_id}"

    def mean(self, behavior: str) -> float | None:
        entry = self.behaviors.get(behavior)
        return entry["mean"] if entry else None


class TenantReportSettings(TenantOwnedModel):
    """How a tenant defines confidence: a rep is confident once `confidence_sessions` sessions in a row
    score at least `confidence_threshold` overall."""

    confidence_threshold = models.PositiveSmallIntegerField(default=70)
    confidence_sessions = models.PositiveSmallIntegerField(default=3)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "reports"
        constraints = [models.UniqueConstraint(fields=["tenant"], name="reportsettings_one_per_tenant")]

    def __str__(self) -> str:
        return f"Report settings of tenant {self.tenant_id}"


class DigestDelivery(TenantOwnedModel):
    """One weekly digest sent to one manager: the unique key keeps a re-run from emailing twice."""

    manager = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField()
    email = models.EmailField()
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "reports"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "manager", "week_start"], name="digest_unique_week")
        ]

    def __str__(self) -> str:
        return f"Digest for {self.manager_id}, week of {self.week_start}"
