"""Scenario factories. Each derives `tenant` from its parent, so a fixture can't straddle tenants."""

from __future__ import annotations

import copy
from typing import Any

import factory

from scenarios.library import library_get
from scenarios.models import Assignment, AssignmentRecipient, Scenario, ScenarioVersion, VersionStatus
from tests.factories import MembershipFactory, TenantFactory, TenantOwnedFactory

BASE_SLUG = "refund-after-return-window"


def spec_dict(**overrides: Any) -> dict[str, Any]:
    """A complete, valid spec (a starter scenario's) with top-level fields replaced."""
    data = copy.deepcopy(library_get(BASE_SLUG).to_dict())
    data.update(overrides)
    return data


class ScenarioFactory(TenantOwnedFactory):
    class Meta:
        model = Scenario

    tenant = factory.SubFactory(TenantFactory)
    slug = factory.Sequence(lambda n: f"scenario-{n}")
    title = factory.Sequence(lambda n: f"Scenario {n}")
    moment = "policy_refusal"


class ScenarioVersionFactory(TenantOwnedFactory):
    class Meta:
        model = ScenarioVersion

    scenario = factory.SubFactory(ScenarioFactory)
    tenant = factory.SelfAttribute("scenario.tenant")
    number = 1
    status = VersionStatus.DRAFT
    spec = factory.LazyAttribute(
        lambda o: spec_dict(slug=o.scenario.slug, title=o.scenario.title, moment=o.scenario.moment)
    )


class AssignmentFactory(TenantOwnedFactory):
    class Meta:
        model = Assignment

    version = factory.SubFactory(ScenarioVersionFactory, status=VersionStatus.PUBLISHED)
    scenario = factory.SelfAttribute("version.scenario")
    tenant = factory.SelfAttribute("version.tenant")


class AssignmentRecipientFactory(TenantOwnedFactory):
    class Meta:
        model = AssignmentRecipient

    assignment = factory.SubFactory(AssignmentFactory)
    tenant = factory.SelfAttribute("assignment.tenant")
    membership = factory.SubFactory(MembershipFactory, tenant=factory.SelfAttribute("..tenant"))
