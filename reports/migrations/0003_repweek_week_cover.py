"""A covering index for the scorecard's reads of one week: the behavior columns, the sort by any
column and the paging all scan one week's rows of a tenant. Through `repweek_tenant_week` each of
those rows costs a heap page (a week's rows lie scattered, one per rep), ten thousand for a large
tenant; with the columns included the scan is index-only and reads a few hundred contiguous pages.

PostgreSQL only (INCLUDE), built CONCURRENTLY so a large table stays writable meanwhile; the model
does not declare it because Django's Index cannot be made PostgreSQL-only. SQLite (the demo) skips it.
"""

from django.db import migrations

INDEX = "repweek_tenant_week_cover"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON reports_repweek (tenant_id, week_start, membership_id) "
        "INCLUDE (overall_mean, sessions, assignments_completed, focus_behavior, behaviors)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("reports", "0002_dashboards"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
