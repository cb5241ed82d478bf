"""Row-level security on this app's tenant-owned tables (see coachhub/tenancy/rls.py), and the base
manager that follows foreign keys as the source row's tenant."""

import django.db.models.manager
from django.db import migrations

from coachhub.tenancy.rls import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_kpivalue_fewer_indexes_no_db_fks")]

    operations = [
        migrations.AlterModelManagers(
            name='digestdelivery',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='kpiimport',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='kpimetric',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='kpisource',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='kpivalue',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='repweek',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='tenantreportsettings',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        EnableTenantRLS(["KpiMetric", "KpiSource", "KpiImport", "KpiValue", "RepWeek", "TenantReportSettings", "DigestDelivery"]),
    ]
