"""PostgreSQL with a process-wide pool of open connections, for the ASGI web process (DATABASE_POOL_SIZE)."""
