"""Django's PostgreSQL backend, with closed connections kept open in a process-wide pool.

Under ASGI Django runs each request's sync code in a fresh thread, and connections are per thread:
CONN_MAX_AGE can't carry one from request to request (Django's docs say to turn it off under ASGI),
so every request opened a new one — 2.4 ms to PgBouncer on loopback, about 3 ms straight to
PostgreSQL plus a backend that starts with cold catalog caches. Here `close()` hands the connection
to the pool (rolled back first if a transaction was left open) and the next request's thread takes
it back. The pool holds at most `POOL_SIZE` idle connections; more may be open while busy.

Psycopg 3 has Django's own pool option; this project's driver is psycopg2, so it is done here.
Not for forking processes (Celery prefork): a forked child drops the parent's pool unused.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.db.backends.postgresql import base
from psycopg2 import extensions

logger = logging.getLogger(__name__)

# An idle connection older than this (settings POOL_PING_AFTER_S) is pinged before reuse: the server
# or PgBouncer may have dropped it (a restart, idle timeouts), and a request should not find out.
PING_AFTER_IDLE_S = 10.0
_IDLE = extensions.TRANSACTION_STATUS_IDLE


class _Pool:
    def __init__(self, size: int) -> None:
        self.size = size
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.idle: list[tuple[object, float]] = []  # (connection, when it was returned)


_pools: dict[tuple, _Pool] = {}
_pools_lock = threading.Lock()
# Connections a forked child inherited: never used, and never garbage-collected either (closing a
# copied socket would end the parent's session).
_inherited: list = []


def _pool_for(key: tuple, size: int) -> _Pool:
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None or pool.pid != os.getpid():
            if pool is not None:
                _inherited.extend(connection for connection, _ in pool.idle)
            pool = _pools[key] = _Pool(size)
        return pool


def close_pools() -> None:
    """Closes every idle pooled connection of this process (shutdown, or a test dropping its database)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        with pool.lock:
            idle, pool.idle = pool.idle, []
        if pool.pid == os.getpid():
            for connection, _ in idle:
                _discard(connection)


def _alive(connection) -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means "don't reuse this one"
        return False


def _discard(connection) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - it is being thrown away
        pass


class DatabaseWrapper(base.DatabaseWrapper):
    def _pool_key(self, conn_params: dict) -> tuple:
        # Keyed by where the connection goes, so a test database or another role never gets one
        # opened for something else.
        return tuple(sorted((name, str(value)) for name, value in conn_params.items()))

    def get_new_connection(self, conn_params):
        size = int(self.settings_dict.get("POOL_SIZE") or 0)
        if size <= 0:
            return super().get_new_connection(conn_params)
        pool = _pool_for(self._pool_key(conn_params), size)
        ping_after = float(self.settings_dict.get("POOL_PING_AFTER_S", PING_AFTER_IDLE_S))
        while True:
            with pool.lock:
                if not pool.idle:
                    break
                connection, returned_at = pool.idle.pop()
            if connection.closed or (time.monotonic() - returned_at >= ping_after and not _alive(connection)):
                _discard(connection)
                continue
            self._coachhub_pool = pool
            # As the parent does before handing out a new connection: the default isolation level.
            options = self.settings_dict["OPTIONS"]
            self.isolation_level = base.IsolationLevel(options.get("isolation_level", base.IsolationLevel.READ_COMMITTED))
            return connection
        connection = super().get_new_connection(conn_params)
        self._coachhub_pool = pool
        return connection

    def _close(self):
        pool = getattr(self, "_coachhub_pool", None)
        connection = self.connection
        if pool is None or connection is None or self.in_atomic_block or pool.pid != os.getpid():
            return super()._close()
        try:
            if connection.closed:
                return None
            if connection.info.transaction_status != _IDLE:
                connection.rollback()
            connection.autocommit = True  # pooled connections wait idle, outside any transaction
            if getattr(self, "session_tenant_set", False):
                # A server-side cursor set the tenant for the whole session: don't hand it on.
                with connection.cursor() as cursor:
                    cursor.execute("RESET coachhub.tenant")
                self.session_tenant_set = False
        except Exception:  # noqa: BLE001 - a connection that can't be reset is closed instead
            logger.info("closing a connection that could not be reset for reuse", exc_info=True)
            return super()._close()
        with pool.lock:
            if len(pool.idle) < pool.size:
                pool.idle.append((connection, time.monotonic()))
                return None
        return super()._close()
