"""Django's Redis cache with one connection pool per process instead of one per request.

Django keeps a cache instance per request context, and under ASGI each request's sync code runs in
its own thread, so the stock backend opened a new Redis connection for every request (about 1 ms on
loopback, for the login session and the rate limits). redis-py's pools are thread-safe and re-made
after a fork, so every instance in the process can share one. Shared, the pool must wait for a free
connection rather than fail: redis-py's default pool raises "Too many connections" at 100, which a
burst of concurrent requests reaches, so it is a BlockingConnectionPool unless OPTIONS say otherwise.
"""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.utils.functional import cached_property

_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()


# Connections one process may hold, and how long a request waits for one when all are busy.
POOL_DEFAULTS = {"pool_class": "redis.BlockingConnectionPool", "max_connections": 64, "timeout": 5}


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        params = {**params, "OPTIONS": {**POOL_DEFAULTS, **params.get("OPTIONS", {})}}
        super().__init__(server, params)

    @cached_property
    def _cache(self):
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
            return client
