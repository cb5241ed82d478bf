"""Database connection hygiene for long-lived (streamed) responses."""

from django.conf import settings
from django.db import connections


def release_connections() -> None:
    """Closes this thread's database connections unless a transaction is open on them (a test's
    wrapping transaction, or a caller's atomic block), so idle streams don't pin connections.

    Behind PgBouncer in transaction mode an idle client connection costs the database nothing, so
    DATABASE_RELEASE_STREAM_CONNECTIONS=false keeps them and saves a reconnect per hop."""
    if not settings.DATABASE_RELEASE_STREAM_CONNECTIONS:
        return
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
