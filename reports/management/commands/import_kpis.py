"""`python manage.py import_kpis --tenant <slug> FILE [--dry-run] [--source NAME] [--preset KEY] [--timezone ZONE]`

Imports a KPI CSV for a whole tenant and prints a JSON summary to stdout:
{"tenant", "file", "source", "rows", "created", "updated", "unchanged", "dry_run", "ok", "error_count",
 "errors": [{"line", "column", "message"}]}. Any bad row: nothing is written, every error is listed
(line 1 is the header) and the command exits with status 1.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from coachhub.core.errors import ApplicationError
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Tenant
from reports import services


class Command(BaseCommand):
    help = "Import service KPIs (long or wide CSV) for a tenant; all rows or none."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="The tenant's URL name (slug).")
        parser.add_argument("file", help="Path of the CSV file.")
        parser.add_argument("--dry-run", action="store_true", help="Check the file and report; write nothing.")
        parser.add_argument("--source", default="", help="Source whose saved reading settings apply.")
        parser.add_argument("--preset", default="",
                            help="Read the file as this help-desk export (e.g. zendesk_tickets, five9_call_log) or "
                            "'weekly'; default: the source's choice, else recognised from the header.")
        parser.add_argument("--timezone", default="",
                            help="Time zone of times without one and of the weeks (e.g. Europe/Berlin) for this run.")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["tenant"], is_active=True).first()
        if tenant is None:
            raise CommandError(f"No active tenant with slug '{options['tenant']}'.")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        with tenant_context(tenant):
            try:
                summary = services.kpi_file_import(
                    tenant=tenant, path=path, source_name=options["source"], dry_run=options["dry_run"],
                    preset=options["preset"], time_zone=options["timezone"],
                )
            except ApplicationError as exc:
                raise CommandError(exc.message) from None
        self.stdout.write(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
        if not summary.ok:
            lines = [f"Nothing was imported: {summary.error_count} problem(s) in {path.name}."]
            for error in summary.errors:
                where = f"line {error['line']}" if error["line"] else "file"
                column = f", column {error['column']}" if error["column"] else ""
                lines.append(f"  {where}{column}: {error['message']}")
            if summary.error_count > len(summary.errors):
                lines.append(f"  … and {summary.error_count - len(summary.errors)} more.")
            raise CommandError("\n".join(lines), returncode=1)
