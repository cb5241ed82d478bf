"""A real `celery worker` subprocess on Redis, sharing the test's PostgreSQL database.

Tests that use it commit their rows (transactional database) so the worker sees them. The broker is
a private Redis database per xdist worker, flushed before each test, so parallel runs never take
each other's jobs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import kombu.pools
import pytest
from django.conf import settings
from django.db import connection

from coachhub.celery import app as celery_app
from tests.conftest import services_required

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT_S = 3  # the test worker's; production keeps it above twice the longest task
DEAD_BROKER = "redis://127.0.0.1:1/0"


def _require_services() -> None:
    problems = []
    if not settings.REDIS_URL:
        problems.append("REDIS_URL is not set")
    if connection.vendor != "postgresql":
        problems.append("the test database is not PostgreSQL (set DATABASE_URL)")
    if problems:
        message = "real-worker tests need Redis and PostgreSQL: " + "; ".join(problems)
        if services_required():
            pytest.fail(message)
        pytest.skip(message)


def _private_broker_url(worker_id: str) -> str:
    parts = urlsplit(settings.REDIS_URL)
    number = 8 + int(worker_id[2:]) % 7 if worker_id.startswith("gw") else 15
    return urlunsplit((parts.scheme, parts.netloc, f"/{number}", "", ""))


def _point_app_at(url: str) -> None:
    """Publish from this test process to `url` (drops pooled connections to the previous broker)."""
    celery_app.conf.broker_url = url
    celery_app.conf.task_always_eager = False
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    kombu.pools.reset()  # kombu caches producer pools per broker; start clean


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


WORKER_BOOT = """
import os
from coachhub.celery import app
app.conf.task_always_eager = False
app.conf.broker_transport_options = {
    "visibility_timeout": float(os.environ["TEST_VISIBILITY_TIMEOUT_S"]),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
app.worker_main(["worker", "--pool=prefork", "--concurrency=1", "--loglevel=INFO", "--without-gossip",
                 "--without-mingle", "--without-heartbeat", "-n", os.environ["TEST_WORKER_NAME"]])
"""


class Workers:
    def __init__(self, broker_url: str, log_dir: Path):
        self.broker_url = broker_url
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []

    def start(self, *, delay_s: float = 0.0, env: dict[str, str] | None = None) -> subprocess.Popen:
        """`env` adds to (or overrides) the worker's environment, e.g. a longer LLM_TIMEOUT_S."""
        extra_env = env or {}
        name = f"scoring-test-{os.getpid()}-{len(self.procs)}@%h"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "coachhub.settings.test",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": self.broker_url,
            "SCORING_TEST_DELAY_S": str(delay_s),
            "TEST_VISIBILITY_TIMEOUT_S": str(VISIBILITY_TIMEOUT_S),
            "TEST_WORKER_NAME": name,
            "PYTHONUNBUFFERED": "1",
            "DATABASE_POOL_SIZE": "0",  # as deployed: the pool is the web process's, never a worker's
            **extra_env,
        }
        log = open(self.log_dir / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115 (kept open for the process)
        proc = subprocess.Popen(
            [sys.executable, "-c", WORKER_BOOT], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a SIGKILL takes the pool children too
        )
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        """Like losing the machine: no warm shutdown, nothing acknowledged or handed back."""
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    @staticmethod
    def pool_pids(proc: subprocess.Popen) -> list[int]:
        """The worker's prefork pool processes: its direct children, read from /proc (Linux)."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:  # the process ended while we looked
                continue
            # "pid (comm) state ppid ...": comm may contain spaces, so split after its closing paren.
            state, ppid = text.rpartition(")")[2].split()[:2]
            if int(ppid) == proc.pid and state != "Z":  # a killed child not reaped yet is not in the pool
                children.append(int(stat.parent.name))
        return sorted(children)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace")[-3000:] for path in sorted(self.log_dir.glob("*.log")))

    def wait_for(self, what: str, check, timeout_s: float = 45.0):
        """Polls `check` until it returns something truthy (returned), or fails the test with the
        workers' logs after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.1)
        pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}\n--- worker logs ---\n{self.logs()}")


@pytest.fixture
def workers(request, tmp_path) -> Iterator[Workers]:
    _require_services()
    import redis

    worker_id = getattr(request.config, "workerinput", {}).get("workerid", "master")
    url = _private_broker_url(worker_id)
    redis.Redis.from_url(url).flushdb()
    saved = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    _point_app_at(url)
    pool = Workers(url, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()
        _point_app_at(saved[0])
        celery_app.conf.task_always_eager = saved[1]


