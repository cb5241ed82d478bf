"""Scoring jobs and their results: one SessionScore per (session, engine, scorer version, rubric
version), one BehaviorScore row per rubric behavior, plus the human review around them (manager
adjustments, turn comments, rep disputes).

Behavior scores are rows rather than JSON so weekly aggregates per rep per behavior and AI/human
agreement are plain GROUP BYs; the engine's full result dict is kept alongside for the record.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from coachhub.tenancy.models import Membership, TenantOwnedModel
from sessions.models import PracticeSession


class ScoreStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Scoring"
    DONE = "done", "Scored"
    FAILED = "failed", "Failed"


class SessionScore(TenantOwnedModel):
    """One scoring run of one session. The unique key is the job's idempotency key: the same job
    running twice finds its row instead of scoring again, and a newer scorer version gets a new row
    so earlier results stay as history. `is_current` marks the result people see (the latest done)."""

    session = models.ForeignKey(PracticeSession, on_delete=models.CASCADE, related_name="+")
    # The rep who practiced, copied from the session so reports group scores without a join.
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    engine = models.CharField(max_length=20)
    scorer_version = models.CharField(max_length=40)
    # The session's pinned ScenarioVersion number: its rubric is what was scored against.
    rubric_version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=ScoreStatus.choices, default=ScoreStatus.QUEUED)
    is_current = models.BooleanField(default=False)
    overall = models.PositiveSmallIntegerField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    focus_behavior = models.CharField(max_length=50, blank=True)
    focus_tip = models.TextField(blank=True)
    focus_example = models.TextField(blank=True)
    delivery = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Which job holds the running claim (the Celery task id): a redelivery of the same message after
    # its worker died may take over; a different job leaves a fresh claim alone.
    claim_token = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "session", "engine", "scorer_version", "rubric_version"],
                name="sessionscore_unique_run",
            ),
            models.UniqueConstraint(
                fields=["tenant", "session"], condition=Q(is_current=True), name="sessionscore_one_current"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "session", "-created_at"], name="sessionscore_tenant_session"),
            models.Index(fields=["tenant", "status", "started_at"], name="sessionscore_tenant_status"),
            models.Index(fields=["tenant", "membership", "-finished_at"], name="sessionscore_tenant_rep"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Score of session {self.session_id} by {self.engine} {self.scorer_version} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status in (ScoreStatus.QUEUED, ScoreStatus.RUNNING)


class BehaviorScore(TenantOwnedModel):
    """One behavior of one scoring run: the AI's score with its evidence, and a reviewer's adjustment.

    `ai_score` is null when the behavior was not observed or the engine does not score it. The AI
    score never changes after the run; an adjustment sits beside it, so both stay visible."""

    session_score = models.ForeignKey(SessionScore, on_delete=models.CASCADE, related_name="behaviors")
    behavior = models.CharField(max_length=50)
    weight = models.FloatField(default=1.0)
    ai_score = models.PositiveSmallIntegerField(null=True, blank=True)
    rationale = models.TextField(blank=True)
    confidence = models.FloatField(default=0.0)
    evidence = models.JSONField(default=list, blank=True)  # [{"turn": <Turn.index>, "quote": "…"}]
    adjusted_score = models.PositiveSmallIntegerField(null=True, blank=True)
    adjusted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    adjusted_reason = models.TextField(blank=True)
    adjusted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "session_score", "behavior"], name="behaviorscore_unique_behavior"
            )
        ]
        indexes = [models.Index(fields=["tenant", "behavior"], name="behaviorscore_tenant_behavior")]
        ordering = ["session_score_id", "id"]

    def __str__(self) -> str:
        return f"{self.behavior} of score {self.session_score_id}"

    @property
    def final_score(self) -> int | None:
        """What counts: the reviewer's adjustment when there is one, otherwise the AI score."""
        return self.adjusted_score if self.adjusted_score is not None else self.ai_score

    @property
    def is_adjusted(self) -> bool:
        return self.adjusted_at is not None


class TurnComment(TenantOwnedModel):
    """A coach's note on one line of a session's transcript."""

    session = models.ForeignKey(PracticeSession, on_delete=models.CASCADE, related_name="+")
    turn_index = models.PositiveIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "session", "turn_index"], name="turncomment_tenant_turn")]
        ordering = ["turn_index", "created_at", "id"]

    def __str__(self) -> str:
        return f"Comment on turn {self.turn_index} of session {self.session_id}"


class DisputeStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class Dispute(TenantOwnedModel):
    """A rep asks a reviewer to look at one behavior score again."""

    session_score = models.ForeignKey(SessionScore, on_delete=models.CASCADE, related_name="disputes")
    behavior_score = models.ForeignKey(BehaviorScore, on_delete=models.CASCADE, related_name="disputes")
    rep = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    note = models.TextField()
    status = models.CharField(max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    resolution_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "behavior_score"], condition=Q(status="open"), name="dispute_one_open"
            )
        ]
        indexes = [models.Index(fields=["tenant", "status", "-created_at"], name="dispute_tenant_status")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Dispute of {self.behavior_score_id} ({self.status})"
