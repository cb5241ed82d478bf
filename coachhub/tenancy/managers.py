"""Fail-closed managers for tenant-owned models.

`Model.objects` filters to the tenant in context and raises when there is none, so a forgotten filter
is an error instead of a leak. Reads name their tenant explicitly with `for_tenant(tenant)`.
`all_tenants()` is the single escape hatch (admin, migrations, platform commands); a test keeps
it out of everything else.
"""

from __future__ import annotations

from django.db import models

from .context import TenantContextMissing, get_current_tenant
from .rls import EVERY_TENANT, rls_scope

# QuerySet methods that send SQL: each runs as the queryset's own tenant (row-level security), so a
# `for_tenant(tenant)` read outside any tenant context still sees that tenant's rows and no other.
_SQL_METHODS = (
    "_fetch_all", "count", "exists", "aggregate", "update", "_update", "delete", "_raw_delete",
    "bulk_create", "bulk_update", "create", "get_or_create", "update_or_create", "in_bulk",
    "contains", "explain", "_insert",
)


class TenantQuerySet(models.QuerySet):
    _rls_tenant: str | None = None

    def _clone(self):
        clone = super()._clone()
        clone._rls_tenant = self._rls_tenant
        return clone

    def _rls_as(self, value) -> TenantQuerySet:
        self._rls_tenant = None if value is None else str(value)
        return self

    def iterator(self, chunk_size=None):
        rows = super().iterator(chunk_size=chunk_size)
        while True:
            # Scope each fetch only, never the caller's code between rows.
            with rls_scope(self._rls_tenant):
                try:
                    row = next(rows)
                except StopIteration:
                    return
            yield row


def _scoped(name: str):
    def method(self, *args, **kwargs):
        with rls_scope(self._rls_tenant):
            return getattr(super(TenantQuerySet, self), name)(*args, **kwargs)

    method.__name__ = name
    return method


for _name in _SQL_METHODS:
    setattr(TenantQuerySet, _name, _scoped(_name))


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    use_in_migrations = False

    def get_queryset(self) -> TenantQuerySet:
        tenant = get_current_tenant()
        if tenant is None:
            raise TenantContextMissing(
                f"{self.model.__name__} is tenant-owned: use {self.model.__name__}.objects.for_tenant(tenant) "
                "or run inside tenant_context(tenant)."
            )
        return super().get_queryset()._rls_as(tenant.pk).filter(tenant=tenant)

    def for_tenant(self, tenant) -> TenantQuerySet:
        if tenant is None or getattr(tenant, "pk", None) is None:
            raise TenantContextMissing(f"{self.model.__name__}.objects.for_tenant() needs a saved tenant.")
        current = get_current_tenant()
        if current is not None and current.pk != tenant.pk:
            raise TenantContextMissing(
                f"Refusing to read {self.model.__name__} of tenant {tenant.pk} inside tenant {current.pk}'s context."
            )
        return super().get_queryset()._rls_as(tenant.pk).filter(tenant=tenant)

    def none(self) -> TenantQuerySet:
        """An empty queryset needs no tenant: forms declare one before a request picks the tenant."""
        return super().get_queryset().none()

    def all_tenants(self) -> TenantQuerySet:
        """Every tenant's rows. Only for admin, migrations and platform-level commands."""
        return super().get_queryset()._rls_as(EVERY_TENANT)


class RelatedRowManager(models.Manager.from_queryset(TenantQuerySet)):
    """Base manager of tenant-owned models (`_meta.base_manager`): what Django uses to follow a foreign
    key (`turn.session`), reload, update or cascade rows. Following a key from a tenant-owned row
    runs as that row's tenant under row-level security; the key itself already names the one row."""

    use_in_migrations = False

    def get_queryset(self) -> TenantQuerySet:
        queryset = super().get_queryset()
        source_tenant_id = getattr(self._hints.get("instance"), "tenant_id", None)
        return queryset._rls_as(source_tenant_id) if source_tenant_id else queryset
