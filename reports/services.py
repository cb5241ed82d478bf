"""Writes of the reports app: KPI sources, uploads, dry-run previews and the all-or-nothing import.

An import is validated completely before anything is written; the write is one transaction. Big
files run in the background (task "reports.import_kpis"), which reports progress on the KpiImport.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from coachhub.core.errors import ApplicationError, Conflict
from coachhub.core.text import storable
from coachhub.tenancy.models import Membership, Tenant, User
from coachhub.tenancy.selectors import membership_for_user
from coachhub.tenancy.services import audit_record

from .helpdesk.presets import PRESETS_BY_KEY
from .helpdesk.reading import WEEKLY, validate_helpdesk_file
from .kpi.custom_metrics import (  # noqa: F401  (the app's write API)
    kpi_metric_create,
    kpi_metric_definition,
    kpi_metric_delete,
    kpi_metric_update,
)
from .kpi.importing import change_counts, existing_for_sample, metric_rules, rep_directory, write_rows
from .kpi.parsing import FileScan, KpiFileError, scan_file
from .kpi.validation import Validation, validate_kpi_file
from .models import KpiDateFormat, KpiDelimiter, KpiFormat, KpiImport, KpiImportStatus, KpiSource

logger = logging.getLogger(__name__)

UPLOAD_DIR = "kpi-imports"
DEFAULT_SOURCE_NAME = "Help desk export"


def max_upload_bytes() -> int:
    return int(getattr(settings, "KPI_IMPORT_MAX_BYTES", 200 * 1024 * 1024))


def max_preview_bytes() -> int:
    """Files up to this size are checked while the browser waits; larger ones go to the background."""
    return int(getattr(settings, "KPI_IMPORT_INLINE_MAX_BYTES", 10 * 1024 * 1024))


def max_stored_errors() -> int:
    return int(getattr(settings, "KPI_IMPORT_MAX_STORED_ERRORS", 200))


def progress_every() -> int:
    return int(getattr(settings, "KPI_IMPORT_PROGRESS_EVERY", 50_000))


def _stale_after() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "CELERY_LONGEST_TASK_SECONDS", 15 * 60)))


def _size_label(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    return f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} bytes"


# --- sources ------------------------------------------------------------------------------------


@transaction.atomic
def kpi_source_save(
    *,
    tenant: Tenant,
    actor: User | None,
    name: str,
    format: str = KpiFormat.AUTO,
    delimiter: str = KpiDelimiter.AUTO,
    date_format: str = KpiDateFormat.AUTO,
    column_mapping: dict | None = None,
) -> KpiSource:
    """Creates the source or updates its settings, so the next file from it reads the same way."""
    name = (name or DEFAULT_SOURCE_NAME).strip()[:100]
    if format not in KpiFormat.values or delimiter not in KpiDelimiter.values or date_format not in KpiDateFormat.values:
        raise ApplicationError("Unknown layout, delimiter or date format.", code="invalid_source")
    mapping = _clean_mapping(column_mapping or {})
    source = KpiSource.objects.for_tenant(tenant).select_for_update().filter(name__iexact=name).first()
    if source is None:
        source = KpiSource.objects.for_tenant(tenant).create(tenant=tenant, name=name)
        audit_record(tenant=tenant, actor=actor, action="kpi_source.create", summary=f"KPI source “{name}” created",
                     target=source)
    source.format, source.delimiter, source.date_format = format, delimiter, date_format
    source.column_mapping = mapping
    source.updated_at = timezone.now()
    source.save(update_fields=["format", "delimiter", "date_format", "column_mapping", "updated_at"])
    return source


def _clean_mapping(mapping: dict) -> dict:
    clean: dict = {}
    for key in ("rep", "period", "metric", "value"):
        value = str(mapping.get(key) or "").strip()
        if value:
            clean[key] = value[:100]
    rep_key = str(mapping.get("rep_key") or "").strip()
    if rep_key:
        if rep_key not in ("email", "external_id"):
            raise ApplicationError("The rep column holds either an email or an external id.", code="invalid_mapping",
                                   fields={"rep_key": ["Use email or external_id."]})
        clean["rep_key"] = rep_key
    preset = str(mapping.get("preset") or "").strip()
    if preset:
        if preset != WEEKLY and preset not in PRESETS_BY_KEY:
            raise ApplicationError(f"Unknown export “{preset}”.", code="invalid_mapping",
                                   fields={"preset": ["Choose one of the listed exports."]})
        clean["preset"] = preset
    zone = str(mapping.get("timezone") or "").strip()
    if zone:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ApplicationError(f"Unknown time zone “{zone}”: use a name like Europe/Berlin.",
                                   code="invalid_mapping", fields={"timezone": ["Use a name like Europe/Berlin."]}) from None
        clean["timezone"] = zone
    metrics = mapping.get("metrics") or {}
    if not isinstance(metrics, dict):
        raise ApplicationError("metrics must map file columns to metric keys.", code="invalid_mapping")
    if metrics:
        clean["metrics"] = {str(k).strip(): str(v).strip() for k, v in metrics.items() if str(k).strip()}
    return clean


def parse_metric_mapping(text: str) -> dict[str, str]:
    """“CSAT = csat” lines (or comma-separated pairs) from a form into {file column: metric key}."""
    pairs: dict[str, str] = {}
    for chunk in text.replace(",", "\n").splitlines():
        if not chunk.strip():
            continue
        if "=" not in chunk:
            raise ApplicationError(
                f"“{chunk.strip()}”: write each metric column as “column = metric key”.", code="invalid_mapping",
                fields={"metric_columns": [f"“{chunk.strip()}” has no “=”."]},
            )
        column, key = chunk.split("=", 1)
        pairs[column.strip()] = key.strip()
    return pairs


# --- uploads and previews -------------------------------------------------------------------------


def _store_upload(*, tenant: Tenant, upload: UploadedFile) -> tuple[str, int, str]:
    """Saves the upload under MEDIA_ROOT/kpi-imports/<tenant>/ for the background job."""
    relative = Path(UPLOAD_DIR) / str(tenant.pk) / f"{uuid.uuid4().hex}.csv"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        for chunk in upload.chunks():
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return relative.as_posix(), size, digest.hexdigest()


def _store_ratings(stored: Path, ratings: UploadedFile) -> None:
    from .helpdesk.reading import RATINGS_SUFFIX

    target = stored.with_name(stored.stem + RATINGS_SUFFIX)
    with target.open("wb") as out:
        for chunk in ratings.chunks():
            out.write(chunk)
    try:
        with target.open("rb") as raw:
            scan_file(raw)
    except KpiFileError as exc:
        target.unlink(missing_ok=True)
        stored.unlink(missing_ok=True)
        raise ApplicationError(f"The ratings file can't be read: {exc.message}", code="invalid_ratings_file") from None


def stored_file_path(kpi_import: KpiImport) -> Path:
    return Path(settings.MEDIA_ROOT) / kpi_import.stored_path


def _check_size(size: int) -> None:
    if size > max_upload_bytes():
        raise ApplicationError(
            f"The file is {_size_label(size)}; the limit is {_size_label(max_upload_bytes())}. "
            "Split it by month and upload the parts.",
            code="file_too_large", status_code=413,
        )


def kpi_import_upload(
    *, tenant: Tenant, actor: User, membership: Membership, source: KpiSource, upload: UploadedFile, dry_run: bool,
    ratings: UploadedFile | None = None,
) -> KpiImport:
    """Stores the file, then previews it now (dry run) or queues the checked import in the background.
    `ratings`: the export's separate satisfaction file (Intercom's CSAT export), stored beside it."""
    _check_size(upload.size or 0)
    if ratings is not None:
        _check_size(ratings.size or 0)
    if dry_run and (upload.size or 0) > max_preview_bytes():
        raise ApplicationError(
            f"The file is {_size_label(upload.size)}: a dry run checks files up to {_size_label(max_preview_bytes())}. "
            "Import it without a dry run: it is checked completely in the background and nothing changes if any row "
            "is bad.",
            code="too_large_for_dry_run", status_code=413,
        )
    stored_path, size, sha256 = _store_upload(tenant=tenant, upload=upload)
    _check_size(size)
    if ratings is not None:
        _store_ratings(Path(settings.MEDIA_ROOT) / stored_path, ratings)
    kpi_import = KpiImport.objects.for_tenant(tenant).create(
        tenant=tenant, source=source, uploaded_by=actor, file_name=storable(Path(upload.name or "kpis.csv").name[:255]),
        stored_path=stored_path, size_bytes=size, sha256=sha256,
        status=KpiImportStatus.PREVIEWED if dry_run else KpiImportStatus.QUEUED,
    )
    if dry_run:
        return kpi_import_preview(tenant=tenant, membership=membership, kpi_import=kpi_import)
    _enqueue(tenant, kpi_import)
    audit_record(tenant=tenant, actor=actor, action="kpi_import.queue",
                 summary=f"KPI file {kpi_import.file_name} queued for import", target=kpi_import)
    return kpi_import


def _validate_path(
    *, tenant: Tenant, source: KpiSource, path: Path, actor: Membership | None, progress=None, max_errors=None
) -> tuple[Validation, FileScan | None]:
    try:
        with path.open("rb") as raw:
            scan = scan_file(raw)
    except KpiFileError as exc:
        failed = Validation(max_errors=max_errors or max_stored_errors())
        failed.add_error(exc.line, exc.column, exc.message)
        return failed, None
    except (FileNotFoundError, IsADirectoryError):
        failed = Validation()
        failed.add_error(None, "", "The uploaded file is no longer stored; upload it again.")
        return failed, None
    metrics, aliases = metric_rules(tenant=tenant)
    reps = rep_directory(tenant=tenant, actor=actor)
    helpdesk = validate_helpdesk_file(
        tenant=tenant, source=source, path=path, reps=reps, metrics=metrics, max_errors=max_errors or max_stored_errors()
    )
    if helpdesk is not None:
        if progress is not None:
            progress(helpdesk.rows_read)
        return helpdesk, scan
    with path.open("r", encoding="utf-8-sig", newline="") as text:
        validation = validate_kpi_file(
            stream=text, reps=reps, metrics=metrics, aliases=aliases, layout=source.format,
            mapping=source.column_mapping or {}, delimiter=source.delimiter, date_format=source.date_format,
            today=timezone.localdate(), max_errors=max_errors or max_stored_errors(), progress=progress,
            progress_every=progress_every(),
        )
    return validation, scan


def kpi_import_preview(*, tenant: Tenant, membership: Membership, kpi_import: KpiImport) -> KpiImport:
    """The dry run: reads the stored file with its source's settings and records what a commit would
    do (rows to create / update / unchanged), a sample, and every row-level error. Writes no KPI."""
    if kpi_import.status not in (KpiImportStatus.PREVIEWED, KpiImportStatus.FAILED):
        raise Conflict("This import is already queued or done.", code="kpi_import_not_previewable")
    source = kpi_import.source
    validation, _ = _validate_path(tenant=tenant, source=source, path=stored_file_path(kpi_import), actor=membership)
    created = updated = unchanged = 0
    if validation.ok:
        created, updated, unchanged = change_counts(tenant=tenant, rows=validation.rows)
    kpi_import.status = KpiImportStatus.PREVIEWED
    _record(kpi_import, validation, created, updated, unchanged)
    kpi_import.sample = storable(existing_for_sample(tenant=tenant, sample=validation.sample))
    kpi_import.save()
    return kpi_import


def _record(kpi_import: KpiImport, validation: Validation, created: int, updated: int, unchanged: int) -> None:
    kpi_import.total_rows = validation.rows_read
    kpi_import.processed_rows = validation.rows_read
    kpi_import.created_count, kpi_import.updated_count, kpi_import.unchanged_count = created, updated, unchanged
    kpi_import.error_count = validation.error_count
    kpi_import.errors = storable(validation.errors)
    kpi_import.notices = storable(validation.notices)
    kpi_import.sample = storable(validation.sample)
    kpi_import.preset, kpi_import.preset_confidence = validation.preset, validation.preset_confidence
    kpi_import.definitions = storable(validation.definitions)
    kpi_import.unknown_agents = storable(validation.unknown_agents)
    kpi_import.updated_at = timezone.now()


@transaction.atomic
def kpi_import_remap(
    *, tenant: Tenant, actor: User, membership: Membership, kpi_import: KpiImport, settings_: dict
) -> KpiImport:
    """Saves new reading settings on the import's source and previews the same file again."""
    source = kpi_source_save(tenant=tenant, actor=actor, name=kpi_import.source.name, **settings_)
    kpi_import.source = source
    return kpi_import_preview(tenant=tenant, membership=membership, kpi_import=kpi_import)


@transaction.atomic
def kpi_import_commit(*, tenant: Tenant, actor: User, kpi_import: KpiImport) -> KpiImport:
    """Queues the import of a previewed file. The job checks the file again and writes all rows or none."""
    kpi_import = KpiImport.objects.for_tenant(tenant).select_for_update().get(pk=kpi_import.pk)
    if kpi_import.status != KpiImportStatus.PREVIEWED:
        raise Conflict("This import was already committed or is running.", code="kpi_import_already_committed")
    if kpi_import.error_count:
        raise ApplicationError(
            f"The file has {kpi_import.error_count} problem(s); fix them and upload it again. Nothing was imported.",
            code="kpi_import_has_errors",
        )
    kpi_import.status = KpiImportStatus.QUEUED
    kpi_import.processed_rows = 0
    kpi_import.updated_at = timezone.now()
    kpi_import.save(update_fields=["status", "processed_rows", "updated_at"])
    _enqueue(tenant, kpi_import)
    audit_record(tenant=tenant, actor=actor, action="kpi_import.queue",
                 summary=f"KPI file {kpi_import.file_name} queued for import", target=kpi_import)
    return kpi_import


def _enqueue(tenant: Tenant, kpi_import: KpiImport) -> None:
    from .tasks import import_kpis

    tenant_id, import_id = tenant.pk, kpi_import.pk
    transaction.on_commit(lambda: import_kpis.delay(tenant_id=tenant_id, import_id=import_id))


def kpi_import_run(*, tenant: Tenant, import_id: int) -> KpiImport | None:
    """The background job: claims a queued import, validates the whole file (recording progress),
    then writes every row in one transaction — or, with any bad row, writes nothing and fails.

    Idempotent: a committed or failed import is left alone, and one running elsewhere is not taken
    over until its heartbeat is older than the longest task."""
    with transaction.atomic():
        kpi_import = KpiImport.objects.for_tenant(tenant).select_for_update().filter(pk=import_id).first()
        if kpi_import is None:
            logger.info("kpi import %s of tenant %s is gone; nothing to do", import_id, tenant.pk)
            return None
        stale = timezone.now() - kpi_import.updated_at > _stale_after()
        if kpi_import.status != KpiImportStatus.QUEUED and not (kpi_import.status == KpiImportStatus.RUNNING and stale):
            logger.info("kpi import %s is %s; nothing to do", import_id, kpi_import.status)
            return kpi_import
        kpi_import.status = KpiImportStatus.RUNNING
        kpi_import.processed_rows = 0
        kpi_import.updated_at = timezone.now()
        kpi_import.save(update_fields=["status", "processed_rows", "updated_at"])

    try:
        return _run_claimed(tenant, kpi_import)
    except Exception:
        logger.exception("kpi import %s failed unexpectedly", import_id)
        KpiImport.objects.for_tenant(tenant).filter(pk=import_id, status=KpiImportStatus.RUNNING).update(
            status=KpiImportStatus.FAILED, finished_at=timezone.now(), updated_at=timezone.now(), error_count=1,
            errors=[{"line": None, "column": "", "message": "The import stopped unexpectedly. Nothing was imported; "
                     "try again, and tell support if it happens again."}],
        )
        raise


def _run_claimed(tenant: Tenant, kpi_import: KpiImport) -> KpiImport:
    actor = None
    if kpi_import.uploaded_by_id is not None:
        actor = membership_for_user(tenant=tenant, user=kpi_import.uploaded_by)
        if actor is None:
            return _fail(kpi_import, "The person who uploaded this file is no longer a member; nothing was imported.")
        actor.tenant = tenant
    rows = KpiImport.objects.for_tenant(tenant).filter(pk=kpi_import.pk)

    def progress(done: int) -> None:
        rows.update(processed_rows=done, updated_at=timezone.now())

    validation, scan = _validate_path(
        tenant=tenant, source=kpi_import.source, path=stored_file_path(kpi_import), actor=actor, progress=progress
    )
    if scan is not None:
        rows.update(total_rows=max(scan.line_count - 1, validation.rows_read))
    if not validation.ok:
        _record(kpi_import, validation, 0, 0, 0)
        kpi_import.status = KpiImportStatus.FAILED
        kpi_import.finished_at = timezone.now()
        kpi_import.save()
        return kpi_import
    with transaction.atomic():
        locked = KpiImport.objects.for_tenant(tenant).select_for_update().get(pk=kpi_import.pk)
        if locked.status != KpiImportStatus.RUNNING:
            return locked  # finished by another run meanwhile
        created, updated, unchanged = write_rows(
            tenant=tenant, rows=validation.rows, source=kpi_import.source, kpi_import=kpi_import
        )
        _record(locked, validation, created, updated, unchanged)
        locked.sample = storable(existing_for_sample(tenant=tenant, sample=validation.sample))
        locked.status = KpiImportStatus.COMMITTED
        locked.finished_at = timezone.now()
        locked.save()
        audit_record(
            tenant=tenant, actor=kpi_import.uploaded_by, action="kpi_import.commit", target=locked,
            summary=f"KPI file {locked.file_name}: {created} created, {updated} updated, {unchanged} unchanged",
        )
    return locked


def _fail(kpi_import: KpiImport, message: str) -> KpiImport:
    kpi_import.status = KpiImportStatus.FAILED
    kpi_import.error_count = 1
    kpi_import.errors = storable([{"line": None, "column": "", "message": message}])
    kpi_import.finished_at = kpi_import.updated_at = timezone.now()
    kpi_import.save()
    return kpi_import


def kpi_imports_requeue_stuck(*, tenant: Tenant, older_than: timedelta = timedelta(minutes=5)) -> int:
    """The sweeper's half: queued imports whose job never arrived, and running ones whose worker died."""
    now = timezone.now()
    stuck = KpiImport.objects.for_tenant(tenant).filter(
        status=KpiImportStatus.QUEUED, updated_at__lt=now - older_than
    ) | KpiImport.objects.for_tenant(tenant).filter(
        status=KpiImportStatus.RUNNING, updated_at__lt=now - _stale_after()
    )
    from .tasks import import_kpis

    count = 0
    for import_id in stuck.values_list("id", flat=True):
        import_kpis.delay(tenant_id=tenant.pk, import_id=import_id)
        count += 1
    return count


# --- the command line ---------------------------------------------------------------------------


@dataclass
class FileImportSummary:
    tenant: str
    file: str
    source: str
    rows: int
    created: int
    updated: int
    unchanged: int
    dry_run: bool
    error_count: int
    errors: list[dict]

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def as_dict(self) -> dict:
        return {
            "tenant": self.tenant, "file": self.file, "source": self.source, "rows": self.rows,
            "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
            "dry_run": self.dry_run, "ok": self.ok, "error_count": self.error_count, "errors": self.errors,
        }


def kpi_file_import(
    *, tenant: Tenant, path: Path, source_name: str = "", dry_run: bool = False, max_errors: int = 1000,
    preset: str = "", time_zone: str = "",
) -> FileImportSummary:
    """Imports a KPI file from disk for the whole tenant (platform command). With any bad row, or on a
    dry run, nothing is written — not even the source. `preset` / `time_zone` override the source's
    reading settings for this run only (they aren't saved)."""
    name = (source_name or DEFAULT_SOURCE_NAME).strip()
    source = KpiSource.objects.for_tenant(tenant).filter(name__iexact=name).first() or KpiSource(tenant=tenant, name=name)
    if preset or time_zone:
        overrides = {key: value for key, value in (("preset", preset), ("timezone", time_zone)) if value}
        source.column_mapping = _clean_mapping({**(source.column_mapping or {}), **overrides})
    validation, scan = _validate_path(tenant=tenant, source=source, path=path, actor=None, max_errors=max_errors)
    created = updated = unchanged = 0
    if validation.ok:
        if dry_run:
            created, updated, unchanged = change_counts(tenant=tenant, rows=validation.rows)
        else:
            with transaction.atomic():
                if source.pk is None:
                    source = kpi_source_save(tenant=tenant, actor=None, name=name)
                kpi_import = KpiImport.objects.for_tenant(tenant).create(
                    tenant=tenant, source=source, file_name=path.name[:255], stored_path="",
                    size_bytes=scan.size if scan else 0, sha256=scan.sha256 if scan else "",
                    status=KpiImportStatus.RUNNING,
                )
                created, updated, unchanged = write_rows(
                    tenant=tenant, rows=validation.rows, source=source, kpi_import=kpi_import
                )
                _record(kpi_import, validation, created, updated, unchanged)
                kpi_import.status = KpiImportStatus.COMMITTED
                kpi_import.finished_at = timezone.now()
                kpi_import.save()
                audit_record(
                    tenant=tenant, actor=None, action="kpi_import.commit", target=kpi_import,
                    summary=f"KPI file {path.name} (command line): {created} created, {updated} updated",
                )
    return FileImportSummary(
        tenant=tenant.slug, file=str(path), source=source.name, rows=validation.rows_read, created=created,
        updated=updated, unchanged=unchanged, dry_run=dry_run, error_count=validation.error_count,
        errors=storable(validation.errors),
    )
