"""Reads of tenants, memberships, teams and invitations. Every read names its tenant."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.models import Expression, JSONField, Prefetch, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import JSONObject
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import (
    AISettings,
    ApiToken,
    AuditEvent,
    Invitation,
    Membership,
    Role,
    Team,
    TeamMembership,
    TeamRole,
    Tenant,
    User,
    hash_secret,
)


def tenant_get_by_slug(*, slug: str) -> Tenant:
    return get_object_or_404(Tenant, slug=slug, is_active=True)


def user_memberships(*, user: User) -> list[Membership]:
    """The user's own memberships across tenants, for the tenant switcher.

    Crosses tenants on purpose, but only ever for one user's own rows.
    """
    if not user.is_authenticated:
        return []
    return list(
        Membership.objects.all_tenants()
        .filter(user=user, is_active=True, tenant__is_active=True)
        .select_related("tenant")
        .order_by("tenant__name")
    )


def membership_by_tenant_slug(*, slug: str, user: User) -> Membership | None:
    """The user's active membership in the active tenant `slug`, with its tenant, in one query.

    Looked up by the user before any tenant is in context (the page middleware): crosses tenants
    only for this one user's own row."""
    if not user.is_authenticated:
        return None
    membership = (
        Membership.objects.all_tenants()
        .select_related("tenant")
        .filter(tenant__slug=slug, tenant__is_active=True, user=user, is_active=True)
        .order_by("pk")  # one row at most; the default ordering would join users just to sort it
        .first()
    )
    if membership is not None:
        membership.user = user  # already loaded by authentication
    return membership


def membership_for_user(*, tenant: Tenant, user: User) -> Membership | None:
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.for_tenant(tenant).filter(user=user, is_active=True).select_related("user").first()
    )


def membership_get(*, tenant: Tenant, membership_id: int) -> Membership:
    return get_object_or_404(Membership.objects.for_tenant(tenant).select_related("user"), id=membership_id)


def member_list(*, tenant: Tenant) -> QuerySet[Membership]:
    return (
        Membership.objects.for_tenant(tenant)
        .select_related("user")
        .prefetch_related(
            Prefetch(
                "team_links",
                queryset=TeamMembership.objects.for_tenant(tenant).select_related("team"),
            )
        )
        .order_by("user__email")
    )


def team_get(*, tenant: Tenant, team_id: int) -> Team:
    return get_object_or_404(Team.objects.for_tenant(tenant), id=team_id)


def team_list(*, tenant: Tenant) -> QuerySet[Team]:
    return Team.objects.for_tenant(tenant).prefetch_related(
        Prefetch(
            "links",
            queryset=TeamMembership.objects.for_tenant(tenant).select_related("membership__user"),
        )
    )


def team_get_by_name(*, tenant: Tenant, name: str) -> Team | None:
    return Team.objects.for_tenant(tenant).filter(name__iexact=name.strip()).first()


def visible_rep_memberships(*, membership: Membership) -> QuerySet[Membership]:
    """Whose practice data this member may see: a rep themself, a manager their teams' reps,
    enablement leads and admins everyone in the tenant."""
    tenant = membership.tenant
    members = Membership.objects.for_tenant(tenant)
    if membership.role == Role.REP:
        return members.filter(id=membership.id)
    if membership.role == Role.MANAGER:
        coached_teams = TeamMembership.objects.for_tenant(tenant).filter(
            membership=membership, kind=TeamRole.COACH
        )
        member_ids = TeamMembership.objects.for_tenant(tenant).filter(
            team_id__in=coached_teams.values("team_id"), kind=TeamRole.MEMBER
        )
        return members.filter(id__in=member_ids.values("membership_id"))
    return members


def invitation_list(*, tenant: Tenant) -> QuerySet[Invitation]:
    return Invitation.objects.for_tenant(tenant).select_related("team", "invited_by")


def invitation_get(*, tenant: Tenant, invitation_id: int) -> Invitation:
    return get_object_or_404(Invitation.objects.for_tenant(tenant), id=invitation_id)


def invitation_get_by_token(*, raw_token: str) -> Invitation:
    """The invitation behind an emailed link. The token is the only key; it names its own tenant."""
    invitation = (
        Invitation.objects.all_tenants()
        .select_related("tenant", "team")
        .filter(token_hash=hash_secret(raw_token))
        .first()
    )
    if invitation is None:
        raise Http404("This invitation link is not valid.")
    return invitation


def api_token_by_key(*, raw_key: str) -> ApiToken | None:
    """Looks a presented API key up before any tenant is known; the caller checks its tenant."""
    return (
        ApiToken.objects.all_tenants()
        .select_related("user", "tenant")
        .filter(key_hash=hash_secret(raw_key), revoked_at__isnull=True)
        .first()
    )


def api_token_list(*, tenant: Tenant, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.for_tenant(tenant).filter(user=user, revoked_at__isnull=True)


def audit_event_list(*, tenant: Tenant) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.for_tenant(tenant).select_related("actor")


def invitation_is_open(invitation: Invitation) -> bool:
    return (
        invitation.accepted_at is None
        and invitation.revoked_at is None
        and invitation.expires_at > timezone.now()
    )


def ai_settings_get(*, tenant: Tenant) -> AISettings:
    """The tenant's AI settings, or unsaved defaults (embedded engines) when never configured."""
    return AISettings.objects.for_tenant(tenant).first() or AISettings(tenant=tenant)


# What `ai_settings_in_query` carries: every column but the timestamp, whose JSON spelling differs
# between databases and which nothing on the hot path reads.
_AI_SETTINGS_IN_QUERY = tuple(
    field for field in AISettings._meta.concrete_fields if field.attname not in ("tenant_id", "updated_at")
)
# The databases' own JSON object builders. Spelled out rather than through JSONObject, whose
# expression tree costs more to compile than the query it saves (~1.4 ms against ~0.1 ms here).
_JSON_OBJECT_SQL = {"postgresql": "jsonb_build_object", "sqlite": "json_object"}


def ai_settings_in_query(*, tenant: Tenant) -> Expression:
    """The tenant's AI settings as one JSON value, to read them in a statement that is made anyway
    (the turn's session lock) instead of a query of their own; `ai_settings_from_query` turns the
    value back into the row. Always this tenant's row (named here, and fenced by row-level security),
    read afresh with the statement: nothing is cached, so a changed setting applies to the next one."""
    build = _JSON_OBJECT_SQL.get(connection.vendor)
    if build is None:
        row = AISettings.objects.for_tenant(tenant).filter(tenant_id=tenant.id)
        fields = {field.attname: field.attname for field in _AI_SETTINGS_IN_QUERY}
        return Subquery(row.values(json=JSONObject(**fields))[:1])
    quote = connection.ops.quote_name
    pairs = ", ".join(f"'{field.attname}', {quote(field.column)}" for field in _AI_SETTINGS_IN_QUERY)
    sql = f"(SELECT {build}({pairs}) FROM {quote(AISettings._meta.db_table)} WHERE tenant_id = %s LIMIT 1)"
    return RawSQL(sql, [tenant.id], output_field=JSONField())


def ai_settings_from_query(*, tenant: Tenant, value: dict | None) -> AISettings:
    """The row `ai_settings_in_query` read, as a copy to read (its `updated_at` isn't the row's), or
    the unsaved defaults as `ai_settings_get` gives them when the tenant never configured AI."""
    if not value:
        return AISettings(tenant=tenant)
    return AISettings(tenant=tenant, **{field.attname: value.get(field.attname) for field in _AI_SETTINGS_IN_QUERY})


def tenant_llm_config(*, tenant: Tenant, ai_settings: AISettings | None = None):
    """The tenant's own OpenAI-compatible endpoint if its admin set one, else the deployment's
    default (None when neither is configured). Used by the LLM customer and the LLM judge. Pass
    the tenant's `ai_settings` row when the caller already read it."""
    from coachhub.core.crypto import decrypt_secret
    from coachhub.core.llm import LLMConfig, default_llm_config

    row = ai_settings if ai_settings is not None else ai_settings_get(tenant=tenant)
    if row.llm_base_url and row.llm_model:
        # The tenant picks the endpoint; timeouts and retries stay the deployment's.
        return LLMConfig(
            base_url=row.llm_base_url,
            model=row.llm_model,
            api_key=decrypt_secret(row.llm_api_key_encrypted),
            timeout_s=float(settings.LLM_TIMEOUT_S),
            max_retries=int(settings.LLM_MAX_RETRIES),
            # The deployment's own endpoint may be private (a vLLM next door); a tenant's may not.
            allow_private=bool(settings.LLM_ALLOW_PRIVATE_ENDPOINTS),
        )
    return default_llm_config()
