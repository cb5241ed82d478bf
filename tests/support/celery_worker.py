"""A real `celery worker` subprocess on Redis, sharing the test's PostgreSQL database.

Tests that use it commit their rows (transactional database) so the worker sees them. The broker is
REDIS_URL's database under a key prefix of the test's own (every queue, unacknowledged job and
binding lives under it, and is deleted afterwards), so parallel xdist workers, a second run on the
same machine, or anyone else's worker on that Redis never take each other's jobs; nothing else in
the database is touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import kombu.pools
import pytest
from django.conf import settings
from django.db import connection

from coachhub.celery import app as celery_app
from tests.conftest import services_required

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT_S = 3  # the test worker's; production keeps it above twice the longest task
DEAD_BROKER = "redis://127.0.0.1:1/0"
# Deadlines for conditions a test waits on. A `celery worker` boot (Django, the app's tasks) takes
# seconds on a quiet machine and can take tens of seconds on a loaded 2-core CI runner; a wait only
# costs its deadline when the test is failing anyway, so these are generous.
WORKER_BOOT_S = 120.0
WAIT_S = 120.0


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


def _private_key_prefix(worker_id: str) -> str:
    return f"coachhub-test:{worker_id}:{os.getpid()}:{uuid.uuid4().hex[:12]}:"


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
    "global_keyprefix": os.environ["TEST_BROKER_KEY_PREFIX"],
    "visibility_timeout": float(os.environ["TEST_VISIBILITY_TIMEOUT_S"]),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
app.worker_main(["worker", "--pool=prefork", "--concurrency=1", "--loglevel=INFO", "--without-gossip",
                 "--without-mingle", "--without-heartbeat", "-n", os.environ["TEST_WORKER_NAME"]])
"""


class Workers:
    def __init__(self, broker_url: str, log_dir: Path, key_prefix: str):
        self.broker_url = broker_url
        self.key_prefix = key_prefix
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
            "TEST_BROKER_KEY_PREFIX": self.key_prefix,
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

    def wait_ready(self, proc: subprocess.Popen, timeout_s: float = WORKER_BOOT_S) -> None:
        """Until `proc` has connected to the broker and consumes ("celery@… ready." in its log), so a
        test's later deadlines time the jobs, not the boot. Fails at once if the worker exited."""
        log = self.log_dir / f"worker-{self.procs.index(proc)}.log"

        def ready() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"the worker exited with {proc.returncode} before it was ready\n"
                            f"--- worker logs ---\n{self.logs()}")
            return " ready." in log.read_text(errors="replace")

        self.wait_for("the worker to be ready", ready, timeout_s)

    def wait_for(self, what: str, check, timeout_s: float = WAIT_S):
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
    url, prefix = settings.REDIS_URL, _private_key_prefix(worker_id)
    saved = (celery_app.conf.broker_url, celery_app.conf.task_always_eager, celery_app.conf.broker_transport_options)
    celery_app.conf.broker_transport_options = {**(saved[2] or {}), "global_keyprefix": prefix}
    _point_app_at(url)
    pool = Workers(url, tmp_path, prefix)
    try:
        yield pool
    finally:
        pool.stop_all()
        celery_app.conf.broker_transport_options = saved[2]
        _point_app_at(saved[0])
        celery_app.conf.task_always_eager = saved[1]
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)


