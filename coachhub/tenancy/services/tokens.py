"""API tokens: a user's key for one tenant's API, shown once and kept only as a hash."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone

from ..models import ApiToken, Tenant, User, hash_secret
from .audit import audit_record


@transaction.atomic
def api_token_create(*, tenant: Tenant, user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the token and its raw key; only the hash is kept, so the key is shown once."""
    name = (name or "").strip() or "API token"
    raw = "chk_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.for_tenant(tenant).create(
        tenant=tenant, user=user, name=name[:100], prefix=raw[:12], key_hash=hash_secret(raw)
    )
    audit_record(tenant=tenant, actor=user, action="api_token.created", summary=f"API token “{name}” created", target=token)
    return token, raw


@transaction.atomic
def api_token_revoke(*, tenant: Tenant, user: User, token: ApiToken) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(tenant=tenant, actor=user, action="api_token.revoked", summary=f"API token “{token.name}” revoked", target=token)
