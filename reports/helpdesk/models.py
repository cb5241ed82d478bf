"""Help-desk agents as people: which member an agent named in a source's exports is, or that the
admin chose to ignore them. Saved per source, since the same name can mean different people in two
help desks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from coachhub.tenancy.models import Membership, TenantOwnedModel

__all__ = ["HelpdeskAgentMapping", "HelpdeskConnection", "HelpdeskPulledTicket", "HelpdeskSyncStatus", "HelpdeskVendor"]


class HelpdeskAgentMapping(TenantOwnedModel):
    """One agent of one source: `agent_key` is the agent cell lower-cased and trimmed (a name, e-mail
    or platform id as the export writes it); `membership` the member it is, or null with `ignored`."""

    source = models.ForeignKey("reports.KpiSource", on_delete=models.CASCADE, related_name="agent_mappings")
    agent_key = models.CharField(max_length=255)
    agent_label = models.CharField(max_length=255)
    membership = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    ignored = models.BooleanField(default=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "reports"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "source", "agent_key"], name="agentmapping_unique_agent"),
            models.CheckConstraint(
                condition=models.Q(ignored=True, membership__isnull=True) | models.Q(ignored=False, membership__isnull=False),
                name="agentmapping_member_or_ignored",
            ),
        ]
        ordering = ["agent_label"]

    def __str__(self) -> str:
        return f"{self.agent_label} → {'ignored' if self.ignored else self.membership_id}"


class HelpdeskVendor(models.TextChoices):
    ZENDESK = "zendesk", "Zendesk"
    FRESHDESK = "freshdesk", "Freshdesk"
    INTERCOM = "intercom", "Intercom"


class HelpdeskSyncStatus(models.TextChoices):
    NEVER = "never", "Not synced yet"
    RUNNING = "running", "Syncing"
    OK = "ok", "Synced"
    NEEDS_MAPPING = "needs_mapping", "Waiting for agents to be mapped"
    FAILED = "failed", "Last sync failed"
    STOPPED = "stopped", "Stopped: needs an admin"


class HelpdeskConnection(TenantOwnedModel):
    """A tenant's API connection to one help desk (reports.helpdesk.pulls): the subdomain it typed
    (never a URL), the API token encrypted at rest (coachhub.core.crypto; never shown again), the
    vendor's incremental cursor (saved only with a committed sync) and how the last sync went. Its
    values are written through `source`, whose agent mappings and reading settings they share."""

    vendor = models.CharField(max_length=20, choices=HelpdeskVendor.choices)
    subdomain = models.CharField(max_length=63, blank=True)
    login_email = models.EmailField(blank=True, help_text="Zendesk: the agent the API token belongs to.")
    token_encrypted = models.TextField()
    source = models.ForeignKey("reports.KpiSource", on_delete=models.PROTECT, related_name="+")
    cursor = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=HelpdeskSyncStatus.choices, default=HelpdeskSyncStatus.NEVER)
    failures = models.PositiveSmallIntegerField(default=0, help_text="Failed syncs in a row.")
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # {"fetched", "tickets", "ratings", "weeks", "created", "updated", "unchanged", "removed", "waited_s", "requests"}
    last_counts = models.JSONField(default=dict, blank=True)
    last_error = models.TextField(blank=True)
    unknown_agents = models.JSONField(default=list, blank=True)  # [{"agent", "rows"}] blocking the last sync
    last_import = models.ForeignKey("reports.KpiImport", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    connected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "reports"
        constraints = [models.UniqueConstraint(fields=["tenant", "vendor"], name="helpdeskconnection_unique_vendor")]
        ordering = ["vendor"]

    def __str__(self) -> str:
        return f"{self.get_vendor_display()} connection ({self.status})"


class HelpdeskPulledTicket(TenantOwnedModel):
    """One ticket or conversation as the last sync saw it, in its preset's columns (`cells`), so a week
    can be aggregated again from every ticket in it when one of them changes. `closed_at` is the time
    whose ISO week the ticket counts in (null: not solved, counts nowhere)."""

    connection = models.ForeignKey(HelpdeskConnection, on_delete=models.CASCADE, related_name="tickets")
    external_id = models.CharField(max_length=64)
    closed_at = models.DateTimeField(null=True, blank=True)
    cells = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "reports"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "connection", "external_id"], name="pulledticket_unique_id"),
        ]
        indexes = [models.Index(fields=["tenant", "connection", "closed_at"], name="pulledticket_closed")]

    def __str__(self) -> str:
        return f"{self.connection_id}:{self.external_id}"
