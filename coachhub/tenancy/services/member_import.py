"""Member CSV import: preview every row's problems, keep the file for confirmation, then invite all or nobody."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from coachhub.core.errors import ApplicationError

from ..models import Invitation, Membership, Role, Team, Tenant, User
from ..selectors import team_get_by_name
from .invitations import invitation_create

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
    upload_id = secrets.token_urlsafe(16)
    cache.set(_csv_upload_key(tenant, user, upload_id), raw, timeout=MEMBER_CSV_KEEP_SECONDS)
    return upload_id


def members_csv_upload_get(*, tenant: Tenant, user: User, upload_id: str) -> bytes | None:
    if not upload_id or len(upload_id) > 64:
        return None
    return cache.get(_csv_upload_key(tenant, user, upload_id))


def members_csv_upload_forget(*, tenant: Tenant, user: User, upload_id: str) -> None:
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
