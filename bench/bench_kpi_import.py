"""KPI import throughput against a raw PostgreSQL COPY of the same file.

Generates a long KPI CSV (default 1,000,000 rows: 2,000 reps × 100 weeks × 5 metrics) for a tenant
with ~2,000 reps, then times, in the same run and database:
  1. the import (the `import_kpis` service: read, validate every row, stage, upsert in one transaction)
     into an empty table, and again as a re-import where every value is unchanged;
  2. a raw `COPY … FROM STDIN (FORMAT csv)` of the same file into a plain text staging table
     (psycopg2 copy_expert), the floor any import that checks its rows is measured against.
Prints figures and the ratio (goal: import ≥ 0.5× COPY); never pass/fail. Each import is also run in
phases (validate, stage = COPY into the temporary table, upsert = compare and write, commit), with
the same functions the service calls, so it is clear where the time goes; "total" is the service.
The import connects as production's web and worker processes do: as the application role, bound by
row-level security (every written row passes the tenant policy), not as the table's owner.

Two floors put the goal in proportion, measured in the same run and rolled back: a binary COPY of the
already-validated rows straight into the KPI table (its heap and indexes, no checks at all: no
import into this table can be faster), and the same COPY into an index-less copy of the table (the
heap alone: one row per rep, metric and week).

First, a help-desk ticket export (default 1,000,000 Zendesk tickets, --tickets N): the aggregation to
weekly per-rep values alone (DuckDB) with the process's peak memory, then the whole import of it.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/coachhub_bench .venv/bin/python bench/bench_kpi_import.py
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from array import array
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._server import APP_ROLE, setup_django  # noqa: E402

METRICS = ("csat", "avg_handling_time", "escalation_rate", "first_contact_resolution", "nps")
TENANT_SLUG = "kpi-bench"
POSTGRES_EPOCH = date(2000, 1, 1).toordinal()
POSTGRES_EPOCH_UNIX = 946_684_800  # 2000-01-01T00:00:00Z


def seed_tenant(reps: int):
    from coachhub.tenancy.context import tenant_context
    from coachhub.tenancy.models import Membership, Role, Tenant, User

    tenant, _ = Tenant.objects.get_or_create(slug=TENANT_SLUG, defaults={"name": "KPI Bench Co."})
    emails = [f"agent{n:05d}@kpi-bench.example" for n in range(reps)]
    existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
    User.objects.bulk_create([User(email=e, full_name=f"Agent {e[5:10]}") for e in emails if e not in existing])
    users = User.objects.filter(email__in=emails)
    with tenant_context(tenant):
        members = set(Membership.objects.for_tenant(tenant).values_list("user_id", flat=True))
        Membership.objects.for_tenant(tenant).bulk_create(
            [Membership(tenant=tenant, user=u, role=Role.REP) for u in users if u.id not in members]
        )
    return tenant, emails


def write_file(path: Path, emails: list[str], weeks: int) -> int:
    from datetime import date

    from reports.kpi.parsing import monday_of

    latest = monday_of(date.today()) - timedelta(weeks=1)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("rep_email,period_start,metric,value\n")
        for w in range(weeks):
            week = (latest - timedelta(weeks=w)).isoformat()
            chunk = []
            for n, email in enumerate(emails):
                base = (n * 7 + w * 3) % 50
                chunk.append(f"{email},{week},csat,{50 + base / 2:.1f}%\n")
                chunk.append(f"{email},{week},avg_handling_time,{240 + base * 3}\n")
                chunk.append(f"{email},{week},escalation_rate,{base / 5:.2f}\n")
                chunk.append(f"{email},{week},first_contact_resolution,{60 + base / 2:.1f}\n")
                chunk.append(f"{email},{week},nps,{base * 2 - 40}\n")
                rows += 5
            out.write("".join(chunk))
    return rows


def time_import(tenant, path: Path):
    from coachhub.tenancy.context import tenant_context
    from reports import services

    with tenant_context(tenant):
        started = time.perf_counter()
        summary = services.kpi_file_import(tenant=tenant, path=path, source_name="Bench export")
        elapsed = time.perf_counter() - started
    if not summary.ok:
        raise SystemExit(f"the bench file did not validate: {summary.errors[:3]}")
    return elapsed, summary


def time_phases(tenant, path: Path) -> dict[str, float]:
    """The import's steps one by one (the same calls the service makes), then rolled back."""
    from django.db import transaction

    from coachhub.tenancy.context import tenant_context
    from reports import services
    from reports.kpi.importing import _stage, lock_for_write, upsert_staged

    with tenant_context(tenant):
        source = services.kpi_source_save(tenant=tenant, actor=None, name="Bench export")
        phases: dict[str, float] = {}
        started = time.perf_counter()
        validation, _ = services._validate_path(tenant=tenant, source=source, path=path, actor=None)
        phases["validate"] = time.perf_counter() - started
        rows = validation.rows
        with transaction.atomic():
            started = time.perf_counter()
            lock_for_write(tenant=tenant, rows=rows)
            stage = _stage(rows)
            phases["stage"] = time.perf_counter() - started
            started = time.perf_counter()
            upsert_staged(tenant=tenant, stage=stage, total=len(rows), source=source, kpi_import=None,
                          first_period=min(rows.periods), last_period=max(rows.periods))
            phases["upsert"] = time.perf_counter() - started
            transaction.set_rollback(True)
    return phases


def time_floors(tenant, path: Path) -> dict[str, float]:
    """Writing the validated rows with nothing else done, rolled back: into the KPI table itself, in
    its index order, and into an index-less copy of it."""
    from django.db import connection, transaction

    from coachhub.tenancy.context import tenant_context
    from reports import services
    from reports.kpi.importing import _binary_copy
    from reports.models import KpiValue

    table = connection.ops.quote_name(KpiValue._meta.db_table)
    with tenant_context(tenant):
        source = services.kpi_source_save(tenant=tenant, actor=None, name="Bench export")
        validation, _ = services._validate_path(tenant=tenant, source=source, path=path, actor=None)
    rows = validation.rows
    order = sorted(range(len(rows)), key=lambda i: (rows.membership_ids[i], rows.metric_ids[i], rows.periods[i]))
    count = len(order)
    columns = (
        array("q", [tenant.pk]) * count,
        array("q", (rows.membership_ids[i] for i in order)),
        array("q", (rows.metric_ids[i] for i in order)),
        # binary COPY of a date: days since 2000-01-01
        array("i", (rows.periods[i] - POSTGRES_EPOCH for i in order)),
        array("d", (rows.values[i] for i in order)),
        # binary COPY of a timestamptz: microseconds since 2000-01-01 UTC
        array("q", [int((time.time() - POSTGRES_EPOCH_UNIX) * 1_000_000)]) * count,
    )
    payload = _binary_copy(*columns)
    floors: dict[str, float] = {}
    for label, target in (("into the KPI table", table), ("into an index-less copy of it", "kpi_floor_heap")):
        with transaction.atomic():
            with connection.cursor() as cursor:
                if target == "kpi_floor_heap":
                    cursor.execute(f"CREATE TEMPORARY TABLE kpi_floor_heap (LIKE {table} INCLUDING DEFAULTS "
                                   "INCLUDING IDENTITY) ON COMMIT DROP")
                started = time.perf_counter()
                cursor.cursor.copy_expert(
                    f"COPY {target} (tenant_id, membership_id, metric_id, period_start, value, updated_at) FROM STDIN "
                    "(FORMAT binary)", io.BytesIO(payload), size=1 << 20,
                )
                floors[label] = time.perf_counter() - started
            transaction.set_rollback(True)
    return floors


def vacuum_kpis() -> None:
    """Clears the dead rows a rolled-back write left, which would otherwise slow the next one down."""
    from django.db import connection

    from reports.models import KpiValue

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM {connection.ops.quote_name(KpiValue._meta.db_table)}")


@contextmanager
def connected_as(role: str):
    """Runs the block on a connection as `role` (trust auth on loopback), as production's worker
    connects: the application role, bound by row-level security, not the owner."""
    from django.db import connection

    saved = connection.settings_dict["USER"]
    connection.close()
    connection.settings_dict["USER"] = role
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["USER"] = saved


def show_phases(phases: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in phases.items())


def time_copy(path: Path) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS kpi_copy_bench")
        cursor.execute(
            "CREATE TABLE kpi_copy_bench (rep_email text, period_start text, metric text, value text)"
        )
    connection.commit() if not connection.get_autocommit() else None
    raw = connection.connection  # psycopg2
    with raw.cursor() as cursor, path.open("r", encoding="utf-8") as source:
        started = time.perf_counter()
        cursor.copy_expert("COPY kpi_copy_bench FROM STDIN WITH (FORMAT csv, HEADER true)", source)
        raw.commit()
        elapsed = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM kpi_copy_bench")
        copied = cursor.fetchone()[0]
        cursor.execute("DROP TABLE kpi_copy_bench")
        raw.commit()
    return elapsed, copied


def write_ticket_file(path: Path, emails: list[str], rows: int) -> int:
    """A Zendesk ticket export: one row per solved ticket, agents by e-mail, a year of weeks, ratings
    Good/Bad/Offered/blank, a few reopens and escalations."""
    header = ("Id,Subject,Assignee,Group,Created at,Solved at,Satisfaction Score,Group stations,Assignee stations,"
              "Reopens,Replies,First reply time in minutes,Full resolution time in minutes\n")
    ratings = ("Good", "Good", "Bad", "Offered", "Not Offered", "")
    first_day = date.today() - timedelta(days=365)
    with path.open("w", encoding="utf-8") as out:
        out.write(header)
        chunk = []
        for n in range(rows):
            day = first_day + timedelta(days=n % 360)
            solved = f"{day.isoformat()} {n % 24:02d}:{n % 60:02d}:00"
            chunk.append(f"{n + 1},Ticket {n},{emails[n % len(emails)]},Tier {n % 3 + 1},{solved},{solved},"
                         f"{ratings[n % 6]},{1 + (n % 7 == 0)},1,{int(n % 11 == 0)},{n % 4},{n % 90},{n % 900}\n")
            if len(chunk) == 50_000:
                out.writelines(chunk)
                chunk = []
        out.writelines(chunk)
    return rows


def time_tickets(tenant, emails: list[str], rows: int) -> None:
    """The ticket-file path: aggregation alone (DuckDB: read, check every cell, group by rep and
    week), then the whole command-line import of the same file (aggregate + write the weekly values)."""
    import resource

    from coachhub.tenancy.context import tenant_context
    from reports import services
    from reports.helpdesk.aggregate import memory_limit
    from reports.helpdesk.reading import validate_helpdesk_file
    from reports.kpi.importing import metric_rules, rep_directory
    from reports.models import KpiSource

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "zendesk-tickets.csv"
        started = time.perf_counter()
        write_ticket_file(path, emails, rows)
        size_mb = path.stat().st_size / 1024 / 1024
        print(f"ticket file: {rows:,} Zendesk tickets, {size_mb:.1f} MB, {len(emails):,} agents "
              f"(written in {time.perf_counter() - started:.1f} s)")
        with tenant_context(tenant):
            metrics, _ = metric_rules(tenant=tenant)
            reps = rep_directory(tenant=tenant, actor=None)
            source = KpiSource(tenant=tenant, name="Zendesk bench", column_mapping={"timezone": "UTC"})
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            started = time.perf_counter()
            validation = validate_helpdesk_file(tenant=tenant, source=source, path=path, reps=reps, metrics=metrics,
                                                max_errors=200)
            seconds = time.perf_counter() - started
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            assert validation is not None and validation.ok, validation.errors if validation else "not a preset"
            print(f"ticket aggregation: {seconds:.2f} s, {rows / seconds:,.0f} tickets/s → {len(validation.rows):,} "
                  f"weekly values; process peak RSS {peak:.0f} MB (+{max(0.0, peak - before):.0f} MB over the "
                  f"{before:.0f} MB before; DuckDB memory_limit {memory_limit()})")
            started = time.perf_counter()
            summary = services.kpi_file_import(tenant=tenant, path=path, source_name="Zendesk bench")
            seconds = time.perf_counter() - started
            assert summary.ok, summary.errors
            print(f"ticket import total (aggregate + write {summary.created + summary.updated + summary.unchanged:,} "
                  f"values): {seconds:.2f} s, {rows / seconds:,.0f} tickets/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=100)
    parser.add_argument("--tickets", type=int, default=1_000_000,
                        help="rows of the Zendesk ticket export timed first (0: skip)")
    parser.add_argument("--tickets-only", action="store_true", help="time the ticket export only")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    setup_django(url if url.startswith("postgres") else None)
    from django.db import connection

    from coachhub.tenancy.context import tenant_context
    from reports.models import KpiImport, KpiValue

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']} (PostgreSQL {connection.pg_version})")
    tenant, emails = seed_tenant(args.reps)
    with tenant_context(tenant):
        KpiValue.objects.for_tenant(tenant).delete()
        KpiImport.objects.for_tenant(tenant).delete()
    if args.tickets:
        # First, while the process is small, so its peak RSS is the ticket path's.
        time_tickets(tenant, emails, args.tickets)
        with tenant_context(tenant):
            KpiValue.objects.for_tenant(tenant).delete()
            KpiImport.objects.for_tenant(tenant).delete()
        if args.tickets_only:
            return
    with connection.cursor() as cursor:  # "empty table": no dead rows of the last run left for the import to skip
        cursor.execute(f"VACUUM {connection.ops.quote_name(KpiValue._meta.db_table)}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kpis-long.csv"
        started = time.perf_counter()
        rows = write_file(path, emails, args.weeks)
        size_mb = path.stat().st_size / 1024 / 1024
        print(f"file: {rows:,} rows, {size_mb:.1f} MB, {args.reps:,} reps × {args.weeks} weeks × {len(METRICS)} "
              f"metrics (written in {time.perf_counter() - started:.1f} s)")

        copy_seconds, copied = time_copy(path)
        copy_rate = copied / copy_seconds
        print(f"raw COPY into a plain staging table: {copy_seconds:.2f} s, {copy_rate:,.0f} rows/s")

        floors = time_floors(tenant, path)  # as the owner: COPY into a table with row-level security needs it
        vacuum_kpis()
        for label, seconds in floors.items():
            print(f"floor: binary COPY of the validated rows {label} (no checks, rolled back): {seconds:.2f} s, "
                  f"{rows / seconds:,.0f} rows/s ({rows / seconds / copy_rate:.2f}× COPY)")
        with connected_as(APP_ROLE):
            phases = time_phases(tenant, path)
        vacuum_kpis()
        print(f"phases (empty table, rolled back): {show_phases(phases)}")
        with connected_as(APP_ROLE):
            first_seconds, first = time_import(tenant, path)
        first_rate = first.rows / first_seconds
        print(f"import total (empty table, {first.created:,} created): {first_seconds:.2f} s, {first_rate:,.0f} rows/s")
        with connected_as(APP_ROLE):
            phases = time_phases(tenant, path)
        vacuum_kpis()
        print(f"phases (re-import, rolled back): {show_phases(phases)}")
        with connected_as(APP_ROLE):
            again_seconds, again = time_import(tenant, path)
        again_rate = again.rows / again_seconds
        print(f"re-import total (all {again.unchanged:,} unchanged): {again_seconds:.2f} s, {again_rate:,.0f} rows/s")

    print(f"ratio import/COPY: {first_rate / copy_rate:.2f}× (first import), {again_rate / copy_rate:.2f}× (re-import)"
          " — goal ≥ 0.5×")


if __name__ == "__main__":
    main()
