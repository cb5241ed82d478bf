"""Shared benchmark plumbing: a PostgreSQL database, a seeded tenant, logged-in reps, and uvicorn."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/coachhub_bench"
# The served app connects as production's does: a role that owns nothing, bound by row-level security.
APP_ROLE = "coachhub_app_bench"


def app_role_url(database_url: str) -> str:
    """`database_url` with the application role instead of the owner (trust auth on loopback)."""
    scheme, rest = database_url.split("//", 1)
    return f"{scheme}//{APP_ROLE}@{rest.split('@', 1)[1]}"


@contextmanager
def pgbouncer(database_url: str, *, pool_size: int = 40):
    """PgBouncer in transaction mode in front of PostgreSQL, as production deployments run it:
    hundreds of open streams share a few dozen server connections. Yields the pooled URL."""
    import shutil
    import tempfile

    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        raise SystemExit("pgbouncer is not installed (apt-get install pgbouncer)")
    host_port, name = database_url.split("@", 1)[1].rsplit("/", 1)
    host, port = host_port.split(":")
    user = database_url.split("//", 1)[1].split("@", 1)[0].split(":")[0]
    listen = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    (workdir / "users.txt").write_text(f'"{user}" ""\n')
    (workdir / "pgbouncer.ini").write_text(
        f"[databases]\n{name} = host={host} port={port} dbname={name}\n"
        f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {listen}\nauth_type = trust\n"
        f"auth_file = {workdir}/users.txt\npool_mode = transaction\ndefault_pool_size = {pool_size}\n"
        f"max_client_conn = 900\nunix_socket_dir =\nlogfile = {workdir}/pgbouncer.log\n"
        f"pidfile = {workdir}/pgbouncer.pid\n"
    )
    command = [binary, str(workdir / "pgbouncer.ini")]
    as_user = {}
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        shutil.chown(workdir, "postgres")
        # Drop to postgres directly: `runuser` opens a PAM session that got torn down mid-run.
        as_user = {"user": "postgres", "group": "postgres", "extra_groups": []}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True, **as_user)
    try:
        for _ in range(50):
            try:
                with socket.create_connection(("127.0.0.1", listen), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        yield f"postgres://{user}@127.0.0.1:{listen}/{name}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def setup_django(database_url: str | None = None) -> None:
    os.environ["DATABASE_URL"] = database_url or os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    os.environ.pop("REDIS_URL", None)  # the runner benches measure the web tier; tasks run inline
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    sys.path.insert(0, str(ROOT))
    _ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("grant_app_role", APP_ROLE, stdout=open(os.devnull, "w"))


def _ensure_database(url: str) -> None:
    import psycopg2

    name = url.rsplit("/", 1)[1]
    admin = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def seed_reps(count: int, *, library_slug: str = "meal-kit-cancellation", tenant_slug: str = "bench"):
    """A tenant with `count` reps and one published library scenario; returns (tenant, version, reps)."""
    from coachhub.tenancy.context import tenant_context
    from coachhub.tenancy.models import Membership, Tenant, User
    from scenarios.library import library_get
    from scenarios.models import Scenario, ScenarioVersion

    tenant, _ = Tenant.objects.get_or_create(slug=tenant_slug, defaults={"name": "Bench Co."})
    spec = library_get(library_slug)
    with tenant_context(tenant):
        scenario, _ = Scenario.objects.get_or_create(
            tenant=tenant, slug=spec.slug, defaults={"title": spec.title, "moment": spec.moment}
        )
        version, _ = ScenarioVersion.objects.get_or_create(
            tenant=tenant, scenario=scenario, number=1, defaults={"status": "published", "spec": spec.to_dict()}
        )
        reps = []
        for i in range(count):
            user, _ = User.objects.get_or_create(email=f"rep{i}@bench.example", defaults={"full_name": f"Rep {i}"})
            membership, _ = Membership.objects.get_or_create(tenant=tenant, user=user, defaults={"role": "rep"})
            reps.append(membership)
    return tenant, version, reps


def login_cookies(user) -> dict[str, str]:
    """A session cookie and a CSRF pair for `user`, as if they had logged in."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    csrf = secrets.token_hex(16)
    return {settings.SESSION_COOKIE_NAME: store.session_key, settings.CSRF_COOKIE_NAME: csrf}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def uvicorn_server(*, workers: int = 1, env: dict | None = None):
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "coachhub.asgi:application", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--log-level", "warning", "--no-access-log", "--loop", "uvloop", "--http", "httptools",
    ]
    # A load generator is a script by definition: lift the per-user limits meant to stop scripts.
    unlimited = {"RATE_LIMIT_TURNS": "1000000/m", "RATE_LIMIT_VOICE": "1000000/m", "RATE_LIMIT_SESSION_STARTS": "1000000/m"}
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **unlimited, **(env or {})})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("uvicorn did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def celery_worker(*, env: dict, concurrency: int = 1):
    """A real Celery worker (prefork) on the bench's Redis, as production runs one beside the web
    tier: tasks a request enqueues (scoring an ended session, refreshing dashboards) run there, not
    inside the request. Yields the worker's log path."""
    import signal
    import tempfile

    log_path = Path(tempfile.gettempdir()) / f"bench_worker_{os.getpid()}.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "coachhub", "worker", "--pool=prefork",
             f"--concurrency={concurrency}", "--loglevel=INFO", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while b"ready" not in log_path.read_bytes():
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(f"the Celery worker did not start; see {log_path}")
            time.sleep(0.2)
        yield log_path
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def bench_redis_url() -> str:
    """The Redis the served app uses for its cache, logins and Celery queue (BENCH_REDIS_URL), flushed
    first so no queued task of an earlier run lands in this one."""
    import redis

    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
    try:
        redis.Redis.from_url(url).flushdb()
    except redis.RedisError as exc:
        raise SystemExit(f"Redis is not reachable at {url} (BENCH_REDIS_URL): {exc}") from None
    return url


@contextmanager
def served_app(*, workers: int = 1):
    """CoachHub as deployed, on loopback: uvicorn (ASGI) connecting as the application role through
    PgBouncer in transaction mode with a per-process connection pool, Redis for cache, logins and the
    Celery queue, and a real worker for the tasks requests enqueue. Yields the base URL."""
    with pgbouncer(app_role_url(os.environ["DATABASE_URL"])) as pooled:
        env = {
            "DATABASE_URL": pooled,
            "DATABASE_DISABLE_SERVER_SIDE_CURSORS": "true",
            "DATABASE_RELEASE_STREAM_CONNECTIONS": os.environ.get("DATABASE_RELEASE_STREAM_CONNECTIONS", "false"),
            "DATABASE_CONN_MAX_AGE": os.environ.get("DATABASE_CONN_MAX_AGE", "0"),
            "DATABASE_POOL_SIZE": os.environ.get("DATABASE_POOL_SIZE", "32"),
            "REDIS_URL": bench_redis_url(),
        }
        with celery_worker(env=env), uvicorn_server(workers=workers, env=env) as base:
            yield base


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]
