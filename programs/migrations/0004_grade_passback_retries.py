from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('programs', '0003_lti'),
    ]

    operations = [
        migrations.AddField(
            model_name='ltigradelink',
            name='pending_since',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='ltigradelink',
            name='attempts',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddIndex(
            model_name='ltigradelink',
            index=models.Index(fields=['tenant', 'pending_since'], name='ltigradelink_tenant_pending'),
        ),
    ]
