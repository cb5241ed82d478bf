"""A tenant's AI settings: engines, its own OpenAI-compatible endpoint (key encrypted at rest) and token budgets."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from coachhub.core.crypto import encrypt_secret
from coachhub.core.errors import ApplicationError
from coachhub.core.llm import endpoint_problem

from ..models import AISettings, Tenant, User
from .audit import audit_record


@transaction.atomic
def ai_settings_update(
    *,
    tenant: Tenant,
    actor: User,
    customer_engine: str,
    scorer_engine: str,
    llm_base_url: str = "",
    llm_model: str = "",
    llm_api_key: str = "",
    clear_api_key: bool = False,
    monthly_token_budget: int | None = None,
    per_minute_token_budget: int | None = None,
    block_publish_without_realism_check: bool | None = None,
) -> AISettings:
    """Saves the tenant's AI settings. A new API key replaces the stored one (encrypted); an empty
    one keeps it, unless the endpoint's host changed: a saved key is never sent to a new host, so
    the admin types it again (or removes it). The endpoint must be http(s) and, unless the operator
    allows private endpoints, public. The audit entry records what changed, never the key itself."""
    llm_base_url = llm_base_url.strip()
    if llm_base_url:
        problem = endpoint_problem(llm_base_url, allow_private=settings.LLM_ALLOW_PRIVATE_ENDPOINTS)
        if problem:
            raise ApplicationError(problem, code="llm_endpoint_refused", fields={"llm_base_url": [problem]})
    row = AISettings.objects.for_tenant(tenant).select_for_update().first() or AISettings(tenant=tenant)
    if (
        row.llm_api_key_encrypted and not llm_api_key and not clear_api_key
        and _endpoint_origin(row.llm_base_url) != _endpoint_origin(llm_base_url)
    ):
        message = (
            "The endpoint's host changed, so the saved API key won't be sent there: enter the key for the new "
            "endpoint, or tick “Remove the saved API key” if it needs none."
        )
        raise ApplicationError(message, code="llm_api_key_required", fields={"llm_api_key": [message]})
    tracked = ("customer_engine", "scorer_engine", "llm_base_url", "llm_model",
               "monthly_token_budget", "per_minute_token_budget", "block_publish_without_realism_check")
    before = {key: getattr(row, key) for key in tracked}
    if block_publish_without_realism_check is not None:  # None: a caller that doesn't manage it keeps it
        row.block_publish_without_realism_check = block_publish_without_realism_check
    row.monthly_token_budget, row.per_minute_token_budget = monthly_token_budget, per_minute_token_budget
    row.customer_engine, row.scorer_engine = customer_engine, scorer_engine
    row.llm_base_url, row.llm_model = llm_base_url, llm_model.strip()
    key_change = None
    if clear_api_key:
        row.llm_api_key_encrypted, key_change = "", "removed"
    elif llm_api_key:
        row.llm_api_key_encrypted, key_change = encrypt_secret(llm_api_key.strip()), "replaced"
    row.updated_at = timezone.now()
    row.save()
    after = {key: getattr(row, key) for key in tracked}
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if key_change:
        changes["llm_api_key"] = key_change
    if changes:
        audit_record(tenant=tenant, actor=actor, action="settings.ai_changed",
                     summary="AI settings changed: " + ", ".join(changes), target=row, data=changes)
    return row


def _endpoint_origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port: what decides where a request (and the key in it) goes."""
    try:
        parts = urlsplit(url or "")
        return parts.scheme, (parts.hostname or ""), parts.port
    except ValueError:
        return "", url or "", None
