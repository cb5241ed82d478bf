"""Shared fixtures: two fully staffed tenants (every role, a team) and clients logged in as each."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
from django.test import Client

from coachhub.core.dbpool.base import close_pools
from coachhub.tenancy.models import Membership, Role, Team, TeamRole, Tenant
from tests.factories import MembershipFactory, TeamFactory, TeamMembershipFactory, TenantFactory, UserFactory

# Real stand-ins for outside things, available to every test: a loopback OpenAI-compatible server
# (`openai_server`) and a real Celery worker on Redis (`workers`).
pytest_plugins = ["tests.support.openai_server", "tests.support.celery_worker"]

ROLES = [Role.REP, Role.MANAGER, Role.ENABLEMENT_LEAD, Role.TENANT_ADMIN]


def services_required() -> bool:
    """CI sets REQUIRE_SERVICES=1: a test that needs PostgreSQL/Redis then fails instead of skipping."""
    return os.environ.get("REQUIRE_SERVICES") == "1"


def require_postgresql(why: str) -> None:
    """Skips the calling test on SQLite (`why` says what needs PostgreSQL); fails it under CI."""
    from django.db import connection

    if connection.vendor != "postgresql":
        message = f"{why}: the test database is not PostgreSQL (set DATABASE_URL)"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class World:
    """One tenant with a member of every role, a team (manager coaches, rep and rep2 belong) and an
    outsider rep in no team."""

    tenant: Tenant
    team: Team
    members: dict[str, Membership]
    rep2: Membership
    loner: Membership
    extra: dict = field(default_factory=dict)

    def member(self, role: str) -> Membership:
        return self.members[role]


def build_world(name: str, slug: str) -> World:
    tenant = TenantFactory(name=name, slug=slug)
    team = TeamFactory(tenant=tenant, name=f"{name} Team")
    members = {
        role: MembershipFactory(tenant=tenant, role=role, user=UserFactory(email=f"{role}@{slug}.example"))
        for role in ROLES
    }
    rep2 = MembershipFactory(tenant=tenant, role=Role.REP, user=UserFactory(email=f"rep2@{slug}.example"))
    loner = MembershipFactory(tenant=tenant, role=Role.REP, user=UserFactory(email=f"loner@{slug}.example"))
    TeamMembershipFactory(team=team, membership=members[Role.MANAGER], kind=TeamRole.COACH)
    TeamMembershipFactory(team=team, membership=members[Role.REP], kind=TeamRole.MEMBER)
    TeamMembershipFactory(team=team, membership=rep2, kind=TeamRole.MEMBER)
    return World(tenant=tenant, team=team, members=members, rep2=rep2, loner=loner)


@pytest.fixture
def world_a(db) -> World:
    return build_world("Acme Support", "acme")


@pytest.fixture
def world_b(db) -> World:
    return build_world("Bolt Care", "bolt")


@pytest.fixture
def client_for():
    """client_for(membership) → a test client logged in as that member's user."""

    def make(membership: Membership | None) -> Client:
        client = Client()
        if membership is not None:
            client.force_login(membership.user)
        return client

    return make


@pytest.fixture
def staff_user(db):
    return UserFactory(email="ops@platform.example", is_staff=True)


APP_ROLE = "coachhub_app_test"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """On PostgreSQL the suite runs as the application does in production: migrations as the owner,
    everything else as a role that owns nothing and is bound by row-level security."""
    from django.core.management import call_command
    from django.db import connections

    db = connections["default"]
    if db.vendor != "postgresql":
        yield
        return
    owner = db.settings_dict["USER"]
    with django_db_blocker.unblock():
        call_command("grant_app_role", APP_ROLE, "--allow-truncate", stdout=open(os.devnull, "w"))
        db.close()
    db.settings_dict["USER"] = APP_ROLE
    yield
    with django_db_blocker.unblock():
        db.close()
    # With DATABASE_POOL_SIZE set, closed connections wait in the pool: close them, or the test
    # database can't be dropped.
    close_pools()
    db.settings_dict["USER"] = owner
