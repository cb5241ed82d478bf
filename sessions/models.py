"""Practice sessions and their turns: every line, how it moved the customer, how it ended."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from coachhub.tenancy.models import Membership, TenantOwnedModel
from scenarios.models import AssignmentRecipient, Scenario, ScenarioVersion


class EndReason(models.TextChoices):
    RESOLVED = "resolved", "Resolved"
    ESCALATED = "escalated", "Escalated"
    REP_ENDED = "rep_ended", "Ended by the rep"
    TIMED_OUT = "timed_out", "Timed out"
    ABANDONED = "abandoned", "Abandoned"


class SessionStatus(models.TextChoices):
    ACTIVE = "active", "In progress"
    ENDED = "ended", "Ended"


class Mode(models.TextChoices):
    TEXT = "text", "Text"
    VOICE = "voice", "Voice"


class PracticeSession(TenantOwnedModel):
    """One rep practicing one pinned scenario version with one customer engine."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(ScenarioVersion, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(
        AssignmentRecipient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mode = models.CharField(max_length=5, choices=Mode.choices, default=Mode.TEXT)
    engine = models.CharField(max_length=20)
    engine_model = models.CharField(max_length=120)
    seed = models.BigIntegerField()
    engine_state = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=SessionStatus.choices, default=SessionStatus.ACTIVE)
    end_reason = models.CharField(max_length=12, choices=EndReason.choices, blank=True)
    frustration = models.PositiveSmallIntegerField(default=50)
    is_trial = models.BooleanField(default=False, help_text="An author trying the scenario; not scored for reports.")
    started_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "membership", "-started_at"], name="session_tenant_rep"),
            models.Index(fields=["tenant", "status", "last_activity_at"], name="session_tenant_status"),
            models.Index(fields=["tenant", "-ended_at"], name="session_tenant_ended"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="active", end_reason="") | Q(status="ended") & ~Q(end_reason=""),
                name="session_end_reason_iff_ended",
            )
        ]
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Session {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == SessionStatus.ACTIVE


class Speaker(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    REP = "rep", "Rep"


class Turn(TenantOwnedModel):
    """One line of the conversation. Rep turns are saved before the customer answers, so an engine
    failure never loses what the rep said."""

    session = models.ForeignKey(PracticeSession, on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveIntegerField()
    speaker = models.CharField(max_length=10, choices=Speaker.choices)
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # Rep turns: milliseconds between the customer's previous line and this one.
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    # Customer turns: frustration after this line, and what the rep did that moved it.
    frustration = models.PositiveSmallIntegerField(null=True, blank=True)
    cues = models.JSONField(default=list, blank=True)
    revealed = models.JSONField(default=list, blank=True)
    # Voice rep turns: words per minute, pauses, fillers; and the stored recording.
    delivery = models.JSONField(default=dict, blank=True)
    audio = models.FileField(upload_to="session-audio/%Y/%m/", blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "session", "index"], name="turn_unique_index")]
        ordering = ["session_id", "index"]

    def __str__(self) -> str:
        return f"{self.speaker} turn {self.index} of session {self.session_id}"
