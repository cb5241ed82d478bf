"""Row-level security on this app's tenant-owned tables (see coachhub/tenancy/rls.py), and the base
manager that follows foreign keys as the source row's tenant."""

import django.db.models.manager
from django.db import migrations

from coachhub.tenancy.rls import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [("scenarios", "0001_initial")]

    operations = [
        migrations.AlterModelManagers(
            name='assignment',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='assignmentrecipient',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='assignmentteam',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='scenario',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='scenarioversion',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        EnableTenantRLS(["Scenario", "ScenarioVersion", "Assignment", "AssignmentTeam", "AssignmentRecipient"]),
    ]
