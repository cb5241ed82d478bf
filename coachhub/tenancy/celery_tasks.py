"""How every Celery task is declared: `task` gives it its explicit name and its time limits from
settings (CELERY_TASK_TIME_LIMITS), `tenant_task` also enters the tenant its `tenant_id` names, and
`each_active_tenant()` walks the tenants for the sweepers, each inside its own tenant context."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterator
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db.models import QuerySet

from .context import tenant_context
from .models import Tenant

logger = logging.getLogger(__name__)


def time_limits(name: str) -> tuple[int, int]:
    """The (soft, hard) time limits in seconds of the task called `name`: its own entry in
    CELERY_TASK_TIME_LIMITS, else the app-wide CELERY_TASK_SOFT_TIME_LIMIT/CELERY_TASK_TIME_LIMIT."""
    limits = settings.CELERY_TASK_TIME_LIMITS.get(name)
    if limits is None:
        return settings.CELERY_TASK_SOFT_TIME_LIMIT, settings.CELERY_TASK_TIME_LIMIT
    return limits


def task(*, name: str, **options: Any) -> Callable:
    """`shared_task` with an explicit name and the time limits settings give that name."""
    if "time_limit" in options or "soft_time_limit" in options:
        raise TypeError(f"{name}: time limits live in settings.CELERY_TASK_TIME_LIMITS, not on the decorator")
    soft, hard = time_limits(name)
    return shared_task(name=name, soft_time_limit=soft, time_limit=hard, **options)


def tenant_task(*, name: str, if_tenant_gone: Any = None, **options: Any) -> Callable:
    """A task that works inside one tenant.

    Callers pass `tenant_id` (a keyword, like every other id); the body is written with a `tenant`
    parameter instead and runs inside that tenant's context. When the tenant is gone or deactivated
    the body doesn't run: that is logged and the task returns `if_tenant_gone`. Everything else
    (name, retries, `bind`, acks) is passed to `task` unchanged."""

    def decorate(body: Callable) -> Any:
        signature = inspect.signature(body)
        if "tenant" not in signature.parameters or signature.parameters["tenant"].kind is not inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(f"{name}: a tenant task's body takes `tenant` as a keyword-only parameter")

        @functools.wraps(body)
        def run(*args: Any, tenant_id: int, **kwargs: Any) -> Any:
            tenant = Tenant.objects.filter(id=tenant_id, is_active=True).first()
            if tenant is None:
                logger.info("%s: tenant %s is gone or inactive; nothing to do.", name, tenant_id)
                return if_tenant_gone
            with tenant_context(tenant):
                return body(*args, tenant=tenant, **kwargs)

        # Celery checks call arguments against the task's signature: callers see `tenant_id`.
        run.__signature__ = signature.replace(parameters=[
            parameter.replace(name="tenant_id", annotation=int) if parameter.name == "tenant" else parameter
            for parameter in signature.parameters.values()
        ])
        return task(name=name, **options)(run)

    return decorate


def each_tenant(tenants: QuerySet[Tenant]) -> Iterator[Tenant]:
    """Yields each of `tenants` in id order; the loop body runs inside that tenant's context."""
    for tenant in tenants.order_by("id"):
        with tenant_context(tenant):
            yield tenant


def each_active_tenant() -> Iterator[Tenant]:
    """What a sweeper walks: every active tenant, in id order, each inside its own tenant context."""
    return each_tenant(Tenant.objects.filter(is_active=True))
