"""`python manage.py seed_demo`: the demo tenant with one user per role, printed with their password."""

from django.conf import settings
from django.core.management.base import BaseCommand

from coachhub.tenancy.demo import DEMO_OPERATOR, DEMO_PASSWORD, DEMO_SLUG, DEMO_USERS, seed_demo
from coachhub.tenancy.models import Role


class Command(BaseCommand):
    help = "Create (idempotently) the demo tenant 'demo' with one user per role, and print their logins."

    def handle(self, *args, **options):
        seed_demo()
        base = settings.SITE_URL.rstrip("/")
        self.stdout.write(f"Demo tenant '{DEMO_SLUG}' is ready: {base}/t/{DEMO_SLUG}/")
        self.stdout.write(f"Log in at {base}/accounts/login/ with any of these (password: {DEMO_PASSWORD}):")
        for email, _, role in DEMO_USERS:
            self.stdout.write(f"  {email:<24} {Role(role).label:<16} password: {DEMO_PASSWORD}")
        self.stdout.write(f"  {DEMO_OPERATOR[0]:<24} {'Platform operator':<16} password: {DEMO_PASSWORD}")
