"""Tenants, people, roles and teams, invitations, API tokens and the audit log."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.signals import class_prepared
from django.dispatch import receiver
from django.utils import timezone

from .managers import RelatedRowManager, TenantManager
from .rls import rls_scope


class Role(models.TextChoices):
    REP = "rep", "Rep"
    MANAGER = "manager", "Manager"
    ENABLEMENT_LEAD = "enablement_lead", "Enablement lead"
    TENANT_ADMIN = "tenant_admin", "Tenant admin"


class Tenant(models.Model):
    """A customer organization. Its slug is the first segment of every tenant URL."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=50, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Logs in with their email; may belong to several tenants through memberships.

    `is_staff` marks platform operators, who create tenants; it grants nothing inside a tenant.
    """

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email


class TenantOwnedModel(models.Model):
    """Base for every tenant-owned table: its own tenant column and the fail-closed manager."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

    objects = TenantManager()
    # Not for queries: Django's base manager for this model (set in _use_related_row_manager).
    _related_rows = RelatedRowManager()

    class Meta:
        abstract = True

    # Writing or reloading a row runs as the row's own tenant under row-level security when no
    # tenant context is active (a tenant context, when there is one, still decides).
    def save(self, *args, **kwargs):
        with rls_scope(self.tenant_id):
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        with rls_scope(self.tenant_id):
            return super().delete(*args, **kwargs)

    def refresh_from_db(self, *args, **kwargs):
        with rls_scope(self.tenant_id):
            super().refresh_from_db(*args, **kwargs)


@receiver(class_prepared)
def _use_related_row_manager(sender, **kwargs) -> None:
    if issubclass(sender, TenantOwnedModel) and not sender._meta.abstract:
        sender._meta.base_manager_name = "_related_rows"


class Membership(TenantOwnedModel):
    """A user's place in a tenant: one role per tenant."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REP)
    external_id = models.CharField(
        max_length=100, blank=True, help_text="The person's id in the help desk, used to match KPI rows."
    )
    started_on = models.DateField(null=True, blank=True, help_text="Start date, for time-to-confidence.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user")]
        indexes = [models.Index(fields=["tenant", "role"], name="membership_tenant_role")]
        ordering = ["user__email"]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant_id} as {self.role}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.TENANT_ADMIN


class Team(TenantOwnedModel):
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="team_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamRole(models.TextChoices):
    MEMBER = "member", "Member"
    COACH = "coach", "Coach"


class TeamMembership(TenantOwnedModel):
    """Links a membership to a team: reps are members, managers coach."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="links")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="team_links")
    kind = models.CharField(max_length=10, choices=TeamRole.choices, default=TeamRole.MEMBER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "team", "membership", "kind"], name="teamlink_unique")
        ]
        indexes = [models.Index(fields=["tenant", "membership"], name="teamlink_tenant_member")]

    def __str__(self) -> str:
        return f"{self.membership_id} {self.kind} of team {self.team_id}"


def hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class Invitation(TenantOwnedModel):
    """An emailed invitation to join a tenant. Only a hash of its token is stored."""

    email = models.EmailField()
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REP)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_sent_at = models.DateTimeField(default=timezone.now)
    send_count = models.PositiveIntegerField(default=1)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            )
        ]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="invitation_tenant_created")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.email}"

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class ApiToken(TenantOwnedModel):
    """A personal API token: belongs to one user in one tenant and works only on that tenant's URLs."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "user"], name="apitoken_tenant_user")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditEvent(TenantOwnedModel):
    """An append-only record of a security-relevant action."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "-created_at"], name="audit_tenant_created")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action}: {self.summary}"


class EngineChoice(models.TextChoices):
    EMBEDDED = "embedded", "Embedded (offline)"
    LLM = "llm", "LLM endpoint"


class AISettings(TenantOwnedModel):
    """A tenant's AI configuration: which engines run, and its OpenAI-compatible endpoint.

    The API key is stored encrypted and never shown again after it is saved.
    """

    customer_engine = models.CharField(max_length=10, choices=EngineChoice.choices, default=EngineChoice.EMBEDDED)
    scorer_engine = models.CharField(max_length=10, choices=EngineChoice.choices, default=EngineChoice.EMBEDDED)
    llm_base_url = models.URLField(blank=True, help_text="e.g. https://api.openai.com/v1 or http://vllm:8000/v1")
    llm_model = models.CharField(max_length=100, blank=True)
    llm_api_key_encrypted = models.TextField(blank=True)
    monthly_token_budget = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="LLM tokens this tenant may use per calendar month; empty = no cap."
    )
    per_minute_token_budget = models.PositiveIntegerField(
        null=True, blank=True, help_text="LLM tokens per minute across the tenant; empty = no cap."
    )
    block_publish_without_realism_check = models.BooleanField(
        default=False, help_text="Refuse to publish a scenario version whose realism check failed or wasn't run."
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="aisettings_one_per_tenant")]

    def __str__(self) -> str:
        return f"AI settings of tenant {self.tenant_id}"

    @property
    def has_api_key(self) -> bool:
        return bool(self.llm_api_key_encrypted)


class TokenLedger(TenantOwnedModel):
    """LLM tokens a tenant reserved (calls in flight) and used in one calendar month."""

    month = models.DateField(help_text="First day of the month.")
    reserved = models.BigIntegerField(default=0)
    used = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "month"], name="tokenledger_unique_month")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.month:%Y-%m}: used {self.used}, reserved {self.reserved}"


class RetentionSettings(TenantOwnedModel):
    """How long a tenant keeps practice recordings and transcripts. Empty means keep forever.

    Ages count from a session's end (its last activity when it never ended). Scores and weekly
    aggregates are kept whatever the setting, so dashboards stay correct."""

    DEFAULT_AUDIO_DAYS = 30
    DEFAULT_TRANSCRIPT_DAYS = 365

    audio_retention_days = models.PositiveIntegerField(
        null=True, blank=True, default=DEFAULT_AUDIO_DAYS,
        help_text="Days after which voice recordings are deleted; empty = keep forever.",
    )
    transcript_retention_days = models.PositiveIntegerField(
        null=True, blank=True, default=DEFAULT_TRANSCRIPT_DAYS,
        help_text="Days after which transcript text and quoted evidence are removed; empty = keep forever.",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="retentionsettings_one_per_tenant")]

    def __str__(self) -> str:
        return f"Retention settings of tenant {self.tenant_id}"
