"""`python manage.py scenarios export|import --tenant <slug> …`: keep a tenant's scenarios in git.

    scenarios export --tenant demo [--slug s ...] [-o FILE]
    scenarios import --tenant demo FILE [--publish]

Import is all-or-nothing: any invalid scenario stops it with every bad field named.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from coachhub.core.errors import ApplicationError
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Tenant
from scenarios import services


class Command(BaseCommand):
    help = "Export a tenant's scenarios as YAML, or import scenarios from a YAML file."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        export = sub.add_parser("export", help="Print (or write) scenarios as YAML.")
        export.add_argument("--tenant", required=True, help="The tenant's URL name (slug).")
        export.add_argument("--slug", action="append", default=[], help="Only this scenario (repeatable).")
        export.add_argument("-o", "--output", help="Write to this file instead of standard output.")
        imp = sub.add_parser("import", help="Create scenarios, or new drafts of existing ones, from YAML.")
        imp.add_argument("--tenant", required=True, help="The tenant's URL name (slug).")
        imp.add_argument("file", help="A YAML file, or - for standard input.")
        imp.add_argument("--publish", action="store_true", help="Publish every imported scenario.")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug '{options['tenant']}'.")
        with tenant_context(tenant):
            try:
                if options["verb"] == "export":
                    self._export(tenant, options)
                else:
                    self._import(tenant, options)
            except ApplicationError as exc:
                lines = [exc.message, *(f"  {path}: {message}" for path, message in exc.fields.items())]
                raise CommandError("\n".join(lines)) from None

    def _export(self, tenant: Tenant, options) -> None:
        text = services.scenarios_export_yaml(tenant=tenant, slugs=options["slug"] or None)
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {options['output']}")
        else:
            self.stdout.write(text, ending="")

    def _import(self, tenant: Tenant, options) -> None:
        if options["file"] == "-":
            import sys

            text = sys.stdin.read()
        else:
            try:
                text = Path(options["file"]).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"Can't read {options['file']}: {exc}") from None
        summary = services.scenarios_import_yaml(tenant=tenant, actor=None, text=text, publish=options["publish"])
        self.stdout.write(f"Imported into {tenant.slug}: {summary.describe()}.")
        for label, slugs in (("created", summary.created), ("new draft", summary.new_drafts),
                             ("unchanged", summary.unchanged), ("published", summary.published)):
            for slug in slugs:
                self.stdout.write(f"  {label}: {slug}")
