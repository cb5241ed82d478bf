"""Builds the demo tenant. Idempotent: running it again changes nothing that already exists.

Other apps add their demo content (scenarios, sessions, scores, KPIs) through `register_seeder`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from .models import Membership, Role, Team, TeamMembership, TeamRole, Tenant, User

DEMO_SLUG = "demo"
DEMO_PASSWORD = "coachhub-demo"
DEMO_USERS = [
    ("admin@demo.example", "Avery Admin", Role.TENANT_ADMIN),
    ("lead@demo.example", "Lee Enablement", Role.ENABLEMENT_LEAD),
    ("manager@demo.example", "Morgan Manager", Role.MANAGER),
    ("rep@demo.example", "Riley Rep", Role.REP),
]
DEMO_OPERATOR = ("ops@demo.example", "Pat Platform")
DEMO_TEAM = "Frontline Support"

_SEEDERS: list[Callable[[Tenant], None]] = []


def register_seeder(seeder: Callable[[Tenant], None]) -> None:
    _SEEDERS.append(seeder)


@transaction.atomic
def seed_demo() -> Tenant:
    tenant, _ = Tenant.objects.get_or_create(slug=DEMO_SLUG, defaults={"name": "Demo Support Co."})
    memberships = {}
    for email, name, role in DEMO_USERS:
        user = _user(email, name)
        membership, _ = Membership.objects.for_tenant(tenant).get_or_create(
            tenant=tenant, user=user, defaults={"role": role, "started_on": timezone.localdate()}
        )
        memberships[role] = membership
    operator = _user(*DEMO_OPERATOR)
    if not operator.is_staff:
        operator.is_staff = True
        operator.save(update_fields=["is_staff"])
    team, _ = Team.objects.for_tenant(tenant).get_or_create(tenant=tenant, name=DEMO_TEAM)
    links = TeamMembership.objects.for_tenant(tenant)
    links.get_or_create(tenant=tenant, team=team, membership=memberships[Role.MANAGER], kind=TeamRole.COACH)
    links.get_or_create(tenant=tenant, team=team, membership=memberships[Role.REP], kind=TeamRole.MEMBER)
    for seeder in _SEEDERS:
        seeder(tenant)
    return tenant


def _user(email: str, name: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=DEMO_PASSWORD, full_name=name)
    return user
