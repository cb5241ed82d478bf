import django.db.models.deletion
import django.db.models.manager
import django.utils.timezone
from django.db import migrations, models

from coachhub.tenancy.rls import EnableTenantRLS


class Migration(migrations.Migration):

    dependencies = [
        ('programs', '0004_grade_passback_retries'),
        ('tenancy', '0005_retention'),
    ]

    operations = [
        migrations.CreateModel(
            name='LTICourse',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('context_id', models.CharField(max_length=255)),
                ('title', models.CharField(blank=True, max_length=255)),
                ('memberships_url', models.URLField(blank=True, max_length=500)),
                ('last_launch_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('last_synced_at', models.DateTimeField(blank=True, null=True)),
                ('last_sync', models.JSONField(blank=True, default=dict)),
                ('last_error', models.TextField(blank=True)),
                ('platform', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='programs.ltiplatform')),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.tenant')),
            ],
            options={
                'ordering': ['title', 'id'],
                'constraints': [models.UniqueConstraint(fields=('tenant', 'platform', 'context_id'), name='lticourse_unique_context')],
            },
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        EnableTenantRLS(["LTICourse"]),
    ]
