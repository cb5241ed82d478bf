"""PostgreSQL row-level security: the database's own fence around each tenant's rows.

Every tenant-owned table has ENABLE + FORCE ROW LEVEL SECURITY and one policy that admits a row only
when its `tenant_id` equals the transaction's `coachhub.tenant` setting. The application connects
as a role that is neither owner nor superuser, so even a raw or buggy query can't cross tenants.

Each statement Django sends carries its own setting: an execute wrapper prefixes
`SELECT set_config('coachhub.tenant', '<id>', true);` — PostgreSQL runs a multi-statement query
as one transaction, so the setting is local to exactly that statement in autocommit mode (and to the
surrounding transaction inside `atomic`). That also holds behind PgBouncer in transaction mode,
where session settings would leak between clients.

Which tenant a statement runs as, first match wins:
1. `*` (every tenant) while an `all_tenants` queryset runs — the loud escape hatch for admin,
   migrations and lookups by user or secret;
2. the request's or task's tenant context (`tenant_context`);
3. the tenant a `for_tenant(tenant)` queryset names, or the tenant-owned row being saved, deleted or
   reloaded, or the row a foreign key is followed from (the models' base manager);
4. otherwise nothing: the policy admits no row.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from django.db.migrations.operations.base import Operation

from .context import get_current_tenant

SETTING = "coachhub.tenant"
EVERY_TENANT = "*"

# The tenant named by the queryset or row being evaluated (rules 1 and 3 above).
_scope: contextvars.ContextVar[str | None] = contextvars.ContextVar("rls_scope", default=None)


@contextmanager
def rls_scope(value: int | str | None) -> Iterator[None]:
    """Run the block's statements as `value`: a tenant id (a tenant context, when active, still
    decides) or EVERY_TENANT (which does). None leaves the current scope alone."""
    if value is None:
        yield
        return
    token = _scope.set(str(value))
    try:
        yield
    finally:
        _scope.reset(token)


def statement_tenant() -> str:
    scope = _scope.get()
    if scope == EVERY_TENANT:
        return scope
    tenant = get_current_tenant()
    if tenant is not None:
        return str(int(tenant.pk))
    return scope or ""


def _setting_sql(value: str, *, local: bool) -> str:
    # `value` is an integer id, "*" or "": safe to inline, and inlining keeps the caller's own
    # parameter placeholders (and literal %s in parameterless SQL) untouched.
    assert value in ("", EVERY_TENANT) or value.isdigit(), value
    return f"SELECT set_config('{SETTING}', '{value}', {'true' if local else 'false'})"


# Only statements that read or write rows need the setting; DDL, savepoints and commands like
# CREATE DATABASE or VACUUM run untouched (some of them refuse to share a query string).
_ROW_STATEMENTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "MERGE", "(")


def _touches_rows(sql: str) -> bool:
    return sql.lstrip()[:6].upper().startswith(_ROW_STATEMENTS)


def tenant_setting_wrapper(execute, sql, params, many, context):
    if not isinstance(sql, str) or not _touches_rows(sql):
        return execute(sql, params, many, context)
    value = statement_tenant()
    cursor = context["cursor"]
    if getattr(cursor.cursor, "name", None):
        # A server-side cursor wraps the statement in DECLARE, which takes exactly one query: set the
        # tenant for the session first. Every wrapped statement still sets its own local value, so a
        # session value never decides for a later statement.
        with cursor.db.connection.cursor() as plain:
            plain.execute(_setting_sql(value, local=False))
        cursor.db.session_tenant_set = True  # a pooled connection resets it before reuse
        return execute(sql, params, many, context)
    return execute(f"{_setting_sql(value, local=True)}; {sql}", params, many, context)


def install(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: put the wrapper on every PostgreSQL connection."""
    if connection.vendor != "postgresql":
        return
    if tenant_setting_wrapper not in connection.execute_wrappers:
        connection.execute_wrappers.append(tenant_setting_wrapper)


def set_tenant_for_raw_cursor(raw_cursor, tenant_id: int) -> None:
    """For work on the driver's own cursor (COPY), which bypasses Django's execute wrappers: must run
    inside the transaction that does the work."""
    raw_cursor.execute(_setting_sql(str(int(tenant_id)), local=True))


# --- migrations -------------------------------------------------------------------------------

POLICY = "tenant_isolation"
_POLICY_PREDICATE = (
    f"(current_setting('{SETTING}', true) = '{EVERY_TENANT}' "
    f"OR tenant_id = NULLIF(NULLIF(current_setting('{SETTING}', true), ''), '{EVERY_TENANT}')::bigint)"
)


class EnableTenantRLS(Operation):
    """Turns row-level security on for the named tenant-owned models of this app (PostgreSQL only).

    Each migration that creates a tenant-owned table lists it here; tests/tenancy/test_rls.py fails
    when a table with a `tenant_id` column has no policy.
    """

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_names: list[str]):
        self.model_names = [name.lower() for name in model_names]

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.model_names], {})

    def state_forwards(self, app_label, state):
        pass

    def _tables(self, app_label, state):
        return [state.apps.get_model(app_label, name)._meta.db_table for name in self.model_names]

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in self._tables(app_label, to_state):
            quoted = schema_editor.quote_name(table)
            schema_editor.execute(f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY")
            schema_editor.execute(f"ALTER TABLE {quoted} FORCE ROW LEVEL SECURITY")
            schema_editor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {quoted}")
            schema_editor.execute(
                f"CREATE POLICY {POLICY} ON {quoted} USING {_POLICY_PREDICATE} WITH CHECK {_POLICY_PREDICATE}"
            )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in self._tables(app_label, from_state):
            quoted = schema_editor.quote_name(table)
            schema_editor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {quoted}")
            schema_editor.execute(f"ALTER TABLE {quoted} NO FORCE ROW LEVEL SECURITY")
            schema_editor.execute(f"ALTER TABLE {quoted} DISABLE ROW LEVEL SECURITY")

    def describe(self):
        return f"Enable row-level security on {', '.join(self.model_names)}"

    @property
    def migration_name_fragment(self):
        return "row_level_security"
