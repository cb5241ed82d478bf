"""An index for "which metrics does anyone have this week" and for sorting the scorecard by a KPI.

Both read one week of one tenant. The unique (tenant, rep, metric, week) index can only answer that
with one probe per rep: for a tenant-wide view of ten thousand reps, a metric nobody reported that
week cost ten thousand probes (≈130 ms each) on every page view. With (tenant, week, metric) it is
one probe, and a KPI sort reads the week's values in one range scan. B-tree deduplication keeps it
small (a few weeks × metrics distinct keys per tenant): 34 MB for five million values.

PostgreSQL only, built CONCURRENTLY so a large table stays writable meanwhile, as 0003 does; the
model does not declare it. SQLite (the demo, a few thousand values) skips it.
"""

from django.db import migrations

INDEX = "kpivalue_tenant_week_metric"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON reports_kpivalue (tenant_id, period_start, metric_id)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("reports", "0005_row_level_security"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
