"""Writes of the tenancy core, one module per concern; every public name is re-exported here, so
`from coachhub.tenancy.services import audit_record` (and `services.invitation_create`) keep working."""

from .ai_settings import ai_settings_update
from .audit import audit_record
from .invitations import invitation_accept, invitation_create, invitation_resend, invitation_revoke
from .member_import import (
    CSV_COLUMNS,
    MEMBER_CSV_KEEP_SECONDS,
    ROLE_ALIASES,
    MemberImportPreview,
    MemberRow,
    members_csv_commit,
    members_csv_preview,
    members_csv_upload_forget,
    members_csv_upload_get,
    members_csv_upload_keep,
)
from .members import membership_change_role, team_create, team_delete, team_rename, team_set_membership
from .tenants import RESERVED_SLUGS, tenant_create
from .tokens import api_token_create, api_token_revoke

__all__ = [
    "CSV_COLUMNS",
    "MEMBER_CSV_KEEP_SECONDS",
    "RESERVED_SLUGS",
    "ROLE_ALIASES",
    "MemberImportPreview",
    "MemberRow",
    "ai_settings_update",
    "api_token_create",
    "api_token_revoke",
    "audit_record",
    "invitation_accept",
    "invitation_create",
    "invitation_resend",
    "invitation_revoke",
    "members_csv_commit",
    "members_csv_preview",
    "members_csv_upload_forget",
    "members_csv_upload_get",
    "members_csv_upload_keep",
    "membership_change_role",
    "team_create",
    "team_delete",
    "team_rename",
    "team_set_membership",
    "tenant_create",
]
