"""Database connection hygiene for long-lived (streamed) responses."""

from django.db import connections


def release_connections() -> None:
    """Closes this thread's database connections unless a transaction is open on them (a test's
    wrapping transaction, or a caller's atomic block), so idle streams don't pin connections."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
