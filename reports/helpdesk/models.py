"""Help-desk agents as people: which member an agent named in a source's exports is, or that the
admin chose to ignore them. Saved per source, since the same name can mean different people in two
help desks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from coachhub.tenancy.models import Membership, TenantOwnedModel

__all__ = ["HelpdeskAgentMapping"]


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
