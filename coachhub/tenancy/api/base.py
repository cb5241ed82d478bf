"""The one base class every tenant API view stands on.

It resolves the tenant from the URL, checks the caller's membership (404 for outsiders, so a
foreign tenant is indistinguishable from a missing one), binds API tokens to their tenant, checks
the caller's role against a per-method (or per-action) map, and scopes querysets. Subclasses
declare `role_map` and implement `scoped_queryset()`; a subclass that overrides one of the hooks
doing that work (SCOPING_HOOKS) is refused with a TypeError when its class is created.
"""

from __future__ import annotations

from rest_framework import exceptions, viewsets

from ..access import ALL_ROLES
from ..models import ApiToken, Membership, Tenant
from ..selectors import membership_for_user

# What resolves the tenant, checks membership and role, and scopes what a view reads and serializes.
# What a view may say instead: `role_map`, `scoped_queryset()`, and `get_object()` (which still reads
# through the scoped queryset).
SCOPING_HOOKS = ("initial", "resolve_tenant", "allowed_roles", "check_role", "get_queryset", "get_serializer_context")


class TenantAPIMixin:
    # HTTP method (or viewset action) -> roles allowed. A method missing here is refused (403).
    role_map: dict[str, frozenset[str]] = {}
    model = None

    tenant: Tenant
    membership: Membership

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # By resolution, not by the class's own __dict__: a mixin listed before the base counts too.
        overridden = [hook for hook in SCOPING_HOOKS if getattr(cls, hook) is not getattr(TenantAPIMixin, hook)]
        if overridden:
            raise TypeError(
                f"{cls.__module__}.{cls.__qualname__} overrides {', '.join(overridden)} of the tenant API base; "
                "declare role_map and implement scoped_queryset() instead."
            )

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, IsAuthenticated, throttles
        self.tenant, self.membership = self.resolve_tenant(request)
        self.check_role(request)

    def resolve_tenant(self, request) -> tuple[Tenant, Membership]:
        """The URL's tenant and the caller's membership in it; 404 for anyone outside it."""
        tenant = getattr(request._request, "tenant", None)
        if tenant is None:
            raise exceptions.NotFound()
        if isinstance(request.auth, ApiToken) and request.auth.tenant_id != tenant.id:
            raise exceptions.NotFound()
        membership = membership_for_user(tenant=tenant, user=request.user)
        if membership is None:
            raise exceptions.NotFound()
        membership.tenant = tenant
        return tenant, membership

    def allowed_roles(self, request) -> frozenset[str]:
        if request.method == "OPTIONS":
            return ALL_ROLES
        action = getattr(self, "action", None)
        if action and action in self.role_map:
            return self.role_map[action]
        method = "GET" if request.method == "HEAD" else request.method
        return self.role_map.get(method, frozenset())

    def check_role(self, request) -> None:
        if self.membership.role not in self.allowed_roles(request):
            raise exceptions.PermissionDenied("Your role can't do that.")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model._base_manager.none()
        return self.scoped_queryset()

    def scoped_queryset(self):
        raise NotImplementedError

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if hasattr(self, "tenant"):
            context.update(tenant=self.tenant, membership=self.membership)
        return context


class TenantViewSet(TenantAPIMixin, viewsets.GenericViewSet):
    lookup_value_regex = r"\d+"
