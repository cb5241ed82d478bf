"""Shared settings, driven by environment variables with safe defaults.

With nothing set, CoachHub runs on SQLite with Celery tasks executed eagerly, so the demo needs no
servers. Set DATABASE_URL and REDIS_URL for PostgreSQL and a Redis-backed Celery.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-dev-key-change-me-coachhub-0123456789abcdef")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "coachhub.core",
    "coachhub.tenancy",
    "scenarios",
    "sessions.apps.RoleplayConfig",
    "scoring",
    "reports",
    "programs",
    "coachhub.identity",
]

MIDDLEWARE = [
    "coachhub.core.timing.request_arrival",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "coachhub.core.limits.OversizedBodyMiddleware",  # before the CSRF check reads the body
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "coachhub.tenancy.middleware.TenantMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
]

ROOT_URLCONF = "coachhub.urls"
WSGI_APPLICATION = "coachhub.wsgi.application"
ASGI_APPLICATION = "coachhub.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "coachhub.tenancy.context_processors.tenancy",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
# A kept connection that died while idle (a database restart, a dropped backend) is replaced before
# the next request uses it instead of failing that request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Behind PgBouncer in transaction mode (recommended for many concurrent streams) server-side
# cursors must be off.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False)
# The ASGI web process opens a connection per request (each request runs in its own thread): with
# DATABASE_POOL_SIZE > 0 closed connections stay open in a per-process pool for the next request
# (coachhub.core.dbpool). For uvicorn only; Celery's prefork workers keep connections per process.
DATABASE_POOL_SIZE = env.int("DATABASE_POOL_SIZE", default=0)
if DATABASE_POOL_SIZE > 0 and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "coachhub.core.dbpool"
    DATABASES["default"]["POOL_SIZE"] = DATABASE_POOL_SIZE
# Streams return their connection between database hops, so open streams don't exhaust
# PostgreSQL's connection limit. Behind PgBouncer this can be turned off.
DATABASE_RELEASE_STREAM_CONNECTIONS = env.bool("DATABASE_RELEASE_STREAM_CONNECTIONS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "tenancy.User"
# Passwords go through the SSO-enforcing ModelBackend first (it refuses where a tenant enforces single
# sign-on, break-glass admins excepted, and its refusal ends the search). Plain ModelBackend stays
# listed because sessions created with login(backend=ModelBackend) name it (invitations, SSO).
AUTHENTICATION_BACKENDS = [
    "coachhub.identity.backends.SsoEnforcingModelBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "media/"
# Uploads (CSV member lists, KPI files, audio) are checked against explicit limits in the services;
# this keeps Django from buffering huge bodies in memory first.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Cache, broker, Celery -------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "coachhub.core.cache.RedisCache", "LOCATION": REDIS_URL}}
    # Logins are read from Redis (written through to the database): one query less on every request.
    # Only with a cache every process shares: a per-process cache would keep a logged-out session alive.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Every Celery setting lives here: coachhub/celery.py reads the CELERY_* names (Celery's own
# settings, lower-cased, without the prefix) and the task decorators (coachhub.tenancy.celery_tasks)
# read CELERY_TASK_TIME_LIMITS.
# With no broker the in-process memory transport; naming its host keeps kombu from warning "No
# hostname was supplied" each time a task is published (and run inline).
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
# With no broker server the same task code runs inline, after the surrounding commit.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# A job is acknowledged only after it ran, and re-queued if its worker process dies mid-job.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Time limits in seconds: a task's own (soft, hard) pair by its name, else these defaults. The soft
# limit raises SoftTimeLimitExceeded inside the task (it records why it stopped); the hard one kills it.
CELERY_TASK_SOFT_TIME_LIMIT = 10 * 60
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_TIME_LIMITS = {
    "tenancy.expire_invitations": (100, 120),
    "tenancy.apply_retention": (14 * 60, 15 * 60),  # batches commit as they go: a cut-short run continues next time
    "sessions.check_scenario_realism": (10 * 60, 11 * 60),  # the realism check: an LLM customer answers ~30 lines
    "scoring.score_session": (4 * 60, 5 * 60),
    "scoring.sweep_unscored": (120, 180),
    "reports.import_kpis": (13 * 60, 14 * 60),
    "reports.sweep_kpi_imports": (100, 120),
    # One help-desk sync run: it reads at most HELPDESK_SYNC_MAX_RECORDS tickets, then the next run goes on.
    "reports.pull_helpdesk": (13 * 60, 14 * 60),
    "reports.pull_helpdesks": (100, 120),
    "reports.refresh_rep_week": (100, 120),
    "reports.sweep_rep_weeks": (28 * 60, 30 * 60),
    "reports.send_weekly_digests": (28 * 60, 30 * 60),
    "programs.deliver_statements": (5 * 60, 6 * 60),
    "programs.sweep_statements": (60, 90),
    "programs.send_grade": (60, 90),  # one AGS score (a token and a POST, each with a 10 s timeout)
    "programs.sweep_grades": (60, 90),
}
# How long a KPI import may stay "running" before its sweeper takes its worker for dead: the default
# hard time limit (reports.import_kpis itself stops after 14 minutes).
CELERY_LONGEST_TASK_SECONDS = CELERY_TASK_TIME_LIMIT
# Redis hands an unacknowledged job out again after this: it must stay above the longest hard time
# limit (30 minutes, the weekly digests), or a slow job would run twice at once.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * CELERY_TASK_TIME_LIMIT + 60),
}
CELERY_BEAT_SCHEDULE = {
    "tenancy.expire_invitations": {"task": "tenancy.expire_invitations", "schedule": crontab(minute=17)},
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
    # Nightly: every connected help desk's API is pulled incrementally (reports.helpdesk.pulls).
    "reports.pull_helpdesks": {"task": "reports.pull_helpdesks", "schedule": crontab(minute=7, hour=1)},
    # xAPI statements still waiting (an LRS outage, a lost job) are delivered, in order.
    "programs.sweep_statements": {"task": "programs.sweep_statements", "schedule": 60.0},
    # LTI grades still waiting for an LMS that was down (or whose job was lost) are sent again.
    "programs.sweep_grades": {"task": "programs.sweep_grades", "schedule": 60.0},
}

# --- AI engines ----------------------------------------------------------------------------------
# A deployment-wide OpenAI-compatible endpoint; tenants may set their own in AI settings.
LLM_BASE_URL = env("LLM_BASE_URL", default="")
LLM_MODEL = env("LLM_MODEL", default="gpt-4o-mini")
LLM_API_KEY = env("LLM_API_KEY", default="")
LLM_TIMEOUT_S = env.float("LLM_TIMEOUT_S", default=20.0)
LLM_MAX_RETRIES = env.int("LLM_MAX_RETRIES", default=2)
# The judge reads a long prompt before its first token: its own budget for a whole answer (then the
# request is cancelled), and an answer-token cap (0: 4096, held inside the server's context window).
LLM_JUDGE_TIMEOUT_S = env.float("LLM_JUDGE_TIMEOUT_S", default=180.0)
LLM_JUDGE_MAX_TOKENS = env.int("LLM_JUDGE_MAX_TOKENS", default=0)
# Tenant admins' endpoints must be public addresses (no loopback, private, link-local or metadata
# ones) unless the operator allows private endpoints, e.g. for an on-premises model server.
LLM_ALLOW_PRIVATE_ENDPOINTS = env.bool("LLM_ALLOW_PRIVATE_ENDPOINTS", default=False)
# The same rule for tenants' OpenID Connect issuers (an on-premises IdP needs it set).
IDENTITY_ALLOW_PRIVATE_ISSUERS = env.bool("IDENTITY_ALLOW_PRIVATE_ISSUERS", default=False)
# DNS servers that SSO domain verification asks for TXT records ("1.1.1.1,127.0.0.1:5353"); empty: the system's.
SSO_DNS_RESOLVERS = env.list("SSO_DNS_RESOLVERS", default=[])
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY", default="")
# faster-whisper: the packaged tiny.en model unless a local model path is set.
TRANSCRIPTION_MODEL = env("TRANSCRIPTION_MODEL", default="")
TRANSCRIPTION_COMPUTE_TYPE = env("TRANSCRIPTION_COMPUTE_TYPE", default="int8")
TRANSCRIPTION_CPU_THREADS = env.int("TRANSCRIPTION_CPU_THREADS", default=0)
# Why 3: sessions/voice/transcribe.py (DEFAULT_BEAM_SIZE); bench/bench_transcription.py prints every beam.
TRANSCRIPTION_BEAM_SIZE = env.int("TRANSCRIPTION_BEAM_SIZE", default=3)
TRANSCRIPTION_VAD = env.bool("TRANSCRIPTION_VAD", default=True)
AUDIO_MAX_BYTES = env.int("AUDIO_MAX_BYTES", default=10 * 1024 * 1024)
AUDIO_MAX_SECONDS = env.int("AUDIO_MAX_SECONDS", default=120)

# --- KPI import ------------------------------------------------------------------------------------
KPI_IMPORT_MAX_BYTES = env.int("KPI_IMPORT_MAX_BYTES", default=200 * 1024 * 1024)
KPI_IMPORT_INLINE_MAX_BYTES = env.int("KPI_IMPORT_INLINE_MAX_BYTES", default=10 * 1024 * 1024)

# --- Email ------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="CoachHub <no-reply@coachhub.local>")
# The demo serves on $PORT (scripts/demo): links in e-mails and printed logins follow it.
SITE_URL = env("SITE_URL", default=f"http://127.0.0.1:{env('PORT', default='8000')}")

INVITATION_TTL_DAYS = env.int("INVITATION_TTL_DAYS", default=7)
MEMBER_CSV_MAX_BYTES = 512 * 1024
MEMBER_CSV_MAX_ROWS = 2000

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "coachhub.tenancy.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "coachhub.core.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "coachhub.core.schema.CoachHubAutoSchema",
    "EXCEPTION_HANDLER": "coachhub.core.errors.api_exception_handler",
    # DRF's JSON parser with a nesting limit (a 1,000-deep body is a 400, not a RecursionError).
    "DEFAULT_PARSER_CLASSES": [
        "coachhub.core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", default="60/min"),
        "user": env("API_THROTTLE_USER", default="600/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CoachHub API",
    "DESCRIPTION": "Tenant-scoped API for scenarios, practice sessions, scores and KPIs. "
    "Every tenant route lives under /api/v1/t/{tenant_slug}/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No deep links: Swagger UI nests them inside each operation's toggle button (axe nested-interactive).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "COMPONENT_SPLIT_REQUEST": True,
    # A member's role is one enum wherever a field carries it (role, default_role…).
    "ENUM_NAME_OVERRIDES": {"RoleEnum": "coachhub.tenancy.models.Role"},
}

# --- Security headers -----------------------------------------------------------------------
# No inline scripts anywhere: page behavior lives in static/js, so script-src stays 'self'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "media-src": [SELF, "blob:"],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

RATELIMIT_VIEW = "coachhub.core.errors.ratelimited"
# Per-user allowances per minute (coachhub.core.limits): generous for people, tight for scripts.
USER_RATE_LIMITS = {
    "turn": env("RATE_LIMIT_TURNS", default="30/m"),
    "voice": env("RATE_LIMIT_VOICE", default="12/m"),
    "session_start": env("RATE_LIMIT_SESSION_STARTS", default="10/m"),
    # Each upload is parsed and checked row by row; each scoring action writes an audit trail.
    "kpi_upload": env("RATE_LIMIT_KPI_UPLOADS", default="10/m"),
    "scoring": env("RATE_LIMIT_SCORING", default="30/m"),
}
LOGIN_RATE = env("LOGIN_RATE", default="10/m")
# Per address asked for and per client address: reset e-mails sent, and password checks when an
# existing account accepts an invitation (a second door to guess a password through).
PASSWORD_RESET_RATE = env("PASSWORD_RESET_RATE", default="5/h")
INVITATION_PASSWORD_RATE = env("INVITATION_PASSWORD_RATE", default="10/m")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
