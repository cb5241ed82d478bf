"""Platform operators create tenants (and invite each one's first admin)."""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from coachhub.core.errors import ApplicationError

from ..models import Invitation, Role, Tenant, User
from .audit import audit_record
from .invitations import invitation_create

RESERVED_SLUGS = {"admin", "api", "static", "media", "platform", "healthz", "accounts", "t", "invite"}


@transaction.atomic
def tenant_create(
    *, name: str, slug: str, actor: User, admin_email: str, admin_name: str = ""
) -> tuple[Tenant, Invitation]:
    """A platform operator creates a tenant and invites its first admin."""
    if not actor.is_staff:
        raise ApplicationError("Only platform operators create tenants.", code="forbidden", status_code=403)
    name = name.strip()
    slug = slugify(slug or name)
    errors = {}
    if not name:
        errors["name"] = "Give the organization a name."
    if not slug:
        errors["slug"] = "The URL name needs letters or digits."
    elif slug in RESERVED_SLUGS:
        errors["slug"] = f"“{slug}” is reserved; choose another URL name."
    elif Tenant.objects.filter(slug=slug).exists():
        errors["slug"] = f"A tenant with the URL name “{slug}” already exists."
    if errors:
        raise ApplicationError("The tenant could not be created.", code="invalid_tenant", fields=errors)
    tenant = Tenant.objects.create(name=name, slug=slug)
    invitation, _ = invitation_create(
        tenant=tenant, actor=actor, email=admin_email, full_name=admin_name, role=Role.TENANT_ADMIN
    )
    audit_record(tenant=tenant, actor=actor, action="tenant.created", summary=f"Tenant {name} created", target=tenant)
    return tenant, invitation
