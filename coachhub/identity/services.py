"""Writes of the identity app: SCIM tokens, provisioning people and teams from SCIM resources, and
deprovisioning (membership ended, tokens revoked, sessions ended) in one transaction.

Every write here records an audit event; the actor of a SCIM write is the token, named in the event."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from coachhub.tenancy.models import (
    ApiToken,
    Membership,
    Role,
    Team,
    TeamMembership,
    TeamRole,
    Tenant,
    User,
    hash_secret,
)
from coachhub.tenancy.services import audit_record

from .models import ScimGroup, ScimGroupMember, ScimToken, ScimUser, SignedInSession
from .scim.schema import ENTERPRISE_ATTRIBUTES, ENTERPRISE_URN, USER_ATTRIBUTES, GroupResource, UserResource

SCIM_TOKEN_PREFIX = "scim_"


@dataclass
class ScimError(Exception):
    """A request SCIM refuses, with RFC 7644's status and scimType and a detail for people."""

    status: int
    detail: str
    scim_type: str | None = None

    def __str__(self) -> str:
        return self.detail


# --- tokens -------------------------------------------------------------------------------------


@transaction.atomic
def scim_token_create(*, tenant: Tenant, actor: User, name: str) -> tuple[ScimToken, str]:
    name = (name or "").strip()
    if not name:
        raise ScimError(400, "Give the token a name, e.g. “Okta” or “Entra ID”.")
    raw = SCIM_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ScimToken.objects.for_tenant(tenant).create(
        tenant=tenant, name=name[:100], prefix=raw[:12], key_hash=hash_secret(raw), created_by=actor
    )
    audit_record(tenant=tenant, actor=actor, action="scim_token.created", summary=f"SCIM token “{token.name}” created",
                 target=token)
    return token, raw


@transaction.atomic
def scim_token_revoke(*, tenant: Tenant, actor: User, token: ScimToken) -> None:
    if token.revoked_at is not None:
        return
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(tenant=tenant, actor=actor, action="scim_token.revoked", summary=f"SCIM token “{token.name}” revoked",
                 target=token)


def scim_token_touch(*, token: ScimToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ScimToken.objects.for_tenant(token.tenant).filter(pk=token.pk).update(last_used_at=now)


# --- sessions and deprovisioning ------------------------------------------------------------------


def sessions_end_for_user(*, user: User) -> int:
    """Deletes every session the person signed in with: their next request, anywhere, is anonymous."""
    from django.conf import settings

    store: type[SessionBase] = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    keys = list(SignedInSession.objects.filter(user=user).values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    SignedInSession.objects.filter(user=user, session_key__in=keys).delete()
    return len(keys)


def membership_deprovision(*, tenant: Tenant, membership: Membership, via: str) -> dict[str, int]:
    """Ends a membership the identity provider removed. The practice history stays with the tenant
    (sessions, scores and KPIs point at the membership, which is kept, inactive) until the tenant's
    retention policy or an erasure removes it. The person's API tokens for this tenant are revoked.
    Their sessions are all ended unless they still belong to another workspace: a tenant's IdP
    can't sign a person out of a workspace it doesn't govern (access to this one ends at once anyway,
    because every page and API call checks the active membership)."""
    if not membership.is_active:
        return {"sessions_ended": 0, "tokens_revoked": 0}
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    tokens_revoked = ApiToken.objects.for_tenant(tenant).filter(
        user=membership.user, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    still_elsewhere = not _only_here(membership.user, tenant)
    sessions_ended = 0 if still_elsewhere else sessions_end_for_user(user=membership.user)
    audit_record(
        tenant=tenant, actor=None, action="member.deprovisioned",
        summary=f"{membership.user.email} deprovisioned by {via}", target=membership,
        data={"via": via, "sessions_ended": sessions_ended, "api_tokens_revoked": tokens_revoked},
    )
    return {"sessions_ended": sessions_ended, "tokens_revoked": tokens_revoked}


# --- SCIM users ---------------------------------------------------------------------------------


def _stored(resource: Any, keep: set[str], extension: tuple[str, set[str]] | None = None) -> dict:
    """The declared attributes of a resource, as JSON, without the server-owned ones."""
    from scim2_models import Context

    document = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    stored = {key: value for key, value in document.items() if key in keep and key not in ("groups", "members")}
    if extension is not None:
        urn, sub_keep = extension
        part = {key: value for key, value in (document.get(urn) or {}).items() if key in sub_keep}
        if part:
            stored[urn] = part
    return stored


def _email_of(resource: UserResource) -> str:
    """The person's address: the primary e-mail, else the work one, else the first, else a userName
    that is an address (Okta's default)."""
    emails = [e for e in (resource.emails or []) if getattr(e, "value", None)]
    chosen = (
        next((e for e in emails if e.primary), None)
        or next((e for e in emails if str(e.type or "").lower() == "work"), None)
        or (emails[0] if emails else None)
    )
    candidate = (chosen.value if chosen else resource.user_name) or ""
    candidate = candidate.strip().lower()
    try:
        validate_email(candidate)
    except ValidationError:
        if chosen is not None:
            raise ScimError(400, f"“{candidate}” is not a valid e-mail address.", "invalidValue") from None
        return ""
    return candidate


def _full_name_of(resource: UserResource) -> str:
    if resource.display_name:
        return resource.display_name.strip()[:150]
    name = resource.name
    if name is None:
        return ""
    if name.formatted:
        return name.formatted.strip()[:150]
    return " ".join(part for part in (name.given_name, name.family_name) if part).strip()[:150]


def _only_here(user: User, tenant: Tenant) -> bool:
    from coachhub.tenancy.selectors import user_memberships

    return all(m.tenant_id == tenant.pk for m in user_memberships(user=user))


def _link_membership(*, tenant: Tenant, scim_user: ScimUser, email: str, full_name: str) -> Membership | None:
    """Finds or creates the CoachHub member this SCIM user is. A person already in the workspace
    (invited before SCIM was set up) is adopted, not duplicated."""
    membership = scim_user.membership
    if membership is not None and membership.user.email != email:
        user = membership.user
        if not _only_here(user, tenant):
            raise ScimError(
                409, f"{user.email} also belongs to other workspaces, so their e-mail address can't be changed "
                     "from this one.", "uniqueness",
            )
        if User.objects.filter(email=email).exclude(pk=user.pk).exists():
            raise ScimError(409, f"Another CoachHub account already uses {email}.", "uniqueness")
        user.email = email
        user.save(update_fields=["email"])
    if membership is None:
        if not email:
            return None
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=None, full_name=full_name)
        membership = Membership.objects.for_tenant(tenant).filter(user=user).first()
        if membership is None:
            membership = Membership.objects.for_tenant(tenant).create(tenant=tenant, user=user, role=Role.REP)
            audit_record(tenant=tenant, actor=None, action="member.provisioned",
                         summary=f"{email} provisioned by SCIM", target=membership, data={"via": "scim"})
        elif ScimUser.objects.for_tenant(tenant).filter(membership=membership).exclude(pk=scim_user.pk).exists():
            raise ScimError(409, f"{email} is already provisioned as another SCIM user.", "uniqueness")
    if full_name and membership.user.full_name != full_name and _only_here(membership.user, tenant):
        membership.user.full_name = full_name
        membership.user.save(update_fields=["full_name"])
    return membership


def _write_user(*, tenant: Tenant, token: ScimToken, scim_user: ScimUser, resource: UserResource) -> ScimUser:
    if not resource.user_name or not resource.user_name.strip():
        raise ScimError(400, "userName is required.", "invalidValue")
    user_name = resource.user_name.strip()
    clash = ScimUser.objects.for_tenant(tenant).filter(user_name_folded=user_name.casefold())
    if scim_user.pk:
        clash = clash.exclude(pk=scim_user.pk)
    if clash.exists():
        raise ScimError(409, f"A user with userName “{user_name}” already exists.", "uniqueness")
    email = _email_of(resource)
    active = resource.active is not False
    was_active = scim_user.active if scim_user.pk else True
    scim_user.user_name = user_name[:255]
    scim_user.user_name_folded = user_name.casefold()[:255]
    scim_user.external_id = resource.external_id
    scim_user.email = email
    scim_user.display_name = _full_name_of(resource)
    scim_user.active = active
    scim_user.resource = _stored(resource, USER_ATTRIBUTES, (ENTERPRISE_URN, ENTERPRISE_ATTRIBUTES))
    if scim_user.pk:
        scim_user.version += 1
        scim_user.updated_at = timezone.now()
    try:
        with transaction.atomic():
            scim_user.save()
    except IntegrityError:
        raise ScimError(409, f"A user with userName “{user_name}” already exists.", "uniqueness") from None
    membership = _link_membership(tenant=tenant, scim_user=scim_user, email=email, full_name=scim_user.display_name)
    if membership is not None and scim_user.membership_id != membership.pk:
        scim_user.membership = membership
        scim_user.save(update_fields=["membership"])
        for group in ScimGroup.objects.for_tenant(tenant).filter(member_rows__scim_user=scim_user).select_related("team"):
            _sync_team_links(tenant=tenant, group=group)
    if membership is not None:
        if not active:
            membership_deprovision(tenant=tenant, membership=membership, via=f"SCIM token “{token.name}”")
        elif not membership.is_active:
            membership.is_active = True
            membership.save(update_fields=["is_active"])
            audit_record(tenant=tenant, actor=None, action="member.reactivated",
                         summary=f"{membership.user.email} reactivated by SCIM", target=membership,
                         data={"via": "scim"})
    if was_active != active and membership is None:
        audit_record(tenant=tenant, actor=None, action="scim_user.active_changed",
                     summary=f"SCIM user {user_name} set {'active' if active else 'inactive'}", target=scim_user)
    return scim_user


@transaction.atomic
def scim_user_create(*, tenant: Tenant, token: ScimToken, resource: UserResource) -> ScimUser:
    scim_user = _write_user(tenant=tenant, token=token, scim_user=ScimUser(tenant=tenant), resource=resource)
    audit_record(tenant=tenant, actor=None, action="scim_user.created",
                 summary=f"SCIM user {scim_user.user_name} created by token “{token.name}”", target=scim_user)
    return scim_user


@transaction.atomic
def scim_user_replace(*, tenant: Tenant, token: ScimToken, scim_user: ScimUser, resource: UserResource) -> ScimUser:
    ScimUser.objects.for_tenant(tenant).select_for_update().filter(pk=scim_user.pk).first()
    return _write_user(tenant=tenant, token=token, scim_user=scim_user, resource=resource)


@transaction.atomic
def scim_user_delete(*, tenant: Tenant, token: ScimToken, scim_user: ScimUser) -> None:
    """DELETE ends the membership (history kept) and forgets the SCIM resource."""
    if scim_user.membership is not None:
        membership_deprovision(tenant=tenant, membership=scim_user.membership, via=f"SCIM token “{token.name}”")
    audit_record(tenant=tenant, actor=None, action="scim_user.deleted",
                 summary=f"SCIM user {scim_user.user_name} deleted by token “{token.name}”", target=scim_user)
    scim_user.delete()


# --- SCIM groups (teams) --------------------------------------------------------------------------


def _member_ids(resource: GroupResource) -> list[str]:
    return [str(member.value) for member in (resource.members or []) if getattr(member, "value", None)]


def _sync_team_links(*, tenant: Tenant, group: ScimGroup) -> tuple[int, int]:
    """Makes the team's member links of provisioned people match the group's SCIM members. Links of
    people added by hand (no SCIM user) stay."""
    wanted = set(
        ScimGroupMember.objects.for_tenant(tenant).filter(group=group)
        .exclude(scim_user__membership=None).values_list("scim_user__membership_id", flat=True)
    )
    provisioned = set(ScimUser.objects.for_tenant(tenant).exclude(membership=None).values_list("membership_id", flat=True))
    links = TeamMembership.objects.for_tenant(tenant).filter(team=group.team, kind=TeamRole.MEMBER)
    current = set(links.values_list("membership_id", flat=True))
    stale = (current & provisioned) - wanted
    links.filter(membership_id__in=stale).delete()
    TeamMembership.objects.for_tenant(tenant).bulk_create([
        TeamMembership(tenant=tenant, team=group.team, membership_id=membership_id, kind=TeamRole.MEMBER)
        for membership_id in wanted - current
    ])
    return len(wanted - current), len(stale)


def _set_group_members(*, tenant: Tenant, group: ScimGroup, member_ids: list[str]) -> None:
    from .selectors import scim_users_by_ids

    found = scim_users_by_ids(tenant=tenant, scim_ids=member_ids)
    missing = [value for value in member_ids if value not in found]
    if missing:
        raise ScimError(400, f"No user with id {missing[0]} in this workspace.", "invalidValue")
    rows = ScimGroupMember.objects.for_tenant(tenant).filter(group=group)
    current = set(rows.values_list("scim_user_id", flat=True))
    wanted = {row.pk for row in found.values()}
    rows.filter(scim_user_id__in=current - wanted).delete()
    ScimGroupMember.objects.for_tenant(tenant).bulk_create([
        ScimGroupMember(tenant=tenant, group=group, scim_user_id=pk) for pk in wanted - current
    ])
    added, removed = _sync_team_links(tenant=tenant, group=group)
    if added or removed:
        audit_record(tenant=tenant, actor=None, action="scim_group.members_changed",
                     summary=f"Team {group.team.name}: {added} added, {removed} removed by SCIM", target=group.team,
                     data={"added": added, "removed": removed})


def _write_group(*, tenant: Tenant, group: ScimGroup | None, resource: GroupResource) -> ScimGroup:
    name = (resource.display_name or "").strip()
    if not name:
        raise ScimError(400, "displayName is required.", "invalidValue")
    if len(name) > 100:
        raise ScimError(400, "displayName is longer than 100 characters.", "invalidValue")
    teams = Team.objects.for_tenant(tenant)
    if group is None:
        team = teams.filter(name__iexact=name).first()
        if team is not None and ScimGroup.objects.for_tenant(tenant).filter(team=team).exists():
            raise ScimError(409, f"A group named “{name}” already exists.", "uniqueness")
        if team is None:
            team = teams.create(tenant=tenant, name=name)
        group = ScimGroup.objects.for_tenant(tenant).create(
            tenant=tenant, team=team, display_name=name, external_id=resource.external_id
        )
        audit_record(tenant=tenant, actor=None, action="scim_group.created",
                     summary=f"Team {name} linked to a SCIM group", target=team)
    else:
        if name != group.team.name:
            if teams.filter(name__iexact=name).exclude(pk=group.team_id).exists():
                raise ScimError(409, f"A team named “{name}” already exists.", "uniqueness")
            group.team.name = name
            group.team.save(update_fields=["name"])
        group.display_name = name
        group.external_id = resource.external_id
        group.version += 1
        group.updated_at = timezone.now()
        group.save()
    _set_group_members(tenant=tenant, group=group, member_ids=_member_ids(resource))
    return group


@transaction.atomic
def scim_group_create(*, tenant: Tenant, resource: GroupResource) -> ScimGroup:
    return _write_group(tenant=tenant, group=None, resource=resource)


@transaction.atomic
def scim_group_replace(*, tenant: Tenant, group: ScimGroup, resource: GroupResource) -> ScimGroup:
    return _write_group(tenant=tenant, group=group, resource=resource)


@transaction.atomic
def scim_group_delete(*, tenant: Tenant, group: ScimGroup) -> None:
    """The team stays (programs and reports may point at it); SCIM's member links and the SCIM
    resource go."""
    _set_group_members(tenant=tenant, group=group, member_ids=[])
    audit_record(tenant=tenant, actor=None, action="scim_group.deleted",
                 summary=f"SCIM group {group.display_name} deleted; team {group.team.name} kept", target=group.team)
    group.delete()


# --- single sign-on: providers -------------------------------------------------------------------------


class SsoRefused(Exception):
    """A sign-in the identity provider vouched for, which CoachHub still refuses; message for people."""


def _break_glass_set(*, tenant: Tenant, break_glass: list[Membership] | None, enforce_sso: bool) -> list[Membership]:
    """Saves the tenant's break-glass admins (shared by both protocols); enforcement needs one."""
    from .models import BreakGlassAdmin

    break_glass = [m for m in (break_glass or []) if m.tenant_id == tenant.pk and m.role == Role.TENANT_ADMIN and m.is_active]
    if enforce_sso and not break_glass:
        raise ScimError(400, "Name at least one break-glass admin before enforcing single sign-on, so a broken "
                             "identity provider can't lock everyone out.")
    kept = BreakGlassAdmin.objects.for_tenant(tenant)
    kept.exclude(membership__in=break_glass).delete()
    existing = set(kept.values_list("membership_id", flat=True))
    BreakGlassAdmin.objects.for_tenant(tenant).bulk_create(
        [BreakGlassAdmin(tenant=tenant, membership=m) for m in break_glass if m.pk not in existing]
    )
    return break_glass


def _switch_off_other_protocol(*, tenant: Tenant, keep: str) -> bool:
    """A tenant signs in through one identity provider at a time: saving one protocol turns the other off."""
    from .models import OidcProvider, SamlProvider

    other = SamlProvider if keep == "oidc" else OidcProvider
    return bool(other.objects.for_tenant(tenant).filter(enabled=True).update(enabled=False))


@transaction.atomic
def oidc_provider_save(
    *, tenant: Tenant, actor: User, issuer: str, client_id: str, client_secret: str, default_role: str,
    jit_enabled: bool, enforce_sso: bool = False, break_glass: list[Membership] | None = None,
):
    from coachhub.core.crypto import encrypt_secret

    from .models import OidcProvider
    from .oidc import issuer_problem

    issuer = issuer.strip().rstrip("/")
    problem = issuer_problem(issuer)
    if problem:
        raise ScimError(400, problem)
    if default_role not in Role.values:
        raise ScimError(400, "Unknown role.")
    row = OidcProvider.objects.for_tenant(tenant).first() or OidcProvider(tenant=tenant)
    row.issuer, row.client_id = issuer, client_id.strip()
    if client_secret:
        row.client_secret_encrypted = encrypt_secret(client_secret.strip())
    break_glass = _break_glass_set(tenant=tenant, break_glass=break_glass, enforce_sso=enforce_sso)
    row.default_role, row.jit_enabled, row.enabled, row.enforce_sso = default_role, jit_enabled, True, enforce_sso
    row.updated_at = timezone.now()
    row.save()
    saml_off = _switch_off_other_protocol(tenant=tenant, keep="oidc")
    audit_record(tenant=tenant, actor=actor, action="sso.oidc_configured",
                 summary=f"OpenID Connect provider set to {issuer}" + (" (SAML turned off)" if saml_off else ""),
                 target=row,
                 data={"issuer": issuer, "client_id": row.client_id, "jit": jit_enabled, "default_role": default_role,
                       "enforce_sso": enforce_sso, "break_glass": sorted(m.user.email for m in break_glass)})
    return row


def saml_provider_save(
    *, tenant: Tenant, actor: User | None, metadata_xml: str = "", metadata_url: str = "", default_role: str = Role.REP,
    jit_enabled: bool = True, enforce_sso: bool = False, allow_idp_initiated: bool = True,
    break_glass: list[Membership] | None = None,
):
    """Saves the tenant's SAML identity provider from its metadata (pasted or uploaded XML, or read
    from its URL server-side); without new metadata the saved one is kept. Bad metadata is refused
    with the reason and nothing is saved."""
    from .models import SamlProvider
    from .saml import SamlError, fetch_metadata, parse_idp_metadata

    if default_role not in Role.values:
        raise ScimError(400, "Unknown role.")
    row = SamlProvider.objects.for_tenant(tenant).first() or SamlProvider(tenant=tenant)
    metadata_url = (metadata_url or "").strip()
    try:
        if metadata_xml and metadata_xml.strip():
            xml, source = metadata_xml.strip(), ""
        elif metadata_url:
            xml, source = fetch_metadata(metadata_url), metadata_url  # outside the transaction: a network call
        elif row.pk:
            xml, source = row.metadata_xml, row.metadata_url
        else:
            raise SamlError("Give your identity provider's metadata: its URL, or the XML file.")
        info = parse_idp_metadata(xml)
    except SamlError as exc:
        raise ScimError(400, str(exc)) from None
    with transaction.atomic():
        break_glass = _break_glass_set(tenant=tenant, break_glass=break_glass, enforce_sso=enforce_sso)
        row.idp_entity_id, row.metadata_xml, row.metadata_url = info.entity_id[:1024], xml, source[:1024]
        row.default_role, row.jit_enabled, row.enforce_sso = default_role, jit_enabled, enforce_sso
        row.allow_idp_initiated, row.enabled, row.updated_at = allow_idp_initiated, True, timezone.now()
        row.save()
        oidc_off = _switch_off_other_protocol(tenant=tenant, keep="saml")
        audit_record(tenant=tenant, actor=actor, action="sso.saml_configured",
                     summary=f"SAML identity provider set to {info.entity_id}"[:250] + (" (OpenID Connect turned off)" if oidc_off else ""),
                     target=row,
                     data={"idp_entity_id": info.entity_id, "metadata_url": source, "sso_url": info.sso_url,
                           "signing_certificates": info.certificates, "jit": jit_enabled, "default_role": default_role,
                           "enforce_sso": enforce_sso, "allow_idp_initiated": allow_idp_initiated,
                           "break_glass": sorted(m.user.email for m in break_glass)})
    return row


# --- single sign-on: e-mail domains ------------------------------------------------------------------------


@transaction.atomic
def sso_domain_add(*, tenant: Tenant, actor: User, domain: str):
    from .models import SsoDomain

    domain = domain.strip().lower().lstrip("@").rstrip(".")
    if "." not in domain or any(c in domain for c in " /@:") or len(domain) > 253:
        raise ScimError(400, f"“{domain}” is not a domain name like acme.com.")
    row, created = SsoDomain.objects.for_tenant(tenant).get_or_create(tenant=tenant, domain=domain)
    if created:
        audit_record(tenant=tenant, actor=actor, action="sso.domain_added",
                     summary=f"Domain {domain} added; waiting for verification", target=row,
                     data={"txt_record": row.txt_record})
    return row


def sso_domain_verify_dns(*, tenant: Tenant, actor: User | None, domain) -> bool:
    """Looks up the domain's TXT records and verifies it when one is `coachhub-verify=<its token>`.
    A failure raises ScimError saying what was found; both outcomes are in the audit log."""
    from .dns import DnsLookupError, txt_records

    if domain.verified_at is not None:
        return True
    now = timezone.now()
    type(domain).objects.for_tenant(tenant).filter(pk=domain.pk).update(last_checked_at=now)
    try:
        records = txt_records(domain.domain)
    except DnsLookupError as exc:
        problem = str(exc)
    else:
        if domain.txt_record in records:
            with transaction.atomic():
                type(domain).objects.for_tenant(tenant).filter(pk=domain.pk).update(
                    verified_at=now, verified_via="dns", last_checked_at=now
                )
                audit_record(tenant=tenant, actor=actor, action="sso.domain_verified",
                             summary=f"Domain {domain.domain} verified by its DNS TXT record", target=domain,
                             data={"via": "dns"})
            domain.verified_at, domain.verified_via = now, "dns"
            return True
        found = [r for r in records if r.startswith("coachhub-verify=")]
        problem = (
            f"{domain.domain} has a coachhub-verify TXT record, but not this workspace's ({domain.txt_record})."
            if found else
            f"None of {domain.domain}'s {len(records)} TXT record(s) is {domain.txt_record}. DNS changes can take "
            "up to an hour to show; try again later."
        )
    audit_record(tenant=tenant, actor=actor, action="sso.domain_verification_failed",
                 summary=f"Domain {domain.domain} not verified: {problem}"[:300], target=domain, data={"reason": problem})
    raise ScimError(400, problem)


def sso_domain_approve(*, domain, operator: User | None) -> None:
    """The platform operator's route (Django admin): verifies without DNS."""
    if domain.verified_at is not None:
        return
    now = timezone.now()
    type(domain).objects.for_tenant(domain.tenant).filter(pk=domain.pk).update(verified_at=now, verified_via="operator")
    audit_record(tenant=domain.tenant, actor=None, action="sso.domain_verified",
                 summary=f"Domain {domain.domain} verified by a CoachHub operator", target=domain,
                 data={"via": "operator", "operator": getattr(operator, "email", "")})


# --- single sign-on: signing in ----------------------------------------------------------------------------


def _refuse(tenant: Tenant, email: str, reason: str) -> SsoRefused:
    audit_record(tenant=tenant, actor=None, action="sso.refused", summary=f"SSO sign-in refused for {email}: {reason}"[:300],
                 data={"email": email, "reason": reason})
    return SsoRefused(reason)


def sso_refusal_record(*, tenant: Tenant, reason: str, email: str = "(unknown)", protocol: str = "saml") -> SsoRefused:
    """Audits a response the protocol layer refused (bad signature, wrong audience, expired…)."""
    audit_record(tenant=tenant, actor=None, action="sso.refused", summary=f"SSO sign-in refused for {email}: {reason}"[:300],
                 data={"email": email, "reason": reason, "protocol": protocol})
    return SsoRefused(reason)


def _groups_of_identity(identity: dict) -> list[str]:
    groups = identity.get("groups") or []
    return [str(g) for g in groups] if isinstance(groups, list) else [str(groups)]


def _sso_sign_in(*, tenant: Tenant, provider, email: str, name: str, groups: list[str], via: str, label: str,
                 data: dict) -> User:
    """What any identity provider's validated sign-in means, whatever the protocol: only a
    verified domain of the tenant, only people of this workspace alone, membership created just
    in time when the tenant wants it, group mappings applied, everything audited."""
    from .selectors import sso_domain_list

    domain = email.rpartition("@")[2]
    if not sso_domain_list(tenant=tenant).filter(domain=domain, verified_at__isnull=False).exists():
        raise _refuse(tenant, email, f"{domain} is not a verified domain of {tenant.name}.")
    user = User.objects.filter(email=email).first()
    if user is not None and not _only_here(user, tenant):
        # This IdP governs this tenant only: a session it creates must not reach another workspace.
        raise _refuse(tenant, email, "This account also belongs to another workspace: sign in with your password.")
    membership = Membership.objects.for_tenant(tenant).filter(user=user).first() if user else None
    if (membership is None or not membership.is_active) and (not provider.jit_enabled or membership is not None):
        raise _refuse(tenant, email, f"{email} is not a member of {tenant.name}. Ask your administrator for access.")
    with transaction.atomic():
        created = False
        if membership is None:
            if user is None:
                user = User.objects.create_user(email=email, password=None, full_name=name[:150])
            mapped_role, _ = _mapped(tenant, groups)
            membership = Membership.objects.for_tenant(tenant).create(
                tenant=tenant, user=user, role=mapped_role or provider.default_role
            )
            created = True
            audit_record(tenant=tenant, actor=None, action="member.provisioned",
                         summary=f"{email} provisioned on first SSO sign-in as {membership.get_role_display()}",
                         target=membership, data={"via": via, **data})
        _apply_group_mappings(tenant=tenant, membership=membership, groups=groups, created=created)
        audit_record(tenant=tenant, actor=user, action="sso.signed_in", summary=f"{email} signed in with {label}",
                     target=membership, data={"via": via, **data})
    return user


def oidc_sign_in(*, tenant: Tenant, provider, identity: dict) -> User:
    """Turns a validated OpenID Connect identity into the CoachHub person to sign in, creating the
    membership when the tenant provisions just in time. Refusals are audited (outside the
    transaction that would create the membership, so the refusal is kept)."""
    email = str(identity.get("email") or "").strip().lower()
    if not email:
        raise _refuse(tenant, "(none)", "The identity provider sent no e-mail address.")
    if identity.get("email_verified") is not True:
        raise _refuse(tenant, email, f"The identity provider has not verified {email}, so CoachHub can't sign you in with it.")
    return _sso_sign_in(tenant=tenant, provider=provider, email=email, name=str(identity.get("name") or ""),
                        groups=_groups_of_identity(identity), via="oidc", label="OpenID Connect",
                        data={"issuer": provider.issuer, "sub": str(identity.get("sub", ""))})


def saml_request_remember(*, tenant: Tenant, request_id: str, next_url: str) -> None:
    from datetime import timedelta

    from .models import SamlPendingRequest

    now = timezone.now()
    pending = SamlPendingRequest.objects.for_tenant(tenant)
    pending.filter(expires_at__lt=now).delete()
    pending.create(tenant=tenant, request_id=request_id[:255], next_url=next_url[:2000],
                   expires_at=now + timedelta(minutes=10))


def saml_request_claim(*, tenant: Tenant, request_id: str) -> tuple[bool, str]:
    """Takes the outstanding request a response answers, once: (found and fresh, where to go next)."""
    from .models import SamlPendingRequest

    row = SamlPendingRequest.objects.for_tenant(tenant).filter(request_id=request_id).first()
    if row is None:
        return False, ""
    row.delete()
    return row.expires_at >= timezone.now(), row.next_url


def saml_sign_in(*, tenant: Tenant, provider, identity) -> User:
    """Turns a validated SAML assertion (`saml.SamlIdentity`) into the person to sign in. Each
    assertion signs in once: a replay is refused and audited."""
    from .models import SamlAssertionSeen

    email = identity.email
    if not email or "@" not in email:
        raise _refuse(tenant, email or "(none)", "The identity provider sent no e-mail address: send it as the NameID "
                                                 "(emailAddress format) or as an “email” attribute.")
    try:
        validate_email(email)
    except ValidationError:
        raise _refuse(tenant, email, f"“{email}” from the identity provider is not a valid e-mail address.") from None
    seen = SamlAssertionSeen.objects.for_tenant(tenant)
    seen.filter(expires_at__lt=timezone.now()).delete()
    try:
        with transaction.atomic():
            seen.create(tenant=tenant, assertion_id=identity.assertion_id[:255], expires_at=identity.expires_at)
    except IntegrityError:
        raise _refuse(tenant, email, "This assertion has already been used to sign in (a replay). Start again from "
                                     "the login page.") from None
    return _sso_sign_in(tenant=tenant, provider=provider, email=email, name=identity.name, groups=identity.groups,
                        via="saml", label="SAML", data={"idp": provider.idp_entity_id, "name_id": identity.name_id,
                                                         "assertion_id": identity.assertion_id})


# --- group → role and team mapping ---------------------------------------------------------------------

ROLE_PRIORITY = [Role.TENANT_ADMIN, Role.ENABLEMENT_LEAD, Role.MANAGER, Role.REP]


def _role_from_text(text: str) -> str | None:
    folded = text.strip().lower().replace(" ", "_")
    for value, label in Role.choices:
        if folded in (value, str(label).lower().replace(" ", "_")):
            return value
    return None


@transaction.atomic
def group_mappings_replace(*, tenant: Tenant, actor: User, text: str) -> int:
    """Replaces the tenant's mappings from lines like `cs-leads: enablement lead`,
    `tier-2: team Tier 2` or `managers: manager, team Tier 2`. Nothing is saved when a line is wrong."""
    from .models import GroupMapping

    rows, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.strip().startswith("#"):
            continue
        group, sep, rest = line.partition(":")
        if not sep or not group.strip() or not rest.strip():
            errors.append(f"line {number}: write “IdP group: role, team Team name”")
            continue
        role, team = "", None
        for part in (p.strip() for p in rest.split(",") if p.strip()):
            if part.lower().startswith("team "):
                name = part[5:].strip()
                team = Team.objects.for_tenant(tenant).filter(name__iexact=name).first()
                if team is None:
                    errors.append(f"line {number}: there is no team “{name}”")
            elif _role_from_text(part):
                role = _role_from_text(part)
            else:
                errors.append(f"line {number}: “{part}” is neither a role nor “team <name>”")
        rows.append(GroupMapping(tenant=tenant, group=group.strip()[:255], role=role, team=team))
    groups = [row.group.casefold() for row in rows]
    duplicates = sorted({g for g in groups if groups.count(g) > 1})
    if duplicates:
        errors.append(f"group “{duplicates[0]}” is mapped twice")
    if errors:
        raise ScimError(400, "; ".join(errors))
    GroupMapping.objects.for_tenant(tenant).delete()
    GroupMapping.objects.for_tenant(tenant).bulk_create(rows)
    audit_record(tenant=tenant, actor=actor, action="sso.group_mappings_changed",
                 summary=f"{len(rows)} IdP group mapping(s) saved",
                 data={"mappings": [[r.group, r.role, r.team.name if r.team else ""] for r in rows]})
    return len(rows)


def group_mappings_text(*, tenant: Tenant) -> str:
    from .models import GroupMapping

    lines = []
    for row in GroupMapping.objects.for_tenant(tenant).select_related("team"):
        parts = ([Role(row.role).label] if row.role else []) + ([f"team {row.team.name}"] if row.team else [])
        lines.append(f"{row.group}: {', '.join(parts)}")
    return "\n".join(lines)


def _mapped(tenant: Tenant, groups: list[str]) -> tuple[str | None, list[Team]]:
    from .models import GroupMapping

    wanted = {str(g).casefold() for g in groups}
    rows = [row for row in GroupMapping.objects.for_tenant(tenant).select_related("team") if row.group.casefold() in wanted]
    roles = {row.role for row in rows if row.role}
    role = next((r for r in ROLE_PRIORITY if r in roles), None)
    return role, [row.team for row in rows if row.team is not None]


def _apply_group_mappings(*, tenant: Tenant, membership: Membership, groups: list[str], created: bool) -> None:
    from coachhub.core.errors import ApplicationError
    from coachhub.tenancy.services import membership_change_role, team_set_membership

    role, teams = _mapped(tenant, groups)
    if role and role != membership.role and not created:
        try:
            membership_change_role(tenant=tenant, actor=None, membership=membership, role=role)
        except ApplicationError:
            pass  # e.g. the last admin can't be demoted by a group change; the audit log has the others
        membership.refresh_from_db()
    for team in teams:
        kind = TeamRole.COACH if membership.role == Role.MANAGER else TeamRole.MEMBER
        team_set_membership(tenant=tenant, actor=None, team=team, membership=membership, kind=kind, present=True)
