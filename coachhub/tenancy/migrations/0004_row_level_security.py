"""Row-level security on this app's tenant-owned tables (see coachhub/tenancy/rls.py), and the base
manager that follows foreign keys as the source row's tenant."""

import django.db.models.manager
from django.db import migrations

from coachhub.tenancy.rls import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0003_token_budgets")]

    operations = [
        migrations.AlterModelManagers(
            name='aisettings',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='apitoken',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='auditevent',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='invitation',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='membership',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='team',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='teammembership',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='tokenledger',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        EnableTenantRLS(["Membership", "Team", "TeamMembership", "Invitation", "ApiToken", "AuditEvent", "AISettings", "TokenLedger"]),
    ]
