"""`manage.py rescore --tenant SLUG [--engine embedded|llm] [--since YYYY-MM-DD]`: queue background
rescoring of a tenant's ended sessions. A newer scorer version (or another engine) gets its own run
and becomes current when done; earlier runs stay as history. The same scorer again is a no-op,
except for failed runs, which are retried."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Tenant
from scoring.engines import ENGINE_NAMES
from scoring.services import rescore_enqueue


class Command(BaseCommand):
    help = "Queue background rescoring of a tenant's ended sessions (history is kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="the tenant's URL name (slug)")
        parser.add_argument("--engine", choices=ENGINE_NAMES, default=None,
                            help="scoring engine (default: the tenant's AI settings)")
        parser.add_argument("--since", default=None, help="only sessions that ended on or after this date (YYYY-MM-DD)")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with the URL name {options['tenant']!r}.")
        since = None
        if options["since"]:
            try:
                day = datetime.strptime(options["since"], "%Y-%m-%d").date()
            except ValueError as exc:
                raise CommandError("--since must be a date like 2025-01-31.") from exc
            since = timezone.make_aware(datetime.combine(day, time.min))
        with tenant_context(tenant):
            count = rescore_enqueue(tenant=tenant, engine_name=options["engine"], since=since)
        self.stdout.write(f"Queued rescoring of {count} session(s) of {tenant.slug}.")
