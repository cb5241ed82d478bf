"""Fail-closed tenant scoping: unscoped reads raise, explicit reads stay inside their tenant, and the
escape hatch appears only where it is allowed."""

import re
from pathlib import Path

import pytest

from coachhub.tenancy.context import TenantContextMissing, get_current_tenant, tenant_context
from coachhub.tenancy.models import AuditEvent, Membership, Team

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_unscoped_query_on_tenant_owned_model_raises(world_a):
    with pytest.raises(TenantContextMissing):
        list(Team.objects.all())
    with pytest.raises(TenantContextMissing):
        Membership.objects.filter(role="rep").count()
    with pytest.raises(TenantContextMissing):
        Team.objects.get(pk=world_a.team.pk)


@pytest.mark.django_db
def test_for_tenant_and_context_only_see_their_tenant(world_a, world_b):
    assert set(Team.objects.for_tenant(world_a.tenant)) == {world_a.team}
    with tenant_context(world_b.tenant):
        assert list(Team.objects.all()) == [world_b.team]
        assert not Team.objects.filter(pk=world_a.team.pk).exists()
        # Reading another tenant explicitly while inside a context is refused, not silently mixed.
        with pytest.raises(TenantContextMissing):
            Team.objects.for_tenant(world_a.tenant)
    assert get_current_tenant() is None


@pytest.mark.django_db
def test_context_is_reset_even_when_the_block_fails(world_a):
    with pytest.raises(ValueError), tenant_context(world_a.tenant):
        raise ValueError("boom")
    assert get_current_tenant() is None


@pytest.mark.django_db
def test_request_context_is_reset_after_each_request(world_a, client_for):
    client_for(world_a.member("tenant_admin")).get(f"/t/{world_a.tenant.slug}/people/")
    assert get_current_tenant() is None
    with pytest.raises(TenantContextMissing):
        AuditEvent.objects.count()


ALLOWED_ESCAPE_HATCH = {
    "coachhub/tenancy/managers.py",  # defines it
    "coachhub/tenancy/selectors.py",  # a user's own memberships, token/invitation lookups by secret
    "coachhub/identity/selectors.py",  # the tenant of a verified e-mail domain, looked up before login
}
ALLOWED_PATTERNS = [re.compile(r"(^|/)admin\.py$"), re.compile(r"/management/commands/"), re.compile(r"/migrations/")]


def test_escape_hatch_all_tenants_is_confined():
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv/", "tests/", "bench/")) or "/site-packages/" in rel:
            continue
        if rel in ALLOWED_ESCAPE_HATCH or any(p.search(rel) for p in ALLOWED_PATTERNS):
            continue
        if "all_tenants(" in path.read_text():
            offenders.append(rel)
    assert not offenders, f"all_tenants() used outside admin/commands/migrations: {offenders}"


def test_every_tenant_owned_table_leads_its_unique_constraints_with_tenant():
    from django.apps import apps

    from coachhub.tenancy.models import TenantOwnedModel

    problems = []
    for model in apps.get_models():
        if not issubclass(model, TenantOwnedModel):
            continue
        for constraint in model._meta.constraints:
            fields = getattr(constraint, "fields", ())
            if fields and fields[0] != "tenant":
                problems.append(f"{model.__name__}.{constraint.name}")
        for index in model._meta.indexes:
            if index.fields and index.fields[0].lstrip("-") != "tenant":
                problems.append(f"{model.__name__}.{index.name}")
        for f in model._meta.local_fields:
            if f.unique and f.name not in ("id", "token_hash", "key_hash"):
                problems.append(f"{model.__name__}.{f.name} is globally unique")
    assert not problems, problems
