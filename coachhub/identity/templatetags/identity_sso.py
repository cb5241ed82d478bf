"""Template helpers of the e-mail-first login."""

from __future__ import annotations

from django import template

from .. import selectors

register = template.Library()


@register.simple_tag
def sso_workspaces_for(email) -> list:
    """The workspaces that sign in this address's domain with single sign-on (domain-level: says
    nothing about whether the address has an account)."""
    email = str(email or "").strip().lower()
    return selectors.sso_tenants_for_email(email=email) if "@" in email else []
