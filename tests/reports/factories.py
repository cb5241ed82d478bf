"""Helpers that build KPI files and imports for tests, always inside one world's tenant."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Membership
from reports import services
from reports.kpi.importing import ensure_builtin_metrics
from reports.kpi.parsing import monday_of
from reports.models import KpiImport, KpiImportStatus, KpiValue


def last_monday(weeks_ago: int = 1) -> date:
    return monday_of(date.today()) - timedelta(weeks=weeks_ago)


def csv_bytes(lines: list[str], *, bom: bool = False, newline: str = "\n") -> bytes:
    text = newline.join(lines) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def upload(raw: bytes, name: str = "kpis.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, raw, content_type="text/csv")


def preview(world, raw: bytes, *, role: str = "manager", source: str = "Help desk export", **source_settings):
    """Uploads `raw` as `role` of the world and returns the previewed KpiImport."""
    member = world.member(role)
    member.tenant = world.tenant
    with tenant_context(world.tenant):
        src = services.kpi_source_save(tenant=world.tenant, actor=member.user, name=source, **source_settings)
        return services.kpi_import_upload(
            tenant=world.tenant, actor=member.user, membership=member, source=src, upload=upload(raw), dry_run=True
        )


def commit(world, kpi_import: KpiImport, django_capture_on_commit_callbacks) -> KpiImport:
    """Commits a previewed import and runs its (eager) background job."""
    with tenant_context(world.tenant), django_capture_on_commit_callbacks(execute=True):
        services.kpi_import_commit(tenant=world.tenant, actor=kpi_import.uploaded_by, kpi_import=kpi_import)
    kpi_import.refresh_from_db()
    return kpi_import


def values_of(world) -> dict[tuple[str, str, str], float]:
    """Every stored KPI value of the world's tenant: (email, metric key, week) -> value."""
    with tenant_context(world.tenant):
        return {
            (email, key, period.isoformat()): value
            for email, key, period, value in KpiValue.objects.for_tenant(world.tenant).values_list(
                "membership__user__email", "metric__key", "period_start", "value"
            )
        }


def previewed_import(world, membership: Membership) -> KpiImport:
    """A valid previewed import uploaded by `membership`, without a stored file (for route checks)."""
    with tenant_context(world.tenant):
        ensure_builtin_metrics(tenant=world.tenant)
        source = services.kpi_source_save(tenant=world.tenant, actor=membership.user, name="Zendesk export")
        return KpiImport.objects.for_tenant(world.tenant).create(
            tenant=world.tenant, source=source, uploaded_by=membership.user, file_name="week14.csv",
            stored_path="", sha256="0" * 64, status=KpiImportStatus.PREVIEWED, total_rows=3, processed_rows=3,
            created_count=3,
        )
