"""Reads of the identity app: SCIM tokens, users and groups, always inside one tenant."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from coachhub.tenancy.context import tenant_context
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


def saml_provider_get(*, tenant: Tenant):
    from .models import SamlProvider

    return SamlProvider.objects.for_tenant(tenant).filter(enabled=True).first()


def sso_protocol_for(*, tenant: Tenant) -> str | None:
    """"saml", "oidc" or None: the identity provider the tenant signs its people in with (one at a time)."""
    if saml_provider_get(tenant=tenant) is not None:
        return "saml"
    if oidc_provider_get(tenant=tenant) is not None:
        return "oidc"
    return None


def sso_tenants_for_email(*, email: str) -> list[Tenant]:
    """The tenants whose identity provider signs in addresses of this e-mail's domain: only a
    verified domain counts (DNS TXT record or operator approval), and only an active tenant with an
    enabled provider. Several tenants may verify one domain (one organisation, several
    workspaces): the person then picks. Crosses tenants on purpose (nobody is signed in yet) and
    returns only the tenants, never who belongs to them."""
    from .models import SsoDomain

    domain = email.rpartition("@")[2].strip().lower()
    if not domain:
        return []
    rows = (
        SsoDomain.objects.all_tenants().select_related("tenant")
        .filter(domain=domain, verified_at__isnull=False, tenant__is_active=True).order_by("tenant__name")
    )
    tenants = []
    for row in rows:
        with tenant_context(row.tenant):
            if sso_protocol_for(tenant=row.tenant) is not None:
                tenants.append(row.tenant)
    return tenants


def sso_enforcing_tenants_for(*, user) -> list[Tenant]:
    """The tenants among the person's own workspaces that enforce SSO and didn't name them a
    break-glass admin: where a password sign-in must be refused."""
    from coachhub.tenancy.selectors import user_memberships

    from .models import BreakGlassAdmin, OidcProvider, SamlProvider

    blocking = []
    for membership in user_memberships(user=user):
        tenant = membership.tenant
        enforced = (
            OidcProvider.objects.for_tenant(tenant).filter(enabled=True, enforce_sso=True).exists()
            or SamlProvider.objects.for_tenant(tenant).filter(enabled=True, enforce_sso=True).exists()
        )
        if enforced and not BreakGlassAdmin.objects.for_tenant(tenant).filter(membership=membership).exists():
            blocking.append(tenant)
    return blocking


def break_glass_list(*, tenant: Tenant):
    from .models import BreakGlassAdmin

    return BreakGlassAdmin.objects.for_tenant(tenant).select_related("membership__user")
