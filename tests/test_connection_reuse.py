"""Connections and Redis clients outlive the request that opened them, without carrying anything over.

Under ASGI each request runs in a fresh thread, and Django's connections are per thread. With
DATABASE_POOL_SIZE the web process hands a closed connection to the next request instead of opening
a new one; these tests play two requests as two threads against real PostgreSQL and Redis.
"""

from __future__ import annotations

import threading

import psycopg2
import pytest
import redis
from django.conf import settings
from django.db import connection as default_connection

from coachhub.core.cache import RedisCache
from coachhub.core.dbpool.base import DatabaseWrapper, close_pools
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Tenant
from tests.conftest import require_postgresql, services_required

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _close_pools():
    yield
    close_pools()  # idle pooled connections would keep the test database from being dropped


def _pooled(alias: str, **options) -> dict:
    require_postgresql("the pool is for PostgreSQL")
    return {**default_connection.settings_dict, "POOL_SIZE": 2, **options, "_alias": alias}


def _as_request(settings_dict: dict, work):
    """Runs `work(connection)` in a new thread on its own wrapper (as a request would), then closes it."""
    result = {}

    def run():
        wrapper = DatabaseWrapper({k: v for k, v in settings_dict.items() if k != "_alias"}, alias=settings_dict["_alias"])
        try:
            result["value"] = work(wrapper)
        finally:
            wrapper.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result.get("value")


def _backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_the_next_request_reuses_the_connection_the_last_one_closed():
    pooled = _pooled("pool-reuse")
    first = _as_request(pooled, _backend_pid)
    assert _as_request(pooled, _backend_pid) == first
    assert _as_request(pooled, _backend_pid) == first


def test_a_transaction_left_open_is_rolled_back_before_the_connection_is_reused():
    pooled = _pooled("pool-rollback")
    slug = "left-open-by-a-request"

    def insert_without_commit(wrapper):
        wrapper.set_autocommit(False)
        with wrapper.cursor() as cursor:
            cursor.execute(
                "INSERT INTO tenancy_tenant (name, slug, is_active, created_at) VALUES (%s, %s, true, now())",
                ["Half written", slug],
            )
        return _backend_pid(wrapper)

    def look(wrapper):
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tenancy_tenant WHERE slug = %s", [slug])
            return _backend_pid(wrapper), cursor.fetchone()[0], wrapper.connection.info.transaction_status

    writer = _as_request(pooled, insert_without_commit)
    reader, count, status = _as_request(pooled, look)
    assert reader == writer, "the same connection came back from the pool"
    assert count == 0 and status == 0, "nothing half-written, and no transaction left open"
    assert not Tenant.objects.filter(slug=slug).exists()


def test_a_connection_the_server_dropped_while_pooled_is_replaced_not_handed_to_a_request():
    pooled = _pooled("pool-dropped", POOL_PING_AFTER_S=0)
    dropped = _as_request(pooled, _backend_pid)
    # From a connection of its own: with DATABASE_POOL_SIZE set the test's default connection is
    # pooled too, and could be the very one it drops.
    killer = psycopg2.connect(**default_connection.get_connection_params())
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [dropped])
    finally:
        killer.close()
    replacement = _as_request(pooled, _backend_pid)
    assert replacement != dropped


def test_a_tenant_set_for_a_server_side_cursors_session_does_not_follow_the_connection():
    pooled = _pooled("pool-tenant")
    tenant = Tenant.objects.create(name="Cursor Co.", slug="cursor-co")

    def stream_rows(wrapper):
        with tenant_context(tenant):
            wrapper.set_autocommit(False)
            with wrapper.chunked_cursor() as cursor:  # a server-side cursor: DECLARE … sets it per session
                cursor.execute("SELECT id FROM tenancy_team")
                cursor.fetchall()
            wrapper.commit()
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT current_setting('coachhub.tenant', true)")
                session_value = cursor.fetchone()[0]
        return _backend_pid(wrapper), session_value

    def read_setting(wrapper):
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT current_setting('coachhub.tenant', true)")
            return _backend_pid(wrapper), cursor.fetchone()[0]

    first, during = _as_request(pooled, stream_rows)
    assert during == str(tenant.id), "the session carried the tenant while the cursor was open"
    second, after = _as_request(pooled, read_setting)
    assert second == first and not after, "the next request on that connection starts with no tenant"


def test_redis_cache_instances_of_one_process_share_connections():
    if not settings.REDIS_URL:
        message = "needs Redis (set REDIS_URL)"
        pytest.fail(message) if services_required() else pytest.skip(message)
    server = redis.Redis.from_url(settings.REDIS_URL)
    before = server.info("stats")["total_connections_received"]

    def one_request():
        cache = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": "connection-reuse-test"})  # one per request, as Django makes
        cache.get("anything")

    for _ in range(20):  # requests one after another, each in its own thread
        thread = threading.Thread(target=one_request)
        thread.start()
        thread.join()
    opened = server.info("stats")["total_connections_received"] - before
    assert opened <= 1, f"20 requests opened {opened} Redis connections"


def test_a_burst_of_concurrent_requests_waits_for_a_shared_redis_connection_instead_of_failing():
    if not settings.REDIS_URL:
        message = "needs Redis (set REDIS_URL)"
        pytest.fail(message) if services_required() else pytest.skip(message)
    requests = 150  # more than redis-py's default pool allows at once (100)
    start = threading.Barrier(requests)
    failures = []

    def one_request():
        cache = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": "connection-burst-test"})
        start.wait()
        try:
            cache.set("seen", 1)
            cache.get("seen")
        except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
            failures.append(repr(exc))

    threads = [threading.Thread(target=one_request) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_database_pool_size_puts_the_pooled_backend_behind_the_web_process():
    import json
    import os
    import subprocess
    import sys

    require_postgresql("the pool is for PostgreSQL")
    params = default_connection.settings_dict
    url = f"postgres://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"
    script = (
        "import json, threading, django; django.setup()\n"
        "from django.conf import settings\n"
        "from django.db import connection\n"
        "pids = []\n"
        "def request():\n"
        "    from django.db import connection\n"
        "    with connection.cursor() as cursor:\n"
        "        cursor.execute('SELECT pg_backend_pid()'); pids.append(cursor.fetchone()[0])\n"
        "    connection.close()\n"
        "for _ in range(3):\n"
        "    thread = threading.Thread(target=request); thread.start(); thread.join()\n"
        "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], 'pids': pids}))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "coachhub.settings.local", "DATABASE_URL": url,
           "DATABASE_POOL_SIZE": "4", "REDIS_URL": ""}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["engine"] == "coachhub.core.dbpool"
    assert len(set(seen["pids"])) == 1, "three requests, one after another, shared one connection"
