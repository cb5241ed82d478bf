"""Writes of help-desk imports: the admin's agent → member choices, saved per source."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from coachhub.core.errors import ApplicationError
from coachhub.tenancy.models import Membership, Tenant, User
from coachhub.tenancy.selectors import visible_rep_memberships
from coachhub.tenancy.services import audit_record

from ..models import HelpdeskAgentMapping, KpiSource

IGNORE = "ignore"


@transaction.atomic
def agent_mappings_save(
    *, tenant: Tenant, actor: User, membership: Membership, source: KpiSource, choices: list[tuple[str, str]]
) -> int:
    """Saves each (agent as the export writes it, member id or "ignore") on the source; a blank
    choice leaves that agent unmapped. Only members the person may import KPIs for can be chosen.
    Returns how many agents were saved."""
    visible = set(visible_rep_memberships(membership=membership).values_list("id", flat=True))
    saved = 0
    for agent, choice in choices:
        label = " ".join(str(agent).split())[:255]
        choice = str(choice or "").strip()
        if not label or not choice:
            continue
        if choice == IGNORE:
            membership_id, ignored = None, True
        else:
            try:
                membership_id = int(choice)
            except ValueError:
                membership_id = None
            if membership_id not in visible:
                raise ApplicationError(
                    f"“{label}” can only be mapped to a member you import KPIs for; choose one from the list.",
                    code="invalid_agent_mapping",
                )
            ignored = False
        HelpdeskAgentMapping.objects.for_tenant(tenant).update_or_create(
            tenant=tenant, source=source, agent_key=label.lower(),
            defaults={"agent_label": label, "membership_id": membership_id, "ignored": ignored,
                      "updated_by": actor, "updated_at": timezone.now()},
        )
        saved += 1
    if saved:
        audit_record(tenant=tenant, actor=actor, action="kpi_source.agents",
                     summary=f"{saved} help-desk agent(s) of “{source.name}” mapped or ignored", target=source)
    return saved
