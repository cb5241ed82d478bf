"""Password sign-in that respects SSO enforcement: a member of a tenant that enforces single
sign-on gets a clear refusal instead of a session, unless that tenant named them a break-glass admin."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from . import selectors


class SsoEnforcingModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            return None
        blocking = selectors.sso_enforcing_tenants_for(user=user)
        if blocking:
            from coachhub.tenancy.services import audit_record

            names = ", ".join(tenant.name for tenant in blocking)
            for tenant in blocking:
                audit_record(tenant=tenant, actor=None, action="sso.password_refused",
                             summary=f"Password sign-in refused for {user.email}: SSO is enforced",
                             data={"email": user.email})
            # A ValidationError reaches the login form as its error message (authenticate() only
            # swallows PermissionDenied).
            raise ValidationError(
                f"{names} requires single sign-on: use “Continue with single sign-on” with your work e-mail.",
                code="sso_required",
            )
        return user
