"""Programs: scenarios bundled with pass marks, assigned to reps, and each rep's "ready for live"
decision. Readiness itself is computed from scores (programs/readiness.py), never stored, so an
adjusted score or a changed pass mark shows at once."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from coachhub.tenancy.models import Membership, Team, TenantOwnedModel
from scenarios.models import Scenario


class Program(TenantOwnedModel):
    """An onboarding or certification program: scenarios to pass, by a due date."""

    title = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    is_ordered = models.BooleanField(default=False, help_text="Reps pass the scenarios in order.")
    due_on = models.DateField(null=True, blank=True)
    max_attempts = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Sessions a rep may use per scenario; empty = unlimited."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "title"], name="program_unique_title")]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="program_tenant_created")]
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class ProgramStep(TenantOwnedModel):
    """One scenario of a program and what passing it takes: an overall score and, optionally, a
    minimum on named behaviors ({"empathy": 60})."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="steps")
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()
    pass_overall = models.PositiveSmallIntegerField()
    behavior_minimums = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "program", "scenario"], name="programstep_unique_scenario"),
            models.UniqueConstraint(fields=["tenant", "program", "position"], name="programstep_unique_position"),
            models.CheckConstraint(condition=Q(pass_overall__lte=100), name="programstep_pass_mark_range"),
        ]
        ordering = ["program_id", "position"]

    def __str__(self) -> str:
        return f"Step {self.position} of program {self.program_id}"


class LiveStatus(models.TextChoices):
    NONE = "", "Not decided"
    CONFIRMED = "confirmed", "Confirmed ready for live"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ProgramEnrollment(TenantOwnedModel):
    """One rep in one program, and the manager's "ready for live" decision (every change is also in
    the audit log)."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="enrollments")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    via_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    live_status = models.CharField(max_length=10, choices=LiveStatus.choices, blank=True, default=LiveStatus.NONE)
    live_reason = models.CharField(max_length=500, blank=True)
    live_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    live_decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "program", "membership"], name="enrollment_unique_rep"),
        ]
        indexes = [models.Index(fields=["tenant", "membership"], name="enrollment_tenant_rep")]
        ordering = ["program_id", "id"]

    def __str__(self) -> str:
        return f"{self.membership_id} in program {self.program_id}"


class LRSSettings(TenantOwnedModel):
    """A tenant's Learning Record Store: where xAPI statements go. The secret is stored encrypted
    and never shown again."""

    endpoint = models.URLField(help_text="The LRS's xAPI endpoint, e.g. https://lrs.example.com/xapi/")
    username = models.CharField(max_length=200, help_text="The LRS key (HTTP Basic user name).")
    secret_encrypted = models.TextField(blank=True)
    is_enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="lrssettings_one_per_tenant")]

    def __str__(self) -> str:
        return f"LRS of tenant {self.tenant_id}"


class StatementStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    REJECTED = "rejected", "Refused by the LRS"


class StatementOutbox(TenantOwnedModel):
    """An xAPI statement written in the same transaction as what it records, then delivered in
    order (by id) by a Celery task. `dedupe_key` makes recording the same event twice a no-op."""

    statement_id = models.UUIDField()
    dedupe_key = models.CharField(max_length=120)
    session_id = models.BigIntegerField(null=True, blank=True)
    verb = models.CharField(max_length=40)
    statement = models.JSONField()
    status = models.CharField(max_length=10, choices=StatementStatus.choices, default=StatementStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set for a session launched as a cmi5 assignable unit: sent with that launch's token.
    cmi5_launch = models.ForeignKey("Cmi5Launch", null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "dedupe_key"], name="statement_unique_event"),
            models.UniqueConstraint(fields=["tenant", "statement_id"], name="statement_unique_id"),
        ]
        indexes = [models.Index(fields=["tenant", "status", "id"], name="statement_tenant_pending")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.verb} statement {self.statement_id} ({self.status})"


class LTIPlatform(TenantOwnedModel):
    """An LMS registered with this tenant as an LTI 1.3 platform (Canvas, Moodle, …)."""

    name = models.CharField(max_length=120)
    issuer = models.CharField(max_length=255)
    client_id = models.CharField(max_length=255)
    deployment_ids = models.JSONField(default=list)
    auth_login_url = models.URLField(max_length=500)
    auth_token_url = models.URLField(max_length=500)
    key_set_url = models.URLField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "issuer", "client_id"], name="ltiplatform_unique_client")
        ]

    def __str__(self) -> str:
        return self.name


class LTIToolKey(TenantOwnedModel):
    """The tool's signing key for one tenant. Rotating adds a new key; the old one stays in the
    JWKS until retired, so platforms holding a cached key set keep verifying."""

    kid = models.CharField(max_length=64)
    private_key_encrypted = models.TextField()
    public_key_pem = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "kid"], name="ltitoolkey_unique_kid")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"LTI key {self.kid}"


class LTIGradeLink(TenantOwnedModel):
    """A practice session launched from an LMS, and where its score goes (AGS)."""

    platform = models.ForeignKey(LTIPlatform, on_delete=models.CASCADE, related_name="+")
    session_id = models.BigIntegerField()
    user_sub = models.CharField(max_length=255)
    ags = models.JSONField(default=dict)  # the launch's AGS claim: scope, lineitem(s)
    last_score_sent = models.PositiveSmallIntegerField(null=True, blank=True)
    last_comment_sent = models.TextField(blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Set when a score is waiting to reach the gradebook (scored, re-scored, or the LMS was down),
    # cleared once the LMS has the latest one: what the retry task and the sweeper look for.
    pending_since = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)  # failed tries since the last success

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "session_id"], name="ltigradelink_unique_session")]
        indexes = [models.Index(fields=["tenant", "pending_since"], name="ltigradelink_tenant_pending")]

    def __str__(self) -> str:
        return f"Grade link of session {self.session_id}"


class LTICourse(TenantOwnedModel):
    """A course (LTI context) someone launched CoachHub from, with its Names and Role Provisioning
    Services roster URL when the LMS offers it: an admin syncs its members into the tenant."""

    platform = models.ForeignKey(LTIPlatform, on_delete=models.CASCADE, related_name="+")
    context_id = models.CharField(max_length=255)
    title = models.CharField(max_length=255, blank=True)
    memberships_url = models.URLField(max_length=500, blank=True)
    last_launch_at = models.DateTimeField(default=timezone.now)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_sync = models.JSONField(default=dict, blank=True)  # counts of the last sync: matched, added, skipped…
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "platform", "context_id"], name="lticourse_unique_context")
        ]
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title or self.context_id


class Cmi5Launch(TenantOwnedModel):
    """A practice session launched by an LMS as a cmi5 assignable unit: the LMS's actor, registration
    and context template, its moveOn criterion and mastery score, and the session's auth token
    (encrypted) that the AU's statements are sent with."""

    session_id = models.BigIntegerField()
    activity_id = models.URLField(max_length=500)
    registration = models.CharField(max_length=36)
    actor = models.JSONField()
    endpoint = models.URLField(max_length=500)
    auth_token_encrypted = models.TextField()
    context_template = models.JSONField(default=dict)
    launch_mode = models.CharField(max_length=20, default="Normal")
    move_on = models.CharField(max_length=40, blank=True)
    mastery_score = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "session_id"], name="cmi5launch_unique_session")]

    def __str__(self) -> str:
        return f"cmi5 launch of session {self.session_id}"
