import django.db.models.deletion
import django.db.models.manager
import django.utils.timezone
from django.db import migrations, models

from coachhub.tenancy.rls import EnableTenantRLS


class Migration(migrations.Migration):

    dependencies = [
        ('programs', '0005_lti_courses_nrps'),
        ('tenancy', '0005_retention'),
    ]

    operations = [
        migrations.CreateModel(
            name='Cmi5Launch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('session_id', models.BigIntegerField()),
                ('activity_id', models.URLField(max_length=500)),
                ('registration', models.CharField(max_length=36)),
                ('actor', models.JSONField()),
                ('endpoint', models.URLField(max_length=500)),
                ('auth_token_encrypted', models.TextField()),
                ('context_template', models.JSONField(default=dict)),
                ('launch_mode', models.CharField(default='Normal', max_length=20)),
                ('move_on', models.CharField(blank=True, max_length=40)),
                ('mastery_score', models.FloatField(blank=True, null=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.tenant')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('tenant', 'session_id'), name='cmi5launch_unique_session')],
            },
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AddField(
            model_name='statementoutbox',
            name='cmi5_launch',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='programs.cmi5launch'),
        ),
        EnableTenantRLS(["Cmi5Launch"]),
    ]
