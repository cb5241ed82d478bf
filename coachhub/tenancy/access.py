"""Role checks shared by pages and the API, so both enforce the same rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from inspect import iscoroutinefunction

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from .models import Membership, Role

ALL_ROLES = frozenset(Role.values)
ADMIN = frozenset({Role.TENANT_ADMIN})
AUTHORS = frozenset({Role.ENABLEMENT_LEAD, Role.TENANT_ADMIN})
ASSIGNERS = frozenset({Role.MANAGER, Role.ENABLEMENT_LEAD, Role.TENANT_ADMIN})
REVIEWERS = frozenset({Role.MANAGER, Role.ENABLEMENT_LEAD, Role.TENANT_ADMIN})


def require_role(membership: Membership | None, roles: Iterable[str]) -> Membership:
    """403 for a member of this tenant whose role can't do it (non-members never get this far)."""
    if membership is None or membership.role not in roles:
        raise PermissionDenied("Your role can't do that.")
    return membership


def role_required(roles: Iterable[str]) -> Callable:
    """Page-view decorator (sync or async views): the middleware already made sure the user is a
    member of the tenant; this checks their role."""
    roles = frozenset(roles)

    def decorator(view: Callable) -> Callable:
        if iscoroutinefunction(view):

            @wraps(view)
            async def async_wrapper(request: HttpRequest, *args, **kwargs):
                require_role(request.membership, roles)
                return await view(request, *args, **kwargs)

            async_wrapper.allowed_roles = roles
            return async_wrapper

        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            require_role(request.membership, roles)
            return view(request, *args, **kwargs)

        wrapper.allowed_roles = roles
        return wrapper

    return decorator
