"""`python manage.py erase_person --tenant <slug> --email <email> [--dry-run] [--actor <email>]`

Erases one person's practice data in one tenant on request (see
coachhub.tenancy.retention.services.person_erase) and prints the counts as JSON. The same person's
data in other tenants is untouched. `--dry-run` prints what would be erased and changes nothing.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from coachhub.core.errors import ApplicationError
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Membership, Tenant, User
from coachhub.tenancy.retention import selectors, services


class Command(BaseCommand):
    help = "Erase one person's practice data and membership in one tenant; writes an audit entry."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="The tenant's URL name (slug).")
        parser.add_argument("--email", required=True, help="The person's email address.")
        parser.add_argument("--dry-run", action="store_true", help="Print what would be erased; change nothing.")
        parser.add_argument("--actor", default="", help="Email of the operator or admin who asked (for the audit log).")

    def handle(self, *args, **options):
        # Any tenant, active or not: a deactivated customer's people may still ask.
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug '{options['tenant']}'.")
        actor = None
        if options["actor"]:
            actor = User.objects.filter(email=options["actor"].strip().lower()).first()
            if actor is None:
                raise CommandError(f"No user with email '{options['actor']}'.")
        email = options["email"].strip().lower()
        with tenant_context(tenant):
            member = Membership.objects.for_tenant(tenant).filter(user__email=email).first()
            if member is None:
                raise CommandError(f"{email} is not a member of '{tenant.slug}'; nothing was erased.")
            if options["dry_run"]:
                summary = selectors.person_data_summary(tenant=tenant, membership=member)
                self.stdout.write(json.dumps({"tenant": tenant.slug, "dry_run": True, **summary.as_dict()}, indent=2))
                return
            try:
                counts = services.person_erase(tenant=tenant, actor=actor, membership=member, via="command")
            except ApplicationError as exc:
                raise CommandError(f"Nothing was erased: {exc.message}") from exc
        self.stdout.write(json.dumps({"tenant": tenant.slug, "erased": True, **counts}, indent=2))
