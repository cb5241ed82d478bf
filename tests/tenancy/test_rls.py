"""Row-level security: the database itself keeps tenants apart, whatever the query.

The suite connects as the application does (a role that owns nothing, is not superuser and has no
BYPASSRLS); these tests show a raw query can't see or change another tenant's rows and that every
tenant-owned table carries a policy. PostgreSQL only (CI requires it).
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role, TenantOwnedModel
from coachhub.tenancy.rls import POLICY
from sessions.models import PracticeSession
from tests.conftest import require_postgresql
from tests.scoring.factories import ended_session

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgresql_only():
    require_postgresql("row-level security is PostgreSQL's")


@pytest.fixture
def two_tenants_sessions(world_a, world_b):
    a = ended_session(world_a.member(Role.REP))
    b = ended_session(world_b.member(Role.REP))
    return world_a, world_b, a, b


def _driver_cursor():
    """The database driver's own cursor: no Django wrapper, no tenant setting — a raw, buggy query."""
    connection.ensure_connection()
    return connection.connection.cursor()


def test_the_app_role_owns_nothing_and_cannot_bypass_policies():
    with _driver_cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
        assert cursor.fetchone()[0] == 0


def test_every_table_with_a_tenant_column_has_forced_rls_and_a_policy():
    with _driver_cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   EXISTS (SELECT 1 FROM pg_policies p WHERE p.tablename = c.relname AND p.policyname = %s)
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
            WHERE c.relkind IN ('r', 'p')
            """,
            [POLICY],
        )
        tables = {name: (enabled, forced, has_policy) for name, enabled, forced, has_policy in cursor.fetchall()}
    unprotected = sorted(name for name, flags in tables.items() if flags != (True, True, True))
    assert not unprotected, (
        f"tenant-owned tables without forced row-level security and a '{POLICY}' policy: {unprotected} — "
        "add EnableTenantRLS([...]) to the migration that creates them"
    )
    model_tables = {
        m._meta.db_table for m in apps.get_models() if issubclass(m, TenantOwnedModel) and m._meta.managed
    }
    assert model_tables <= set(tables), model_tables - set(tables)


@pytest.mark.django_db(transaction=True)
def test_a_raw_query_with_no_tenant_set_sees_nothing(two_tenants_sessions):
    world_a, world_b, _, _ = two_tenants_sessions
    for world in (world_a, world_b):
        assert PracticeSession.objects.for_tenant(world.tenant).count() == 1
    # A brand-new connection as the application role, rows of both tenants committed.
    fresh = connection.get_new_connection(connection.get_connection_params())
    fresh.autocommit = True
    try:
        with fresh.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM roleplay_practicesession")
            assert cursor.fetchone()[0] == 0
            cursor.execute("SELECT count(*) FROM roleplay_turn")
            assert cursor.fetchone()[0] == 0
            cursor.execute("UPDATE roleplay_practicesession SET status = 'abandoned'")
            assert cursor.rowcount == 0
    finally:
        fresh.close()


def test_with_tenant_a_set_a_raw_query_cannot_read_or_write_tenant_b(two_tenants_sessions):
    world_a, world_b, session_a, session_b = two_tenants_sessions
    with _driver_cursor() as cursor:
        cursor.execute("SELECT set_config('coachhub.tenant', %s, true)", [str(world_a.tenant.pk)])
        cursor.execute("SELECT id, tenant_id FROM roleplay_practicesession")
        assert cursor.fetchall() == [(session_a.id, world_a.tenant.pk)]
        cursor.execute("SELECT count(*) FROM roleplay_turn WHERE session_id = %s", [session_b.id])
        assert cursor.fetchone()[0] == 0
        cursor.execute("UPDATE roleplay_practicesession SET status = 'abandoned' WHERE id = %s", [session_b.id])
        assert cursor.rowcount == 0
        cursor.execute("DELETE FROM roleplay_turn WHERE session_id = %s", [session_b.id])
        assert cursor.rowcount == 0
        # Moving one's own row into the other tenant is refused too (WITH CHECK).
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            with connection.cursor() as wrapped, tenant_context(world_a.tenant):
                wrapped.execute(
                    "UPDATE roleplay_practicesession SET tenant_id = %s WHERE id = %s",
                    [world_b.tenant.pk, session_a.id],
                )
    with tenant_context(world_b.tenant):
        session_b.refresh_from_db()
        assert session_b.status == "ended" and session_b.turns.count() > 0


def test_inserting_a_row_for_another_tenant_is_refused(two_tenants_sessions):
    world_a, world_b, session_a, _ = two_tenants_sessions
    with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
        with tenant_context(world_a.tenant), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO tenancy_auditevent (tenant_id, action, target_type, target_id, summary, data, created_at) "
                "VALUES (%s, 'forged', '', '', 'x', '{}', now())",
                [world_b.tenant.pk],
            )


def test_a_buggy_unfiltered_query_inside_a_request_context_sees_only_that_tenant(two_tenants_sessions):
    world_a, world_b, session_a, session_b = two_tenants_sessions
    with tenant_context(world_b.tenant), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM roleplay_practicesession")  # forgot WHERE tenant_id = …
        assert [row[0] for row in cursor.fetchall()] == [session_b.id]
    # The ORM's own base manager (what foreign keys use) is bound the same way.
    with tenant_context(world_a.tenant):
        assert list(PracticeSession._base_manager.values_list("id", flat=True)) == [session_a.id]


def test_for_tenant_outside_a_context_reads_exactly_that_tenant(two_tenants_sessions):
    world_a, world_b, session_a, session_b = two_tenants_sessions
    assert list(PracticeSession.objects.for_tenant(world_b.tenant).values_list("id", flat=True)) == [session_b.id]
    assert [s.id for s in PracticeSession.objects.for_tenant(world_a.tenant).iterator()] == [session_a.id]


def test_grant_app_role_refuses_a_role_name_it_cannot_quote_safely():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="letters, digits and underscores"):
        call_command("grant_app_role", "app; DROP TABLE x")
