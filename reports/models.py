"""Service KPIs imported from a tenant's help desk: metrics, weekly values per rep, sources and imports.

Values are weekly: every period is stored as the Monday of its ISO week, so a re-import of the same
week updates the value in place (one row per tenant, rep, metric and week).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from coachhub.tenancy.models import Membership, Tenant, TenantOwnedModel


class KpiUnit(models.TextChoices):
    PERCENT = "percent", "%"
    SECONDS = "seconds", "seconds"
    SCORE = "score", "score"
    NUMBER = "number", "number"


class KpiMetric(TenantOwnedModel):
    """A KPI a tenant tracks. Built-in metrics are created for every tenant on first use; tenants may
    add their own. `min_value`/`max_value` bound what an import accepts."""

    key = models.SlugField(max_length=50, help_text="Stable machine name, e.g. csat or avg_handling_time.")
    label = models.CharField(max_length=100)
    unit = models.CharField(max_length=10, choices=KpiUnit.choices, default=KpiUnit.NUMBER)
    higher_is_better = models.BooleanField(default=True)
    is_builtin = models.BooleanField(default=False)
    min_value = models.FloatField(null=True, blank=True)
    max_value = models.FloatField(null=True, blank=True)
    aliases = models.JSONField(
        default=list, blank=True, help_text="Other column or metric names that mean this metric (case-insensitive)."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="kpimetric_unique_key")]
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class KpiFormat(models.TextChoices):
    AUTO = "auto", "Detect from the header"
    LONG = "long", "Long: one row per rep, week and metric"
    WIDE = "wide", "Wide: one column per metric"


class KpiDateFormat(models.TextChoices):
    AUTO = "auto", "ISO (YYYY-MM-DD) or week (2026-W14); slashes only when unambiguous"
    DMY = "dmy", "DD/MM/YYYY"
    MDY = "mdy", "MM/DD/YYYY"


class KpiDelimiter(models.TextChoices):
    AUTO = "", "Detect"
    COMMA = ",", "Comma (,)"
    SEMICOLON = ";", "Semicolon (;)"


class KpiSource(TenantOwnedModel):
    """Where KPI files come from (e.g. "Zendesk export") and how to read them: layout, column
    mapping, delimiter and date format, saved so the next upload from the same place just works."""

    name = models.CharField(max_length=100)
    format = models.CharField(max_length=4, choices=KpiFormat.choices, default=KpiFormat.AUTO)
    # {"rep": column, "rep_key": "email"|"external_id", "period": column, "metric": column,
    #  "value": column, "metrics": {file column or metric name: metric key}}; empty means "detect".
    column_mapping = models.JSONField(default=dict, blank=True)
    delimiter = models.CharField(max_length=1, choices=KpiDelimiter.choices, default=KpiDelimiter.AUTO, blank=True)
    date_format = models.CharField(max_length=4, choices=KpiDateFormat.choices, default=KpiDateFormat.AUTO)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="kpisource_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class KpiImportStatus(models.TextChoices):
    PREVIEWED = "previewed", "Previewed"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMMITTED = "committed", "Committed"
    FAILED = "failed", "Failed"


class KpiImport(TenantOwnedModel):
    """One uploaded KPI file: its dry-run preview, then its background commit and progress."""

    source = models.ForeignKey(KpiSource, on_delete=models.PROTECT, related_name="imports")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    stored_path = models.CharField(max_length=255, help_text="Relative to MEDIA_ROOT.")
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=KpiImportStatus.choices, default=KpiImportStatus.PREVIEWED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # At most KPI_IMPORT_MAX_STORED_ERRORS of {"line", "column", "message"}; error_count has them all.
    errors = models.JSONField(default=list, blank=True)
    notices = models.JSONField(default=list, blank=True)
    sample = models.JSONField(default=list, blank=True)
    # Ticket- and call-level exports (reports.helpdesk): the preset read, how sure the header made it,
    # how each metric's weekly values were computed ({metric key: definition}, the definition of every
    # value this import wrote) and the agents no member is known for ({"agent", "rows", "line"}).
    preset = models.CharField(max_length=40, blank=True)
    preset_confidence = models.FloatField(null=True, blank=True)
    definitions = models.JSONField(default=dict, blank=True)
    unknown_agents = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="kpiimport_tenant_created"),
            models.Index(fields=["tenant", "status"], name="kpiimport_tenant_status"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"KPI import {self.pk} ({self.file_name}, {self.status})"

    @property
    def is_done(self) -> bool:
        return self.status in (KpiImportStatus.COMMITTED, KpiImportStatus.FAILED)

    @property
    def progress_percent(self) -> int:
        if self.status == KpiImportStatus.COMMITTED:
            return 100
        if not self.total_rows:
            return 0
        return min(99, int(self.processed_rows * 100 / self.total_rows))


class KpiValue(TenantOwnedModel):
    """A rep's value of one metric for one week (`period_start` is that week's Monday).

    The biggest table (a million rows a year for a large tenant), written in bulk, so it carries only
    the indexes reads need: the unique constraint leads with tenant and serves tenant and per-rep
    lookups (the dashboards' queries all filter by tenant and reps; the planner picks it for them).
    On PostgreSQL one more index, (tenant, week, metric), lets the tenant-wide scorecard ask "who has
    this metric this week" in one lookup instead of one per rep (migration 0006); `source` and `kpi_import`
    record where a value came from and are neither indexed nor constrained (a deleted import leaves a
    dangling id).

    tenant, membership and metric have no database foreign keys (`db_constraint=False`): the deferred
    FK triggers checked each of a million imported rows three times at commit, which took longer than
    the insert itself. Integrity is kept in Django instead: the only bulk writer (reports.kpi.importing)
    resolves every id inside the tenant and, in the write's transaction, re-checks them and holds
    FOR KEY SHARE locks on those rows until commit (what an FK check does, once per id instead of once
    per row); deletes still cascade through Django's `on_delete=CASCADE`. The trade-off: a raw SQL
    delete of a tenant, rep or metric (bypassing the ORM) would leave orphaned values. `membership`
    keeps its index so deleting a user's memberships doesn't scan the table; metrics are never deleted
    by the app (a deleted custom metric scans the table once).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False)
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="kpi_values", db_constraint=False
    )
    metric = models.ForeignKey(
        KpiMetric, on_delete=models.CASCADE, related_name="values", db_index=False, db_constraint=False
    )
    period_start = models.DateField()
    value = models.FloatField()
    source = models.ForeignKey(
        KpiSource, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+", db_index=False,
        db_constraint=False,
    )
    kpi_import = models.ForeignKey(
        KpiImport, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+", db_column="import_id",
        db_index=False, db_constraint=False,
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "membership", "metric", "period_start"], name="kpivalue_unique_week"
            )
        ]
        ordering = ["-period_start"]

    def __str__(self) -> str:
        return f"{self.metric_id}={self.value} for {self.membership_id} week of {self.period_start}"


# The dashboards' and help-desk agents' tables belong to this app too: importing them here registers
# them with it, after the KPI tables (the order Django has always seen), and lets callers import every
# reports model from one place.
from reports.dashboards.models import DigestDelivery, RepWeek, TenantReportSettings  # noqa: E402,F401
from reports.helpdesk.models import HelpdeskAgentMapping  # noqa: E402,F401
