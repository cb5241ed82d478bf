"""Publishing and the realism check: the tenant setting "Block publishing when the realism check
fails (or wasn't run)" — off by default — on the page and in the API."""

from __future__ import annotations

import pytest

from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.models import AISettings, AuditEvent, Role
from scenarios import services
from scenarios.models import Scenario, ScenarioVersion, VersionStatus
from tests.scenarios.factories import spec_dict

pytestmark = pytest.mark.django_db


def _draft(world, slug: str = "to-publish", **overrides) -> Scenario:
    return services.scenario_create(
        tenant=world.tenant, actor=world.member(Role.ENABLEMENT_LEAD).user, spec=spec_dict(slug=slug, **overrides)
    )


def _status(scenario: Scenario) -> str:
    return ScenarioVersion.objects.for_tenant(scenario.tenant).get(scenario=scenario, number=1).status


def _block(world, on: bool = True) -> None:
    tenancy_services.ai_settings_update(
        tenant=world.tenant, actor=world.member(Role.TENANT_ADMIN).user, customer_engine="embedded",
        scorer_engine="embedded", block_publish_without_realism_check=on,
    )


def _check(client, scenario: Scenario, capture) -> None:
    with capture(execute=True):
        assert client.post(f"/t/{scenario.tenant.slug}/scenarios/{scenario.id}/check/").status_code == 302


def test_by_default_a_draft_publishes_without_a_check(world_a, client_for):
    scenario = _draft(world_a)
    lead = client_for(world_a.member(Role.ENABLEMENT_LEAD))

    response = lead.post(f"/t/acme/scenarios/{scenario.id}/publish/", follow=True)

    assert "Version 1 is published" in response.content.decode()
    assert _status(scenario) == VersionStatus.PUBLISHED


def test_with_the_setting_on_an_unchecked_draft_is_refused_on_the_page_and_in_the_api(world_a, client_for):
    _block(world_a)
    scenario = _draft(world_a)
    lead = client_for(world_a.member(Role.ENABLEMENT_LEAD))

    page = lead.post(f"/t/acme/scenarios/{scenario.id}/publish/", follow=True).content.decode()
    assert "Your organization only publishes scenarios that pass the realism check" in page
    assert "Use “Check this scenario”" in page
    assert "v1 can't be published until it does" in page  # the panel says so before anyone tries

    api = lead.post(f"/api/v1/t/acme/scenarios/{scenario.id}/publish/", content_type="application/json")
    assert api.status_code == 409
    error = api.json()["error"]
    assert error["code"] == "realism_check_required" and "hasn't been checked yet" in error["message"]
    assert error["fields"] == {}
    assert _status(scenario) == VersionStatus.DRAFT


def test_with_the_setting_on_a_passing_check_lets_the_draft_publish(world_a, client_for, django_capture_on_commit_callbacks):
    _block(world_a)
    scenario = _draft(world_a)
    other = _draft(world_a, slug="api-published")
    lead = client_for(world_a.member(Role.ENABLEMENT_LEAD))
    _check(lead, scenario, django_capture_on_commit_callbacks)
    _check(lead, other, django_capture_on_commit_callbacks)

    page = lead.post(f"/t/acme/scenarios/{scenario.id}/publish/", follow=True).content.decode()
    api = lead.post(f"/api/v1/t/acme/scenarios/{other.id}/publish/", content_type="application/json")

    assert "Version 1 is published" in page and _status(scenario) == VersionStatus.PUBLISHED
    assert api.status_code == 200 and api.json()["status"] == "published"


def test_with_the_setting_on_a_failed_check_or_an_edit_after_the_check_is_refused(
    world_a, client_for, django_capture_on_commit_callbacks
):
    _block(world_a)
    unwinnable = _draft(world_a, end_conditions={"max_turns": 3, "resolve_frustration_at_most": 0})
    lead_member = world_a.member(Role.ENABLEMENT_LEAD)
    lead = client_for(lead_member)
    _check(lead, unwinnable, django_capture_on_commit_callbacks)

    refused = lead.post(f"/api/v1/t/acme/scenarios/{unwinnable.id}/publish/", content_type="application/json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "realism_check_required"
    assert "failed" in refused.json()["error"]["message"]

    # A pass is for the content it checked: editing the draft afterwards needs a new check.
    edited = _draft(world_a, slug="edited-after")
    _check(lead, edited, django_capture_on_commit_callbacks)
    services.scenario_edit(tenant=world_a.tenant, actor=lead_member.user, scenario=edited,
                           spec=spec_dict(slug="edited-after", title="Changed after the check"))
    page = lead.post(f"/t/acme/scenarios/{edited.id}/publish/", follow=True).content.decode()
    assert "hasn&#x27;t been checked yet" in page and _status(edited) == VersionStatus.DRAFT


def test_the_setting_is_a_tenant_admins_and_its_change_is_audited(world_a, world_b, client_for):
    admin = client_for(world_a.member(Role.TENANT_ADMIN))
    form = admin.get("/t/acme/settings/ai/").content.decode()
    assert "Block publishing when the realism check fails (or wasn&#x27;t run)" in form
    assert AISettings.objects.for_tenant(world_a.tenant).first() is None  # never saved: off

    saved = admin.post("/t/acme/settings/ai/", {
        "customer_engine": "embedded", "scorer_engine": "embedded", "block_publish_without_realism_check": "on",
    })

    assert saved.status_code == 302
    assert AISettings.objects.for_tenant(world_a.tenant).get().block_publish_without_realism_check is True
    event = AuditEvent.objects.for_tenant(world_a.tenant).get(action="settings.ai_changed")
    assert event.data["block_publish_without_realism_check"] == [False, True]
    # Only this tenant publishes under the rule.
    other = _draft(world_b, slug="elsewhere")
    services.scenario_publish(tenant=world_b.tenant, actor=world_b.member(Role.ENABLEMENT_LEAD).user, scenario=other)
    assert _status(other) == VersionStatus.PUBLISHED
    # A lead can't change it.
    assert client_for(world_a.member(Role.ENABLEMENT_LEAD)).get("/t/acme/settings/ai/").status_code == 403
