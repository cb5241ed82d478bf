"""The database side of a KPI import: the tenant's metrics and reps looked up once, change counts,
and the all-or-nothing write.

On PostgreSQL valid rows are COPY'd into a temporary staging table and upserted with one
INSERT … ON CONFLICT (tenant_id, membership_id, metric_id, period_start) DO UPDATE; elsewhere
(SQLite for the demo) `bulk_create(update_conflicts=True)` does the same in batches. Either way the
caller holds one transaction around the write, so a failure leaves every value as it was.
"""

from __future__ import annotations

import io
import uuid
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from coachhub.tenancy.models import Membership, Role, Tenant
from coachhub.tenancy.selectors import visible_rep_memberships

from ..models import KpiImport, KpiMetric, KpiSource, KpiValue
from .metrics import BUILTIN_METRICS
from .parsing import MetricRule
from .validation import RepDirectory, ValidRows

COPY_CHUNK_ROWS = 100_000
BULK_BATCH = 2_000


def ensure_builtin_metrics(*, tenant: Tenant) -> None:
    """Creates the built-in metrics a tenant doesn't have yet (cheap when it has them all)."""
    existing = set(KpiMetric.objects.for_tenant(tenant).filter(is_builtin=True).values_list("key", flat=True))
    missing = [spec for spec in BUILTIN_METRICS if spec.key not in existing]
    if not missing:
        return
    KpiMetric.objects.for_tenant(tenant).bulk_create(
        [
            KpiMetric(
                tenant=tenant, key=spec.key, label=spec.label, unit=spec.unit, higher_is_better=spec.higher_is_better,
                is_builtin=True, min_value=spec.min_value, max_value=spec.max_value, aliases=spec.aliases,
            )
            for spec in missing
        ],
        ignore_conflicts=True,
    )


def metric_rules(*, tenant: Tenant) -> tuple[list[MetricRule], dict[str, list[str]]]:
    ensure_builtin_metrics(tenant=tenant)
    metrics = list(KpiMetric.objects.for_tenant(tenant).order_by("id"))
    rules = [MetricRule(m.id, m.key, m.label, m.unit, m.min_value, m.max_value) for m in metrics]
    aliases = {m.key: [str(a) for a in (m.aliases or [])] for m in metrics}
    return rules, aliases


def rep_directory(*, tenant: Tenant, actor: Membership | None) -> RepDirectory:
    """The people this import may write KPIs for: managers their teams' reps, leads and admins
    everyone in the tenant. Never another tenant's people."""
    if actor is None:
        people = Membership.objects.for_tenant(tenant)
        hint = "no one in this workspace has it"
    else:
        people = visible_rep_memberships(membership=actor)
        hint = (
            "no rep in your teams has it" if actor.role == Role.MANAGER else "no one in this workspace has it"
        )
    by_email: dict[str, int] = {}
    by_external_id: dict[str, int] = {}
    for membership_id, email, external_id in people.values_list("id", "user__email", "external_id"):
        by_email[email.strip().lower()] = membership_id
        if external_id:
            by_external_id[external_id.strip().lower()] = membership_id
    return RepDirectory(by_email=by_email, by_external_id=by_external_id, unknown_hint=hint)


# --- change counts ------------------------------------------------------------------------------


def change_counts(*, tenant: Tenant, rows: ValidRows) -> tuple[int, int, int]:
    """(to create, to update, unchanged) if these rows were written now. Writes nothing."""
    if not len(rows):
        return 0, 0, 0
    if connection.vendor == "postgresql":
        with transaction.atomic():
            stage = _stage(rows)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"""
                    SELECT count(*) FILTER (WHERE v.id IS NULL),
                           count(*) FILTER (WHERE v.id IS NOT NULL AND v.value IS DISTINCT FROM s.value)
                    FROM {stage} s
                    LEFT JOIN {_table()} v ON v.tenant_id = %s AND v.membership_id = s.membership_id
                        AND v.metric_id = s.metric_id AND v.period_start = DATE '0001-01-01' + (s.period - 1)
                    """,
                    [tenant.id],
                )
                created, updated = cursor.fetchone()
                cursor.execute(f"DROP TABLE {stage}")
        return created, updated, len(rows) - created - updated
    existing = _existing_values(tenant, rows)
    created = updated = 0
    for membership_id, metric_id, period, value in rows:
        old = existing.get((membership_id, metric_id, period))
        if old is None:
            created += 1
        elif old != value:
            updated += 1
    return created, updated, len(rows) - created - updated


def existing_for_sample(*, tenant: Tenant, sample: list[dict]) -> list[dict]:
    """Marks each sample row new / update / same against what is stored."""
    if not sample:
        return sample
    stored = {
        (m, k, p.isoformat()): v
        for m, k, p, v in KpiValue.objects.for_tenant(tenant)
        .filter(
            membership_id__in={row["membership_id"] for row in sample},
            period_start__in={row["period_start"] for row in sample},
        )
        .values_list("membership_id", "metric__key", "period_start", "value")
    }
    for row in sample:
        old = stored.get((row["membership_id"], row["metric"], row["period_start"]))
        row["change"] = "new" if old is None else ("same" if old == row["value"] else "update")
        row["previous"] = old
    return sample


# --- the write ----------------------------------------------------------------------------------


def write_rows(
    *, tenant: Tenant, rows: ValidRows, source: KpiSource, kpi_import: KpiImport | None
) -> tuple[int, int, int]:
    """Upserts every row; the caller holds the transaction. Returns (created, updated, unchanged)."""
    if not len(rows):
        return 0, 0, 0
    now = timezone.now()
    import_id = kpi_import.pk if kpi_import is not None else None
    if connection.vendor == "postgresql":
        stage = _stage(rows)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH upserted AS (
                    INSERT INTO {_table()} (tenant_id, membership_id, metric_id, period_start, value,
                                            source_id, import_id, updated_at)
                    SELECT %s, s.membership_id, s.metric_id, DATE '0001-01-01' + (s.period - 1), s.value, %s, %s, %s
                    FROM {stage} s
                    ORDER BY s.membership_id, s.metric_id, s.period  -- index order: far fewer page visits
                    ON CONFLICT (tenant_id, membership_id, metric_id, period_start) DO UPDATE
                        SET value = EXCLUDED.value, source_id = EXCLUDED.source_id,
                            import_id = EXCLUDED.import_id, updated_at = EXCLUDED.updated_at
                        WHERE {_table()}.value IS DISTINCT FROM EXCLUDED.value
                    RETURNING (xmax = 0) AS inserted
                )
                SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted
                """,
                [tenant.id, source.pk, import_id, now],
            )
            created, updated = cursor.fetchone()
            cursor.execute(f"DROP TABLE {stage}")
        return created, updated, len(rows) - created - updated

    existing = _existing_values(tenant, rows)
    created = updated = 0
    batch: list[KpiValue] = []
    manager = KpiValue.objects.for_tenant(tenant)
    for membership_id, metric_id, period, value in rows:
        old = existing.get((membership_id, metric_id, period))
        if old is None:
            created += 1
        elif old == value:
            continue
        else:
            updated += 1
        batch.append(KpiValue(
            tenant=tenant, membership_id=membership_id, metric_id=metric_id,
            period_start=date.fromordinal(period), value=value, source=source, kpi_import_id=import_id,
            updated_at=now,
        ))
        if len(batch) >= BULK_BATCH:
            _bulk_upsert(manager, batch)
            batch = []
    if batch:
        _bulk_upsert(manager, batch)
    return created, updated, len(rows) - created - updated


def _bulk_upsert(manager, batch: list[KpiValue]) -> None:
    manager.bulk_create(
        batch,
        update_conflicts=True,
        unique_fields=["tenant", "membership", "metric", "period_start"],
        update_fields=["value", "source", "kpi_import", "updated_at"],
    )


def _existing_values(tenant: Tenant, rows: ValidRows) -> dict[tuple[int, int, int], float]:
    periods = {date.fromordinal(p) for p in set(rows.periods)}
    metric_ids = set(rows.metric_ids)
    return {
        (m, k, p.toordinal()): v
        for m, k, p, v in KpiValue.objects.for_tenant(tenant)
        .filter(period_start__in=periods, metric_id__in=metric_ids)
        .values_list("membership_id", "metric_id", "period_start", "value")
        .iterator(chunk_size=10_000)
    }


def _table() -> str:
    return connection.ops.quote_name(KpiValue._meta.db_table)


def _stage(rows: ValidRows) -> str:
    """COPYs the rows into a new temporary table (dropped at the latest when the transaction ends)."""
    name = f"kpi_stage_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {name} (membership_id bigint, metric_id bigint, period integer, "
            "value double precision) ON COMMIT DROP"
        )
        raw = cursor.cursor  # the psycopg2 cursor: COPY has no DB-API spelling
        line = "%d\t%d\t%d\t%r\n".__mod__
        total = len(rows)
        for start in range(0, total, COPY_CHUNK_ROWS):
            end = min(total, start + COPY_CHUNK_ROWS)
            buffer = io.StringIO("".join(map(line, zip(
                rows.membership_ids[start:end], rows.metric_ids[start:end], rows.periods[start:end],
                rows.values[start:end], strict=True,
            ))))
            raw.copy_expert(f"COPY {name} (membership_id, metric_id, period, value) FROM STDIN", buffer)
    return name
