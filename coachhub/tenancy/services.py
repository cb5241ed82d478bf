"""Writes of the tenancy core: tenants, invitations, members, teams, tokens, and the audit log."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from coachhub.core.errors import ApplicationError, Conflict

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
from .selectors import invitation_is_open, team_get_by_name

RESERVED_SLUGS = {"admin", "api", "static", "media", "platform", "healthz", "accounts", "t", "invite"}


# --- audit ------------------------------------------------------------------------------------


def audit_record(
    *,
    tenant: Tenant,
    actor: User | None,
    action: str,
    summary: str,
    target: Any = None,
    data: dict | None = None,
) -> AuditEvent:
    return AuditEvent.objects.for_tenant(tenant).create(
        tenant=tenant,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target_type=type(target).__name__ if target is not None else "",
        target_id=str(getattr(target, "pk", "") or ""),
        summary=summary[:300],
        data=data or {},
    )


# --- tenants ----------------------------------------------------------------------------------


@transaction.atomic
def tenant_create(
    *, name: str, slug: str, actor: User, admin_email: str, admin_name: str = ""
) -> tuple[Tenant, Invitation]:
    """A platform operator creates a tenant and invites its first admin."""
    if not actor.is_staff:
        raise ApplicationError("Only platform operators create tenants.", code="forbidden", status_code=403)
    name = name.strip()
    slug = slugify(slug or name)
    errors = {}
    if not name:
        errors["name"] = "Give the organization a name."
    if not slug:
        errors["slug"] = "The URL name needs letters or digits."
    elif slug in RESERVED_SLUGS:
        errors["slug"] = f"“{slug}” is reserved; choose another URL name."
    elif Tenant.objects.filter(slug=slug).exists():
        errors["slug"] = f"A tenant with the URL name “{slug}” already exists."
    if errors:
        raise ApplicationError("The tenant could not be created.", code="invalid_tenant", fields=errors)
    tenant = Tenant.objects.create(name=name, slug=slug)
    invitation, _ = invitation_create(
        tenant=tenant, actor=actor, email=admin_email, full_name=admin_name, role=Role.TENANT_ADMIN
    )
    audit_record(tenant=tenant, actor=actor, action="tenant.created", summary=f"Tenant {name} created", target=tenant)
    return tenant, invitation


# --- invitations ------------------------------------------------------------------------------


def _new_token() -> tuple[str, str]:
    raw = secrets.token_urlsafe(32)
    return raw, hash_secret(raw)


def _send_invitation_email(invitation: Invitation, raw_token: str) -> None:
    link = settings.SITE_URL.rstrip("/") + reverse("invitation_accept", kwargs={"token": raw_token})
    context = {"invitation": invitation, "tenant": invitation.tenant, "link": link}
    subject = f"You're invited to {invitation.tenant.name} on CoachHub"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("tenancy/email/invitation.txt", context),
        to=[invitation.email],
    )
    message.attach_alternative(render_to_string("tenancy/email/invitation.html", context), "text/html")
    message.send()


def _normalize_email(email: str, errors: dict, key: str = "email") -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        errors[key] = f"“{email or '(empty)'}” is not a valid email address."
    return email


@transaction.atomic
def invitation_create(
    *,
    tenant: Tenant,
    actor: User | None,
    email: str,
    full_name: str = "",
    role: str = Role.REP,
    team: Team | None = None,
) -> tuple[Invitation, str]:
    errors: dict[str, str] = {}
    email = _normalize_email(email, errors)
    if role not in Role.values:
        errors["role"] = f"Unknown role “{role}”. Use one of: {', '.join(Role.values)}."
    if team is not None and team.tenant_id != tenant.id:
        errors["team"] = "Unknown team."
    if not errors and Membership.objects.for_tenant(tenant).filter(user__email=email).exists():
        errors["email"] = f"{email} is already a member."
    if not errors and Invitation.objects.for_tenant(tenant).filter(
        email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).exists():
        errors["email"] = f"{email} already has an open invitation: resend or revoke it."
    if errors:
        raise ApplicationError("The invitation could not be created.", code="invalid_invitation", fields=errors)
    raw, hashed = _new_token()
    now = timezone.now()
    invitation = Invitation.objects.for_tenant(tenant).create(
        tenant=tenant,
        email=email,
        full_name=full_name.strip()[:150],
        role=role,
        team=team,
        token_hash=hashed,
        invited_by=actor if actor is not None and actor.is_authenticated else None,
        created_at=now,
        last_sent_at=now,
        expires_at=now + timedelta(days=settings.INVITATION_TTL_DAYS),
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="invitation.created",
        summary=f"Invited {email} as {Role(role).label}",
        target=invitation,
        data={"email": email, "role": role, "team": team.name if team else None},
    )
    transaction.on_commit(lambda: _send_invitation_email(invitation, raw))
    return invitation, raw


@transaction.atomic
def invitation_resend(*, tenant: Tenant, actor: User, invitation: Invitation) -> str:
    """Sends a fresh link with a renewed expiry; the old link stops working."""
    invitation = Invitation.objects.for_tenant(tenant).select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise Conflict(f"This invitation was already {invitation.status}.", code="invitation_closed")
    raw, hashed = _new_token()
    now = timezone.now()
    invitation.token_hash = hashed
    invitation.last_sent_at = now
    invitation.expires_at = now + timedelta(days=settings.INVITATION_TTL_DAYS)
    invitation.send_count += 1
    invitation.save(update_fields=["token_hash", "last_sent_at", "expires_at", "send_count"])
    audit_record(
        tenant=tenant, actor=actor, action="invitation.resent", summary=f"Resent invitation to {invitation.email}",
        target=invitation,
    )
    transaction.on_commit(lambda: _send_invitation_email(invitation, raw))
    return raw


@transaction.atomic
def invitation_revoke(*, tenant: Tenant, actor: User, invitation: Invitation) -> Invitation:
    invitation = Invitation.objects.for_tenant(tenant).select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise Conflict(f"This invitation was already {invitation.status}.", code="invitation_closed")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        tenant=tenant, actor=actor, action="invitation.revoked", summary=f"Revoked invitation to {invitation.email}",
        target=invitation,
    )
    return invitation


@transaction.atomic
def invitation_accept(
    *, invitation: Invitation, password: str, full_name: str = "", current_user: User | None = None
) -> Membership:
    """Turns an open invitation into a membership.

    A new person sets their password here. Someone who already has a CoachHub account proves it
    with their existing password (or by being logged in as that account).
    """
    tenant = invitation.tenant
    invitation = Invitation.objects.for_tenant(tenant).select_for_update().get(pk=invitation.pk)
    if not invitation_is_open(invitation):
        raise Conflict(
            f"This invitation is {invitation.status}. Ask your admin to send a new one.",
            code=f"invitation_{invitation.status}",
        )
    user = User.objects.filter(email=invitation.email).first()
    if user is None:
        user = User(email=invitation.email, full_name=(full_name or invitation.full_name).strip()[:150])
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ApplicationError(
                " ".join(exc.messages), code="weak_password", fields={"password": exc.messages}
            ) from exc
        user.set_password(password)
        user.save()
    else:
        logged_in_as_invitee = current_user is not None and current_user.pk == user.pk
        if not logged_in_as_invitee and not user.check_password(password):
            raise ApplicationError(
                "You already have a CoachHub account: enter its password to join.",
                code="wrong_password",
                fields={"password": ["That password doesn't match your existing account."]},
            )
    membership, _ = Membership.objects.for_tenant(tenant).get_or_create(
        tenant=tenant, user=user, defaults={"role": invitation.role, "started_on": timezone.localdate()}
    )
    if invitation.team_id:
        kind = TeamRole.COACH if invitation.role == Role.MANAGER else TeamRole.MEMBER
        TeamMembership.objects.for_tenant(tenant).get_or_create(
            tenant=tenant, team_id=invitation.team_id, membership=membership, kind=kind
        )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit_record(
        tenant=tenant, actor=user, action="invitation.accepted", summary=f"{user.email} joined as {membership.get_role_display()}",
        target=membership,
    )
    return membership


# --- member CSV import --------------------------------------------------------------------------

CSV_COLUMNS = ("email", "name", "role", "team")
ROLE_ALIASES = {
    "rep": Role.REP, "agent": Role.REP, "manager": Role.MANAGER,
    "enablement_lead": Role.ENABLEMENT_LEAD, "enablement lead": Role.ENABLEMENT_LEAD, "lead": Role.ENABLEMENT_LEAD,
    "tenant_admin": Role.TENANT_ADMIN, "tenant admin": Role.TENANT_ADMIN, "admin": Role.TENANT_ADMIN,
}


@dataclass
class MemberRow:
    line: int
    email: str
    name: str
    role: str
    team_name: str
    errors: list[str] = field(default_factory=list)


@dataclass
class MemberImportPreview:
    rows: list[MemberRow]
    file_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.file_errors and all(not row.errors for row in self.rows) and bool(self.rows)

    @property
    def error_count(self) -> int:
        return len(self.file_errors) + sum(1 for row in self.rows if row.errors)


def _decode_csv(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError(
            f"The file is not UTF-8 text (byte {exc.start} can't be read). Save it as “CSV UTF-8” and upload again.",
            code="bad_encoding",
        ) from exc


# A previewed member CSV waits for its confirmation in the cache, under a key naming the tenant
# and the admin: another admin, or anyone in another tenant, can't confirm (or read) it.
MEMBER_CSV_KEEP_SECONDS = 60 * 60


def _csv_upload_key(tenant: Tenant, user: User, upload_id: str) -> str:
    return f"member-csv:{tenant.pk}:{user.pk}:{upload_id}"


def members_csv_upload_keep(*, tenant: Tenant, user: User, raw: bytes) -> str:
    from django.core.cache import cache

    upload_id = secrets.token_urlsafe(16)
    cache.set(_csv_upload_key(tenant, user, upload_id), raw, timeout=MEMBER_CSV_KEEP_SECONDS)
    return upload_id


def members_csv_upload_get(*, tenant: Tenant, user: User, upload_id: str) -> bytes | None:
    from django.core.cache import cache

    if not upload_id or len(upload_id) > 64:
        return None
    return cache.get(_csv_upload_key(tenant, user, upload_id))


def members_csv_upload_forget(*, tenant: Tenant, user: User, upload_id: str) -> None:
    from django.core.cache import cache

    cache.delete(_csv_upload_key(tenant, user, upload_id))


def members_csv_preview(*, tenant: Tenant, raw: bytes) -> MemberImportPreview:
    """Reads a member CSV (email, name, role, team) and says, per row, what is wrong. Writes nothing."""
    if len(raw) > settings.MEMBER_CSV_MAX_BYTES:
        return MemberImportPreview(
            rows=[], file_errors=[f"The file is larger than {settings.MEMBER_CSV_MAX_BYTES // 1024} KB."]
        )
    try:
        text = _decode_csv(raw)
    except ApplicationError as exc:
        return MemberImportPreview(rows=[], file_errors=[exc.message])
    sample = text[:2048]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in ("email", "role") if c not in header]
    if missing:
        return MemberImportPreview(
            rows=[],
            file_errors=[
                f"Missing column(s): {', '.join(missing)}. The first line must be a header: email,name,role,team."
            ],
        )
    reader.fieldnames = header
    members = set(Membership.objects.for_tenant(tenant).values_list("user__email", flat=True))
    open_invites = set(
        Invitation.objects.for_tenant(tenant)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True)
        .values_list("email", flat=True)
    )
    teams = {t.name.lower(): t for t in Team.objects.for_tenant(tenant)}
    seen: dict[str, int] = {}
    rows: list[MemberRow] = []
    for line, record in enumerate(reader, start=2):
        if len(rows) >= settings.MEMBER_CSV_MAX_ROWS:
            return MemberImportPreview(
                rows=rows, file_errors=[f"The file has more than {settings.MEMBER_CSV_MAX_ROWS} rows; split it."]
            )
        values = {k: (v or "").strip() for k, v in record.items() if k}
        if not any(values.values()):
            continue
        row = MemberRow(
            line=line,
            email=values.get("email", "").lower(),
            name=values.get("name", ""),
            role=values.get("role", ""),
            team_name=values.get("team", ""),
        )
        try:
            validate_email(row.email)
        except ValidationError:
            row.errors.append(f"email: “{row.email or '(empty)'}” is not a valid email address")
        role = ROLE_ALIASES.get(row.role.lower())
        if role is None:
            row.errors.append(
                f"role: unknown role “{row.role or '(empty)'}”; use rep, manager, enablement_lead or tenant_admin"
            )
        else:
            row.role = role
        if row.team_name and row.team_name.lower() not in teams:
            row.errors.append(f"team: no team named “{row.team_name}”; create it first or fix the spelling")
        if role in (Role.REP, Role.MANAGER) and not row.team_name:
            row.errors.append("team: reps and managers need a team")
        if row.email in seen:
            row.errors.append(f"email: {row.email} appears twice (also on line {seen[row.email]})")
        elif row.email in members:
            row.errors.append(f"email: {row.email} is already a member")
        elif row.email in open_invites:
            row.errors.append(f"email: {row.email} already has an open invitation")
        if len(row.name) > 150:
            row.errors.append("name: longer than 150 characters")
        seen.setdefault(row.email, line)
        rows.append(row)
    if not rows:
        return MemberImportPreview(rows=[], file_errors=["The file has a header but no member rows."])
    return MemberImportPreview(rows=rows)


@transaction.atomic
def members_csv_commit(*, tenant: Tenant, actor: User, raw: bytes) -> list[Invitation]:
    """Invites every row of a member CSV, or nobody when any row is bad."""
    preview = members_csv_preview(tenant=tenant, raw=raw)
    if not preview.ok:
        errors = {f"line {row.line}": row.errors for row in preview.rows if row.errors}
        if preview.file_errors:
            errors["file"] = preview.file_errors
        raise ApplicationError(
            f"Nothing was imported: {preview.error_count} problem(s) in the file.", code="invalid_csv", fields=errors
        )
    invitations = []
    for row in preview.rows:
        team = team_get_by_name(tenant=tenant, name=row.team_name) if row.team_name else None
        invitation, _ = invitation_create(
            tenant=tenant, actor=actor, email=row.email, full_name=row.name, role=row.role, team=team
        )
        invitations.append(invitation)
    return invitations


# --- members and teams --------------------------------------------------------------------------


@transaction.atomic
def membership_change_role(*, tenant: Tenant, actor: User, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise ApplicationError(f"Unknown role “{role}”.", code="invalid_role", fields={"role": ["Unknown role."]})
    if membership.role == role:
        return membership
    if membership.role == Role.TENANT_ADMIN and not (
        Membership.objects.for_tenant(tenant).filter(role=Role.TENANT_ADMIN, is_active=True).exclude(pk=membership.pk).exists()
    ):
        raise Conflict("A tenant needs at least one admin: promote someone else first.", code="last_admin")
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        tenant=tenant, actor=actor, action="member.role_changed",
        summary=f"{membership.user.email}: {Role(old).label} → {Role(role).label}",
        target=membership, data={"from": old, "to": role},
    )
    return membership


@transaction.atomic
def _team_name_checked(*, tenant: Tenant, name: str, team: Team | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Give the team a name.", code="invalid_team", fields={"name": ["Give the team a name."]})
    if len(name) > 100:
        message = f"Team names are at most 100 characters; this one has {len(name)}."
        raise ApplicationError(message, code="invalid_team", fields={"name": [message]})
    existing = team_get_by_name(tenant=tenant, name=name)
    if existing and (team is None or existing.pk != team.pk):
        raise _team_taken(name)
    return name


def _team_taken(name: str) -> Conflict:
    message = f"There is already a team called “{name}”. Pick another name, or add the people to that team."
    return Conflict(message, code="team_exists", fields={"name": [message]})


def team_create(*, tenant: Tenant, actor: User, name: str) -> Team:
    name = _team_name_checked(tenant=tenant, name=name)
    try:
        with transaction.atomic():
            team = Team.objects.for_tenant(tenant).create(tenant=tenant, name=name)
    except IntegrityError as exc:
        raise _team_taken(name) from exc
    audit_record(tenant=tenant, actor=actor, action="team.created", summary=f"Team {name} created", target=team)
    return team


def team_rename(*, tenant: Tenant, actor: User, team: Team, name: str) -> Team:
    """Renames a team; its people, coaches and assignments stay as they are."""
    name = _team_name_checked(tenant=tenant, name=name, team=team)
    before = team.name
    if name == before:
        return team
    try:
        with transaction.atomic():
            Team.objects.for_tenant(tenant).filter(pk=team.pk).update(name=name)
    except IntegrityError as exc:
        raise _team_taken(name) from exc
    team.name = name
    audit_record(tenant=tenant, actor=actor, action="team.renamed", summary=f"Team {before} renamed to {name}",
                 target=team, data={"from": before, "to": name})
    return team


@transaction.atomic
def team_delete(*, tenant: Tenant, actor: User, team: Team) -> None:
    """Deletes a team. Its people stay in the organization and keep the assignments they already
    have (which no longer name the team); only the team and its member/coach links go."""
    links = TeamMembership.objects.for_tenant(tenant).filter(team=team).count()
    name, team_id = team.name, team.pk
    Team.objects.for_tenant(tenant).filter(pk=team_id).delete()
    audit_record(tenant=tenant, actor=actor, action="team.deleted", summary=f"Team {name} deleted",
                 target=None, data={"team_id": team_id, "name": name, "links_removed": links})


@transaction.atomic
def team_set_membership(
    *, tenant: Tenant, actor: User, team: Team, membership: Membership, kind: str, present: bool
) -> None:
    """Adds or removes a person as a team's member (reps) or coach (managers)."""
    if kind not in TeamRole.values:
        raise ApplicationError("Unknown team role.", code="invalid_team_role")
    links = TeamMembership.objects.for_tenant(tenant).filter(team=team, membership=membership, kind=kind)
    if present and not links.exists():
        TeamMembership.objects.for_tenant(tenant).create(tenant=tenant, team=team, membership=membership, kind=kind)
        action, verb = "team.member_added", "added to"
    elif not present and links.exists():
        links.delete()
        action, verb = "team.member_removed", "removed from"
    else:
        return
    audit_record(
        tenant=tenant, actor=actor, action=action,
        summary=f"{membership.user.email} {verb} {team.name} as {TeamRole(kind).label.lower()}",
        target=team, data={"membership": membership.pk, "kind": kind},
    )


# --- API tokens ---------------------------------------------------------------------------------


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


# --- AI settings --------------------------------------------------------------------------------


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
) -> AISettings:
    """Saves the tenant's AI settings. A new API key replaces the stored one (encrypted); an empty
    one keeps it, unless the endpoint's host changed: a saved key is never sent to a new host, so
    the admin types it again (or removes it). The endpoint must be http(s) and, unless the operator
    allows private endpoints, public. The audit entry records what changed, never the key itself."""
    from coachhub.core.crypto import encrypt_secret
    from coachhub.core.llm import endpoint_problem

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
               "monthly_token_budget", "per_minute_token_budget")
    before = {key: getattr(row, key) for key in tracked}
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
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url or "")
        return parts.scheme, (parts.hostname or ""), parts.port
    except ValueError:
        return "", url or "", None
