"""Creates (if needed) and grants the PostgreSQL role the application connects as.

Run by the owner after `migrate`. The role may read and write rows but owns nothing and is neither
superuser nor BYPASSRLS, so row-level security binds it on every tenant-owned table.
"""

from __future__ import annotations

import json
import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = "Create/grant the non-owner PostgreSQL role the application uses (row-level security binds it)."

    def add_arguments(self, parser):
        parser.add_argument("role", help="role name, e.g. coachhub_app")
        parser.add_argument(
            "--password-env",
            metavar="VAR",
            help="environment variable holding the role's password (set on create and on every run)",
        )
        parser.add_argument(
            "--allow-truncate",
            action="store_true",
            help="also grant TRUNCATE (the test suite flushes tables between tests; production doesn't need it)",
        )

    def handle(self, *args, role: str, password_env: str | None, allow_truncate: bool, **options):
        if connection.vendor != "postgresql":
            raise CommandError("grant_app_role needs PostgreSQL (row-level security is PostgreSQL's).")
        if not role.replace("_", "").isalnum():
            raise CommandError(f"role name {role!r}: use letters, digits and underscores only.")
        password = None
        if password_env:
            password = os.environ.get(password_env)
            if not password:
                raise CommandError(f"--password-env {password_env}: that environment variable is empty.")
        quoted = connection.ops.quote_name(role)
        table_privileges = "SELECT, INSERT, UPDATE, DELETE" + (", TRUNCATE" if allow_truncate else "")
        with connection.cursor() as cursor:
            cursor.execute(
                f"DO $$ BEGIN CREATE ROLE {quoted} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            )
            cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
            is_super, bypasses = cursor.fetchone()
            if is_super or bypasses:
                raise CommandError(
                    f"role {role!r} is a superuser or has BYPASSRLS: row-level security would not bind it."
                )
            cursor.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tableowner = %s", [role]
            )
            if cursor.fetchone()[0]:
                raise CommandError(f"role {role!r} owns tables: the application role must own nothing.")
            if password is not None:
                cursor.execute(f"ALTER ROLE {quoted} PASSWORD %s", [password])
            cursor.execute(f"GRANT CONNECT ON DATABASE {connection.ops.quote_name(connection.settings_dict['NAME'])} TO {quoted}")
            cursor.execute(f"GRANT USAGE ON SCHEMA public TO {quoted}")
            cursor.execute(f"GRANT {table_privileges} ON ALL TABLES IN SCHEMA public TO {quoted}")
            cursor.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
            cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {table_privileges} ON TABLES TO {quoted}")
            cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {quoted}")
            cursor.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relforcerowsecurity"
            )
            protected = cursor.fetchone()[0]
        self.stdout.write(json.dumps({"role": role, "granted": table_privileges, "rls_tables": protected}))
