"""The Celery app. Every setting comes from Django's (CELERY_* in coachhub/settings/base.py); with no
REDIS_URL tasks run inline."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coachhub.settings.local")

app = Celery("coachhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
