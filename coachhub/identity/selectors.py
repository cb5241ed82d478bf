"""Reads of the identity app: SCIM tokens, users and groups, always inside one tenant."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from coachhub.tenancy.models import Tenant, hash_secret

from .models import ScimGroup, ScimToken, ScimUser


def scim_token_by_key(*, tenant: Tenant, raw_key: str) -> ScimToken | None:
    """The live token `raw_key` names in `tenant`; a token of another tenant is simply not found."""
    return ScimToken.objects.for_tenant(tenant).filter(key_hash=hash_secret(raw_key), revoked_at__isnull=True).first()


def scim_token_list(*, tenant: Tenant) -> QuerySet[ScimToken]:
    return ScimToken.objects.for_tenant(tenant).filter(revoked_at__isnull=True).select_related("created_by")


def _as_uuid(scim_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(scim_id))
    except ValueError:
        return None


def scim_user_list(*, tenant: Tenant) -> QuerySet[ScimUser]:
    return ScimUser.objects.for_tenant(tenant).select_related("membership__user")


def scim_user_get(*, tenant: Tenant, scim_id: str) -> ScimUser | None:
    key = _as_uuid(scim_id)
    return None if key is None else scim_user_list(tenant=tenant).filter(scim_id=key).first()


def scim_group_list(*, tenant: Tenant) -> QuerySet[ScimGroup]:
    return ScimGroup.objects.for_tenant(tenant).select_related("team")


def scim_group_get(*, tenant: Tenant, scim_id: str) -> ScimGroup | None:
    key = _as_uuid(scim_id)
    return None if key is None else scim_group_list(tenant=tenant).filter(scim_id=key).first()


def scim_users_by_ids(*, tenant: Tenant, scim_ids: list[str]) -> dict[str, ScimUser]:
    keys = [key for key in (_as_uuid(value) for value in scim_ids) if key is not None]
    return {str(row.scim_id): row for row in scim_user_list(tenant=tenant).filter(scim_id__in=keys)}


def oidc_provider_get(*, tenant: Tenant):
    from .models import OidcProvider

    return OidcProvider.objects.for_tenant(tenant).filter(enabled=True).first()


def sso_domain_list(*, tenant: Tenant):
    from .models import SsoDomain

    return SsoDomain.objects.for_tenant(tenant)


def sso_tenant_for_email(*, email: str) -> Tenant | None:
    """The tenant whose identity provider signs in addresses of this e-mail's domain: only a domain
    a platform operator verified counts, and only an active tenant with an enabled provider.
    Crosses tenants on purpose (nobody is signed in yet) and returns only the tenant."""
    from .models import SsoDomain

    domain = email.rpartition("@")[2].strip().lower()
    if not domain:
        return None
    row = (
        SsoDomain.objects.all_tenants().select_related("tenant")
        .filter(domain=domain, verified_at__isnull=False, tenant__is_active=True).first()
    )
    return row.tenant if row is not None else None


def sso_enforcing_tenants_for(*, user) -> list[Tenant]:
    """The tenants among the person's own workspaces that enforce SSO and didn't name them a
    break-glass admin: where a password sign-in must be refused."""
    from coachhub.tenancy.selectors import user_memberships

    from .models import BreakGlassAdmin, OidcProvider

    blocking = []
    for membership in user_memberships(user=user):
        tenant = membership.tenant
        enforced = OidcProvider.objects.for_tenant(tenant).filter(enabled=True, enforce_sso=True).exists()
        if enforced and not BreakGlassAdmin.objects.for_tenant(tenant).filter(membership=membership).exists():
            blocking.append(tenant)
    return blocking


def break_glass_list(*, tenant: Tenant):
    from .models import BreakGlassAdmin

    return BreakGlassAdmin.objects.for_tenant(tenant).select_related("membership__user")
