# KpiValue: drop the tenant+week index (the dashboards use the unique one) and the metric index, and
# let Django keep the tenant/rep/metric references (the per-row FK checks dominated a 1M-row import).
# See KpiValue and reports/kpi/importing.py.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0003_repweek_week_cover'),
        ('tenancy', '0003_token_budgets'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='kpivalue',
            name='kpivalue_tenant_period',
        ),
        migrations.AlterField(
            model_name='kpivalue',
            name='membership',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='kpi_values', to='tenancy.membership'),
        ),
        migrations.AlterField(
            model_name='kpivalue',
            name='metric',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='values', to='reports.kpimetric'),
        ),
        migrations.AlterField(
            model_name='kpivalue',
            name='tenant',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.tenant'),
        ),
    ]
