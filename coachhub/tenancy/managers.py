"""Fail-closed managers for tenant-owned models.

`Model.objects` filters to the tenant in context and raises when there is none, so a forgotten filter
is an error instead of a leak. Reads name their tenant explicitly with `for_tenant(tenant)`.
`all_tenants()` is the single escape hatch (admin, migrations, platform commands); a test keeps
it out of everything else.
"""

from __future__ import annotations

from django.db import models

from .context import TenantContextMissing, get_current_tenant


class TenantQuerySet(models.QuerySet):
    pass


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    use_in_migrations = False

    def get_queryset(self) -> TenantQuerySet:
        tenant = get_current_tenant()
        if tenant is None:
            raise TenantContextMissing(
                f"{self.model.__name__} is tenant-owned: use {self.model.__name__}.objects.for_tenant(tenant) "
                "or run inside tenant_context(tenant)."
            )
        return super().get_queryset().filter(tenant=tenant)

    def for_tenant(self, tenant) -> TenantQuerySet:
        if tenant is None or getattr(tenant, "pk", None) is None:
            raise TenantContextMissing(f"{self.model.__name__}.objects.for_tenant() needs a saved tenant.")
        current = get_current_tenant()
        if current is not None and current.pk != tenant.pk:
            raise TenantContextMissing(
                f"Refusing to read {self.model.__name__} of tenant {tenant.pk} inside tenant {current.pk}'s context."
            )
        return super().get_queryset().filter(tenant=tenant)

    def none(self) -> TenantQuerySet:
        """An empty queryset needs no tenant: forms declare one before a request picks the tenant."""
        return super().get_queryset().none()

    def all_tenants(self) -> TenantQuerySet:
        """Every tenant's rows. Only for admin, migrations and platform-level commands."""
        return super().get_queryset()
