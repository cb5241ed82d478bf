"""The tenant's audit log: who did what, to which row, recorded by every write that matters."""

from __future__ import annotations

from typing import Any

from ..models import AuditEvent, Tenant, User


def audit_record(
    *,
    tenant: Tenant,
    actor: User | None,
    action: str,
    summary: str,
    target: Any = None,
    data: dict | None = None,
) -> AuditEvent:
    return AuditEvent.objects.for_tenant(tenant).create(
        tenant=tenant,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target_type=type(target).__name__ if target is not None else "",
        target_id=str(getattr(target, "pk", "") or ""),
        summary=summary[:300],
        data=data or {},
    )
