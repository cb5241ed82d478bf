"""Test settings: fast hashing, in-memory email, the database/broker from the environment."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]
# Limits are exercised by dedicated tests that lower them; the rest of the suite must not trip them.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "10000/min", "user": "10000/min"}}  # noqa: F405
LOGIN_RATE = env("LOGIN_RATE", default="1000/m")
USER_RATE_LIMITS = {
    "turn": "1000/m", "voice": "1000/m", "session_start": "1000/m", "kpi_upload": "1000/m", "scoring": "1000/m",
}
# Per-process cache: tests that clear it (rate-limit tests) must never flush the Redis database
# that also holds Celery's queues.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = "django.contrib.sessions.backends.db"  # a per-process cache must not front logins
# Tests always run Celery tasks inline unless a test starts a real worker itself.
CELERY_TASK_ALWAYS_EAGER = True
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
# The suite's LLM stand-in listens on loopback; tests of the endpoint checks turn this off.
LLM_ALLOW_PRIVATE_ENDPOINTS = True
PASSWORD_RESET_RATE = "1000/h"
INVITATION_PASSWORD_RATE = "1000/m"
