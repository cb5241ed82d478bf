"""The current tenant of a request or task, held in a ContextVar and always reset afterwards."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Tenant

_current_tenant: contextvars.ContextVar[Tenant | None] = contextvars.ContextVar("current_tenant", default=None)


class TenantContextMissing(RuntimeError):
    """A tenant-owned table was queried with no tenant in context and no explicit `for_tenant`."""


def get_current_tenant() -> Tenant | None:
    return _current_tenant.get()


@contextmanager
def tenant_context(tenant: Tenant) -> Iterator[Tenant]:
    """Enter `tenant` for the duration of the block (requests, Celery tasks, commands)."""
    token = _current_tenant.set(tenant)
    try:
        yield tenant
    finally:
        _current_tenant.reset(token)


@contextmanager
def no_tenant() -> Iterator[None]:
    """Leave any tenant for the block: platform pages that must not see tenant-owned rows."""
    token = _current_tenant.set(None)
    try:
        yield
    finally:
        _current_tenant.reset(token)
