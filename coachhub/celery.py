"""The Celery app. Settings come from Django's (CELERY_*); with no REDIS_URL tasks run inline."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coachhub.settings.local")

app = Celery("coachhub")
app.config_from_object("django.conf:settings", namespace="CELERY")

app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    result_backend=None,
    # A job is acknowledged only after it ran, and re-queued if its worker process dies mid-job.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_soft_time_limit=10 * 60,
    task_time_limit=15 * 60,
    # Redis re-delivers unacked jobs after this; it must exceed the longest task (twice over).
    broker_transport_options={
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", 2 * 15 * 60 + 60)),
    },
    broker_connection_retry_on_startup=True,
    timezone="UTC",
    beat_schedule={
        "tenancy.expire_invitations": {
            "task": "tenancy.expire_invitations",
            "schedule": crontab(minute=17),
        },
        # Deletes recordings and transcripts older than each tenant's retention allows.
        "tenancy.apply_retention": {"task": "tenancy.apply_retention", "schedule": crontab(minute=41, hour=2)},
        # Scores whose job never arrived (a broker outage, a lost message) are found and enqueued.
        "scoring.sweep_unscored": {"task": "scoring.sweep_unscored", "schedule": 60.0},
        # KPI imports whose background job never ran (or died) are queued again.
        "reports.sweep_kpi_imports": {"task": "reports.sweep_kpi_imports", "schedule": crontab(minute="*/5")},
        # Monday morning: each manager's scorecard summary by email (once per manager per week).
        "reports.send_weekly_digests": {
            "task": "reports.send_weekly_digests",
            "schedule": crontab(minute=0, hour=6, day_of_week=1),
        },
        # Rebuilds this and last week's per-rep rows in case a refresh job was lost.
        "reports.sweep_rep_weeks": {"task": "reports.sweep_rep_weeks", "schedule": crontab(minute=23)},
        # xAPI statements still waiting (an LRS outage, a lost job) are delivered, in order.
        "programs.sweep_statements": {"task": "programs.sweep_statements", "schedule": 60.0},
    },
)
app.autodiscover_tasks()
