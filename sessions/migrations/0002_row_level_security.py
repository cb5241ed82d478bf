"""Row-level security on this app's tenant-owned tables (see coachhub/tenancy/rls.py), and the base
manager that follows foreign keys as the source row's tenant."""

import django.db.models.manager
from django.db import migrations

from coachhub.tenancy.rls import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [("roleplay", "0001_initial")]

    operations = [
        migrations.AlterModelManagers(
            name='practicesession',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='turn',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('_related_rows', django.db.models.manager.Manager()),
            ],
        ),
        EnableTenantRLS(["PracticeSession", "Turn"]),
    ]
