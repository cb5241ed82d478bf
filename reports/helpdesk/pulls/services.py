"""Writes of help-desk API connections: connect / replace the token / disconnect, and the sync.

A sync fetches every page first (nothing is written while the vendor is being read), then in one
transaction upserts the tickets by id, aggregates every stored ticket of the weeks they touch through
the file preset's own reader (reports.helpdesk.reading, so the values and their definitions are what
an upload of the same tickets gives), writes those weekly values, drops values of this source that
the weeks no longer produce, records the sync as a KPI import, and only then saves the cursor. Any
fault (a refused token, rate limits that don't let up, an unknown agent, a bad cell) rolls all of it
back: the next sync starts from the same cursor."""

from __future__ import annotations

import csv
import logging
import re
import tempfile
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from coachhub.core.crypto import SecretUnreadable, decrypt_secret, encrypt_secret
from coachhub.core.errors import ApplicationError
from coachhub.core.text import storable
from coachhub.tenancy.models import Membership, Tenant, User
from coachhub.tenancy.services import audit_record

from ...kpi.importing import metric_rules, rep_directory, write_rows
from ...models import KpiImport, KpiImportStatus, KpiSource, KpiValue
from ..models import HelpdeskConnection, HelpdeskPulledTicket, HelpdeskSyncStatus
from ..presets import PRESETS_BY_KEY
from ..reading import default_time_zone, validate_helpdesk_file
from ..services import agent_mappings_save
from .http import SUBDOMAIN, PullError, base_url
from .vendors import VENDORS, Pulled

logger = logging.getLogger(__name__)

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_STORED_ERRORS = 20


def max_failed_syncs() -> int:
    """Failed nightly syncs in a row after which a connection stops until an admin acts."""
    return int(getattr(settings, "HELPDESK_MAX_FAILED_SYNCS", 3))


def max_records_per_run() -> int:
    """Tickets one run reads before it commits and queues the next run to go on (a first sync of a big
    account would otherwise outlast the task's time limit, Zendesk's export allowing 10 pages a minute)."""
    return int(getattr(settings, "HELPDESK_SYNC_MAX_RECORDS", 30_000))


def first_sync_days() -> int:
    return int(getattr(settings, "HELPDESK_FIRST_SYNC_DAYS", 90))


def vendor_get(key: str):
    vendor = VENDORS.get(key)
    if vendor is None:
        raise ApplicationError(f"“{key}” is not a help desk CoachHub can connect to.", code="unknown_vendor",
                               status_code=404)
    return vendor


def clean_subdomain(vendor, raw: str) -> str:
    """The subdomain as typed, or a clear refusal: never a URL, a path or another host."""
    if not vendor.needs_subdomain:
        return ""
    text = (raw or "").strip().lower()
    if not text:
        raise ApplicationError(f"Enter your {vendor.label} subdomain ({vendor.subdomain_hint}).",
                               code="invalid_subdomain", fields={"subdomain": ["Enter the subdomain."]})
    if not SUBDOMAIN.fullmatch(text):
        hint = ""
        match = re.match(r"^(?:https?://)?([a-z0-9-]+)\." + re.escape(vendor.key) + r"\.com/?$", text)
        if match:
            hint = f" Type only “{match.group(1)}”."
        message = (f"“{raw.strip()[:80]}” is not a {vendor.label} subdomain: use letters, digits and hyphens only, "
                   f"{vendor.subdomain_hint} — not a web address.{hint}")
        raise ApplicationError(message, code="invalid_subdomain", fields={"subdomain": [message]})
    return text


@transaction.atomic
def helpdesk_connect(
    *, tenant: Tenant, actor: User, vendor_key: str, token: str, subdomain: str = "", login_email: str = "",
) -> HelpdeskConnection:
    """Connects the help desk, or replaces its token (and subdomain / e-mail) when it is connected.
    The token is stored encrypted and never shown again; replacing it starts the failures afresh."""
    vendor = vendor_get(vendor_key)
    token = (token or "").strip()
    if not token:
        raise ApplicationError(f"Paste the {vendor.label} API token.", code="missing_token",
                               fields={"token": ["Paste the API token."]})
    if len(token) > 2000 or any(c.isspace() for c in token):
        raise ApplicationError("That doesn't look like an API token: it has spaces or is far too long.",
                               code="invalid_token", fields={"token": ["Paste the token alone."]})
    subdomain = clean_subdomain(vendor, subdomain)
    login_email = (login_email or "").strip()
    if vendor.needs_login_email and not EMAIL.fullmatch(login_email):
        raise ApplicationError(f"Enter the e-mail of the {vendor.label} agent the token belongs to.",
                               code="invalid_login_email", fields={"login_email": ["Enter an e-mail address."]})
    connection = HelpdeskConnection.objects.for_tenant(tenant).select_for_update().filter(vendor=vendor.key).first()
    replacing = connection is not None
    if connection is None:
        source = _source_for(tenant=tenant, vendor=vendor)
        connection = HelpdeskConnection(tenant=tenant, vendor=vendor.key, source=source, connected_by=actor)
    elif connection.subdomain != subdomain:
        # Another help desk account: its tickets and cursor mean nothing here.
        HelpdeskPulledTicket.objects.for_tenant(tenant).filter(connection=connection).delete()
        connection.cursor = {}
    connection.subdomain, connection.login_email = subdomain, login_email if vendor.needs_login_email else ""
    connection.token_encrypted = encrypt_secret(token)
    connection.failures, connection.last_error, connection.unknown_agents = 0, "", []
    if connection.status in (HelpdeskSyncStatus.STOPPED, HelpdeskSyncStatus.FAILED):
        connection.status = HelpdeskSyncStatus.NEVER if connection.last_success_at is None else HelpdeskSyncStatus.OK
    connection.updated_at = timezone.now()
    connection.save()
    where = f" ({subdomain})" if subdomain else ""
    audit_record(tenant=tenant, actor=actor, action="helpdesk.token_replace" if replacing else "helpdesk.connect",
                 summary=f"{vendor.label}{where} {'API token replaced' if replacing else 'connected'}",
                 target=connection)
    return connection


def _source_for(*, tenant: Tenant, vendor) -> KpiSource:
    """The KPI source the pulled values are written through: it carries the preset, the weeks' time
    zone and the agent mappings, as a file source does."""
    name = f"{vendor.label} API"
    source = KpiSource.objects.for_tenant(tenant).filter(name__iexact=name).first()
    mapping = {"preset": vendor.preset_key, "timezone": default_time_zone()}
    if source is None:
        source = KpiSource.objects.for_tenant(tenant).create(tenant=tenant, name=name, column_mapping=mapping)
    elif (source.column_mapping or {}).get("preset") != vendor.preset_key:
        source.column_mapping = {**(source.column_mapping or {}), **mapping}
        source.save(update_fields=["column_mapping"])
    return source


@transaction.atomic
def helpdesk_disconnect(*, tenant: Tenant, actor: User, vendor_key: str) -> None:
    """Forgets the token, the cursor and the pulled tickets. KPI values already written stay."""
    vendor = vendor_get(vendor_key)
    connection = HelpdeskConnection.objects.for_tenant(tenant).select_for_update().filter(vendor=vendor.key).first()
    if connection is None:
        raise ApplicationError(f"{vendor.label} isn't connected.", code="not_connected", status_code=404)
    HelpdeskPulledTicket.objects.for_tenant(tenant).filter(connection=connection).delete()
    connection.delete()
    audit_record(tenant=tenant, actor=actor, action="helpdesk.disconnect",
                 summary=f"{vendor.label} disconnected; its API token and pulled tickets were deleted")


@transaction.atomic
def helpdesk_sync_request(*, tenant: Tenant, actor: User, vendor_key: str) -> HelpdeskConnection:
    """“Sync now”: queues a sync after commit, even of a stopped connection (the admin asked)."""
    vendor = vendor_get(vendor_key)
    connection = HelpdeskConnection.objects.for_tenant(tenant).filter(vendor=vendor.key).first()
    if connection is None:
        raise ApplicationError(f"Connect {vendor.label} first.", code="not_connected", status_code=404)
    from ...tasks import pull_helpdesk

    tenant_id, connection_id = tenant.pk, connection.pk
    transaction.on_commit(lambda: pull_helpdesk.delay(tenant_id=tenant_id, connection_id=connection_id, manual=True))
    audit_record(tenant=tenant, actor=actor, action="helpdesk.sync_request", summary=f"{vendor.label} sync requested",
                 target=connection)
    return connection


def helpdesk_agents_map(*, tenant: Tenant, actor: User, membership: Membership, vendor_key: str,
                        choices: list[tuple[str, str]]) -> int:
    vendor = vendor_get(vendor_key)
    connection = HelpdeskConnection.objects.for_tenant(tenant).filter(vendor=vendor.key).first()
    if connection is None:
        raise ApplicationError(f"Connect {vendor.label} first.", code="not_connected", status_code=404)
    return agent_mappings_save(tenant=tenant, actor=actor, membership=membership, source=connection.source,
                               choices=choices)


# --- the sync -------------------------------------------------------------------------------------


class _NotCommitted(Exception):
    """The aggregation found problems: roll the ticket upsert back and report them."""

    def __init__(self, validation):
        self.validation = validation


def stale_after() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "CELERY_TASK_TIME_LIMIT", 1800)) + 60)


def helpdesk_sync_run(*, tenant: Tenant, connection_id: int, manual: bool = False) -> HelpdeskConnection | None:
    """One sync of one connection (the nightly task and “Sync now”). Idempotent: running it twice
    upserts the same tickets and leaves the values as they were. A stopped connection only syncs
    when an admin asks (`manual`)."""
    with transaction.atomic():
        connection = (HelpdeskConnection.objects.for_tenant(tenant).select_for_update()
                      .select_related("source").filter(pk=connection_id).first())
        if connection is None:
            logger.info("helpdesk connection %s of tenant %s is gone; nothing to do", connection_id, tenant.pk)
            return None
        if connection.status == HelpdeskSyncStatus.STOPPED and not manual:
            return connection
        if connection.status == HelpdeskSyncStatus.RUNNING and timezone.now() - connection.updated_at < stale_after():
            logger.info("helpdesk connection %s is already syncing", connection_id)
            return connection
        connection.status, connection.updated_at = HelpdeskSyncStatus.RUNNING, timezone.now()
        connection.save(update_fields=["status", "updated_at"])
    vendor = VENDORS[connection.vendor]
    started = timezone.now()
    client = None
    try:
        try:
            token = decrypt_secret(connection.token_encrypted)
        except SecretUnreadable:
            raise PullError("The stored API token can't be decrypted (the server's key changed); replace the token.",
                            code="token_unreadable", stop=True) from None
        client = vendor.client(base=base_url(vendor.key, connection.subdomain), token=token,
                               login_email=connection.login_email)
        del token
        pulled = vendor.pull(client, cursor=dict(connection.cursor or {}),
                             start=started - timedelta(days=first_sync_days()), limit=max_records_per_run())
        counts = {"fetched": pulled.fetched, "ratings": pulled.ratings, "requests": client.requests,
                  "waited_s": round(client.waited_s, 1), "more": pulled.more}
        return _commit(tenant=tenant, connection_id=connection.pk, vendor=vendor, pulled=pulled, counts=counts,
                       started=started, manual=manual)
    except PullError as exc:
        counts = {"requests": client.requests, "waited_s": round(client.waited_s, 1)} if client else {}
        return _failed(tenant=tenant, connection_id=connection.pk, vendor=vendor, message=exc.message, code=exc.code,
                       stop=exc.stop, counts=counts, started=started)
    except _NotCommitted as exc:
        validation = exc.validation
        unknown = [{"agent": u["agent"], "rows": u["rows"]} for u in validation.unknown_agents]
        if unknown:
            message = (f"{len(unknown)} agent(s) aren't mapped to members yet, so nothing was written: map or ignore "
                       "them below, then sync again.")
        else:
            message = f"The pulled tickets have {validation.error_count} problem(s), so nothing was written."
        return _failed(tenant=tenant, connection_id=connection.pk, vendor=vendor, message=message,
                       code="needs_mapping" if unknown else "bad_rows", stop=False, counts={}, started=started,
                       errors=validation.errors[:MAX_STORED_ERRORS], unknown=unknown)
    except Exception:
        logger.exception("helpdesk sync of connection %s failed unexpectedly", connection_id)
        _failed(tenant=tenant, connection_id=connection.pk, vendor=vendor, code="unexpected", stop=False, counts={},
                started=started, message="The sync stopped unexpectedly; nothing was written. It is tried again tonight.")
        raise
    finally:
        if client is not None:
            client.close()


def _commit(*, tenant: Tenant, connection_id: int, vendor, pulled: Pulled, counts: dict,
            started: datetime, manual: bool) -> HelpdeskConnection:
    with transaction.atomic():
        connection = HelpdeskConnection.objects.for_tenant(tenant).select_for_update().select_related("source").get(
            pk=connection_id)
        source = connection.source
        zone = ZoneInfo(str((source.column_mapping or {}).get("timezone") or default_time_zone()))
        touched, saved = _upsert_tickets(tenant=tenant, connection=connection, vendor=vendor, pulled=pulled)
        counts.update({"tickets": saved, "weeks": 0, "created": 0, "updated": 0, "unchanged": 0, "removed": 0})
        kpi_import = None
        moments = [m for m in touched if m is not None]
        if moments:
            first, last = _week_start(min(moments), zone), _week_start(max(moments), zone) + timedelta(days=7)
            validation, kpi_import = _aggregate(tenant=tenant, connection=connection, vendor=vendor, first=first,
                                                last=last, started=started)
            rows = validation.rows if validation is not None else ()
            counts["weeks"] = len({period for _, _, period, _ in rows})
            counts["removed"] = _remove_stale(tenant=tenant, source=source, rows=rows, first=first, last=last,
                                              preset_key=vendor.preset_key)
            if validation is not None:
                created, updated, unchanged = write_rows(tenant=tenant, rows=validation.rows, source=source,
                                                         kpi_import=kpi_import)
                counts.update({"created": created, "updated": updated, "unchanged": unchanged})
                _record_import(kpi_import, validation, created, updated, unchanged)
        connection.cursor = pulled.cursor
        connection.status, connection.failures = HelpdeskSyncStatus.OK, 0
        connection.last_sync_at = connection.last_success_at = timezone.now()
        connection.last_counts, connection.last_error, connection.unknown_agents = counts, "", []
        connection.last_import = kpi_import or connection.last_import
        connection.updated_at = timezone.now()
        connection.save()
        audit_record(
            tenant=tenant, actor=None, action="helpdesk.sync", target=connection,
            summary=(f"{vendor.label} synced: {counts['fetched']} fetched, {counts['created']} values created, "
                     f"{counts['updated']} updated, {counts['unchanged']} unchanged"
                     + ("; more to read, continuing" if pulled.more else "")),
        )
        if pulled.more:
            from ...tasks import pull_helpdesk

            tenant_id = tenant.pk
            transaction.on_commit(lambda: pull_helpdesk.delay(tenant_id=tenant_id, connection_id=connection_id,
                                                              manual=manual))
    logger.info("helpdesk sync tenant=%s vendor=%s fetched=%s created=%s updated=%s", tenant.pk, vendor.key,
                counts["fetched"], counts["created"], counts["updated"])
    return connection


def _failed(*, tenant: Tenant, connection_id: int, vendor, message: str, code: str, stop: bool, counts: dict,
            started: datetime, errors: list | None = None, unknown: list | None = None) -> HelpdeskConnection | None:
    with transaction.atomic():
        connection = HelpdeskConnection.objects.for_tenant(tenant).select_for_update().filter(pk=connection_id).first()
        if connection is None:
            return None
        mapping = code == "needs_mapping"
        if not mapping:
            connection.failures += 1  # unmapped agents aren't a fault of the connection
        stopped = stop or connection.failures >= max_failed_syncs()
        connection.status = (HelpdeskSyncStatus.STOPPED if stopped else
                             HelpdeskSyncStatus.NEEDS_MAPPING if mapping else HelpdeskSyncStatus.FAILED)
        if stopped and not stop:
            message += (f" The sync failed {connection.failures} times in a row and has stopped: check the connection, "
                        "then use Sync now or replace the token.")
        connection.last_sync_at, connection.updated_at = timezone.now(), timezone.now()
        connection.last_error = storable(message)
        connection.last_counts = storable({**counts, "errors": errors or []})
        connection.unknown_agents = storable(unknown or [])
        connection.save()
        audit_record(tenant=tenant, actor=None, target=connection,
                     action="helpdesk.sync_stopped" if stopped else "helpdesk.sync_failed",
                     summary=f"{vendor.label} sync {'stopped' if stopped else 'failed'} ({code}): {message}"[:300])
    logger.warning("helpdesk sync tenant=%s vendor=%s failed code=%s stopped=%s", tenant.pk, vendor.key, code, stopped)
    return connection


def _upsert_tickets(*, tenant: Tenant, connection: HelpdeskConnection, vendor, pulled: Pulled) -> tuple[list, int]:
    """Saves the pulled rows by id; returns the week times they had and have (the weeks to redo) and
    how many rows were saved."""
    manager = HelpdeskPulledTicket.objects.for_tenant(tenant)
    ids = [r.external_id for r in pulled.records] + list(pulled.rating_updates)
    sticky = getattr(vendor, "sticky_columns", ())
    existing = manager.filter(connection=connection, external_id__in=ids)
    if not sticky and not pulled.rating_updates:
        existing = existing.only("external_id", "closed_at")  # the cells are only read to merge ratings
    stored = {t.external_id: t for t in existing}
    now = timezone.now()
    touched: list = []
    rows: list[HelpdeskPulledTicket] = []
    for record in pulled.records:
        old = stored.get(record.external_id)
        cells = dict(record.cells)
        if old is not None:
            touched.append(old.closed_at)
            for column in sticky:  # a rating read in an earlier sync stays until a newer one comes
                if not cells.get(column) and old.cells.get(column):
                    cells[column] = old.cells[column]
        touched.append(record.closed_at)
        rows.append(HelpdeskPulledTicket(tenant=tenant, connection=connection, external_id=record.external_id[:64],
                                         closed_at=record.closed_at, cells=storable(cells), updated_at=now))
    for external_id, update in pulled.rating_updates.items():
        old = stored.get(external_id)
        if old is None:
            continue  # rated before CoachHub saw the ticket: it arrives with the ticket
        touched.append(old.closed_at)
        rows.append(HelpdeskPulledTicket(tenant=tenant, connection=connection, external_id=external_id,
                                         closed_at=old.closed_at, cells=storable({**old.cells, **update}), updated_at=now))
    if rows:
        manager.bulk_create(rows, batch_size=2000, update_conflicts=True,
                            unique_fields=["tenant", "connection", "external_id"],
                            update_fields=["closed_at", "cells", "updated_at"])
    return touched, len(rows)


def _week_start(moment: datetime, zone: ZoneInfo) -> datetime:
    local = moment.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday, time(0), tzinfo=zone)


def _aggregate(*, tenant: Tenant, connection: HelpdeskConnection, vendor, first: datetime, last: datetime,
               started: datetime):
    """Every stored ticket of the weeks [first, last) written as the preset's CSV and read exactly as an
    upload through this source would be: (validation, the sync's import), or (None, None) when those
    weeks hold no ticket now. Raises _NotCommitted with the problems."""
    source = connection.source
    tickets = (HelpdeskPulledTicket.objects.for_tenant(tenant)
               .filter(connection=connection, closed_at__gte=first, closed_at__lt=last)
               .order_by("closed_at", "external_id").values_list("cells", flat=True))
    if not tickets.exists():
        return None, None  # the weeks' only tickets left them (reopened, deleted): nothing to aggregate
    metrics, _ = metric_rules(tenant=tenant)
    reps = rep_directory(tenant=tenant, actor=None)
    with tempfile.TemporaryDirectory(prefix="helpdesk-pull-") as folder:
        path = Path(folder) / f"{vendor.key}.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(vendor.columns)
            for cells in tickets.iterator(chunk_size=5000):
                writer.writerow([cells.get(column, "") for column in vendor.columns])
        validation = validate_helpdesk_file(tenant=tenant, source=source, path=path, reps=reps, metrics=metrics,
                                            max_errors=200)
    if validation is None or not validation.ok:
        raise _NotCommitted(validation)
    kpi_import = KpiImport.objects.for_tenant(tenant).create(
        tenant=tenant, source=source, file_name=f"{vendor.label} API sync {started:%Y-%m-%d %H:%M} UTC"[:255],
        stored_path="", sha256="", status=KpiImportStatus.RUNNING,
    )
    return validation, kpi_import


def _remove_stale(*, tenant: Tenant, source: KpiSource, rows, first: datetime, last: datetime,
                  preset_key: str) -> int:
    """Values this source wrote for the redone weeks that the weeks no longer produce (a ticket moved
    to another week or agent): deleted, so a week reads as its tickets say."""
    keys = {m.metric for m in PRESETS_BY_KEY[preset_key].derivations}
    produced = {(membership_id, metric_id, period) for membership_id, metric_id, period, _ in rows}
    stale = [
        value_id for value_id, membership_id, metric_id, period in
        KpiValue.objects.for_tenant(tenant).filter(
            source=source, metric__key__in=keys, period_start__gte=first.date(), period_start__lt=last.date(),
        ).values_list("id", "membership_id", "metric_id", "period_start")
        if (membership_id, metric_id, period.toordinal()) not in produced
    ]
    if stale:
        KpiValue.objects.for_tenant(tenant).filter(id__in=stale).delete()
    return len(stale)


def _record_import(kpi_import: KpiImport, validation, created: int, updated: int, unchanged: int) -> None:
    kpi_import.total_rows = kpi_import.processed_rows = validation.rows_read
    kpi_import.created_count, kpi_import.updated_count, kpi_import.unchanged_count = created, updated, unchanged
    kpi_import.notices = storable(validation.notices)
    kpi_import.sample = storable(validation.sample)
    kpi_import.preset, kpi_import.preset_confidence = validation.preset, validation.preset_confidence
    kpi_import.definitions = storable(validation.definitions)
    kpi_import.status = KpiImportStatus.COMMITTED
    kpi_import.finished_at = kpi_import.updated_at = timezone.now()
    kpi_import.save()
