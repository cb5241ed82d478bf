"""/healthz, the demo seed, settings and the services CI requires."""

import os

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Membership, Tenant
from tests.conftest import services_required

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker():
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["checks"]["database"]["status"] == "ok"
    if settings.REDIS_URL:
        assert body["checks"]["broker"]["status"] == "ok"
    else:
        assert body["checks"]["broker"]["status"] == "not_configured"


def test_healthz_is_503_when_broker_is_down(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "down"


def test_required_services_are_really_there():
    """In CI (REQUIRE_SERVICES=1) the suite must run on PostgreSQL and Redis, not fall back."""
    if not services_required():
        pytest.skip("services not required outside CI")
    assert connection.vendor == "postgresql", "CI must run the suite on PostgreSQL (set DATABASE_URL)"
    assert settings.REDIS_URL, "CI must set REDIS_URL"
    import redis

    assert redis.Redis.from_url(settings.REDIS_URL).ping()


def test_seed_demo_is_idempotent_and_prints_logins(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    for email in ("admin@demo.example", "lead@demo.example", "manager@demo.example", "rep@demo.example"):
        assert email in out
    assert "password: coachhub-demo" in out
    tenant = Tenant.objects.get(slug="demo")
    with tenant_context(tenant):
        roles = dict(
            Membership.objects.filter(user__email__in=[f"{r}@demo.example" for r in ("admin", "lead", "manager", "rep")])
            .values_list("user__email", "role")
        )
        members = Membership.objects.count()
    assert roles == {
        "admin@demo.example": "tenant_admin", "lead@demo.example": "enablement_lead",
        "manager@demo.example": "manager", "rep@demo.example": "rep",
    }
    call_command("seed_demo")
    with tenant_context(tenant):
        assert Membership.objects.count() == members, "a second run adds nobody"


@pytest.mark.parametrize(
    "email, heading",
    [
        ("admin@demo.example", b"members"),
        ("lead@demo.example", b"Enablement"),
        ("manager@demo.example", b"Your teams"),
        ("rep@demo.example", b"Practice the hard conversations"),
    ],
)
def test_seeded_users_land_on_their_role_home(email, heading):
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    client = Client()
    response = client.post("/accounts/login/", {"username": email, "password": "coachhub-demo"}, follow=True)
    assert response.redirect_chain[-1][0] == "/t/demo/"
    assert heading in response.content


def test_every_page_sends_a_strict_csp():
    response = Client().get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_production_settings_pass_check_deploy(tmp_path):
    import subprocess
    import sys

    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE must not leak into a production check.
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "coachhub.settings.production",
        "DJANGO_SECRET_KEY": "x" * 20 + "-very-long-and-random-secret-for-the-deploy-check-0123456789",
        "DJANGO_ALLOWED_HOSTS": "coachhub.example",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_no_missing_migrations():
    from io import StringIO

    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)


def test_docker_compose_is_a_complete_stack():
    """No Docker engine here: check the file the way `docker compose config` would need it."""
    import yaml

    compose = yaml.safe_load((settings.BASE_DIR / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"migrate", "web", "worker", "beat", "db", "redis"}
    for name, service in services.items():
        if name != "migrate":  # a one-shot job: the others wait for it to complete
            assert "healthcheck" in service, f"{name} has no health check"
    for name in ("web", "worker", "beat"):
        assert services[name]["env_file"] == ".env"
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # Migrations run as the owner; the app's role is granted, not owner (row-level security binds it).
    migrate = services["migrate"]
    assert "DATABASE_OWNER_URL" in migrate["environment"]["DATABASE_URL"]
    assert "migrate --noinput" in migrate["command"] and "grant_app_role" in migrate["command"]
    env_example = (settings.BASE_DIR / ".env.example").read_text()
    assert "DATABASE_URL=postgres://coachhub_app:" in env_example
    assert "uvicorn coachhub.asgi:application" in services["web"]["command"]
    assert services["worker"]["command"].startswith("celery -A coachhub worker")
    assert (settings.BASE_DIR / ".env.example").exists() and (settings.BASE_DIR / "Dockerfile").exists()
