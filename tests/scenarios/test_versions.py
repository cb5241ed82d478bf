"""Versions: drafts, publishing, locking once used, duplicates and diffs."""

from __future__ import annotations

import pytest

from coachhub.core.errors import Conflict
from scenarios import selectors, services
from scenarios.diff import flatten, spec_diff
from scenarios.models import ScenarioVersion, VersionStatus
from tests.scenarios.factories import spec_dict

pytestmark = pytest.mark.django_db


def _versions(world, scenario):
    return list(ScenarioVersion.objects.for_tenant(world.tenant).filter(scenario=scenario).order_by("number"))


def _published(world, slug="returns", **overrides):
    lead = world.member("enablement_lead").user
    scenario = services.scenario_create(tenant=world.tenant, actor=lead, spec=spec_dict(slug=slug, **overrides))
    services.scenario_publish(tenant=world.tenant, actor=lead, scenario=scenario)
    return scenario


def test_editing_a_published_scenario_makes_a_draft_and_keeps_the_published_version(world_a):
    scenario = _published(world_a, title="Old title")
    lead = world_a.member("enablement_lead").user

    draft = services.scenario_edit(
        tenant=world_a.tenant, actor=lead, scenario=scenario, spec=spec_dict(slug="returns", title="New title")
    )

    v1, v2 = _versions(world_a, scenario)
    assert (v1.status, v1.spec["title"]) == ("published", "Old title")
    assert (v2.id, v2.status, v2.number, v2.spec["title"]) == (draft.id, "draft", 2, "New title")
    # A second edit changes the same draft rather than piling up versions.
    services.scenario_edit(
        tenant=world_a.tenant, actor=lead, scenario=scenario, spec=spec_dict(slug="returns", title="Newer title")
    )
    assert [v.spec["title"] for v in _versions(world_a, scenario)] == ["Old title", "Newer title"]


def test_publishing_a_draft_archives_the_previous_published_version(world_a):
    scenario = _published(world_a)
    lead = world_a.member("enablement_lead").user
    services.scenario_edit(
        tenant=world_a.tenant, actor=lead, scenario=scenario, spec=spec_dict(slug="returns", difficulty="hard")
    )

    services.scenario_publish(tenant=world_a.tenant, actor=lead, scenario=scenario)

    v1, v2 = _versions(world_a, scenario)
    assert (v1.status, v2.status) == (VersionStatus.ARCHIVED, VersionStatus.PUBLISHED)
    with pytest.raises(Conflict) as caught:
        services.scenario_publish(tenant=world_a.tenant, actor=lead, scenario=scenario)
    assert caught.value.code == "nothing_to_publish"


def test_a_used_version_can_never_change(world_a):
    lead = world_a.member("enablement_lead").user
    scenario = services.scenario_create(tenant=world_a.tenant, actor=lead, spec=spec_dict(slug="returns"))
    [draft] = _versions(world_a, scenario)
    original = dict(draft.spec)
    services.version_mark_used(tenant=world_a.tenant, version=draft)

    with pytest.raises(Conflict) as caught:
        services.version_update(
            tenant=world_a.tenant, actor=lead, version=draft, spec=spec_dict(slug="returns", title="Changed")
        )
    assert caught.value.code == "version_locked"
    draft.refresh_from_db()
    assert draft.spec == original

    # Editing the scenario instead retires the used draft untouched and starts a new one.
    new = services.scenario_edit(
        tenant=world_a.tenant, actor=lead, scenario=scenario, spec=spec_dict(slug="returns", title="Changed")
    )
    draft.refresh_from_db()
    assert draft.spec == original and draft.status == VersionStatus.ARCHIVED
    assert (new.number, new.status, new.spec["title"]) == (2, VersionStatus.DRAFT, "Changed")


def test_mark_used_sets_the_time_once(world_a):
    scenario = _published(world_a)
    version = selectors.scenario_published_version(selectors.scenario_get(tenant=world_a.tenant, scenario_id=scenario.id))

    first = services.version_mark_used(tenant=world_a.tenant, version=version).used_at
    again = services.version_mark_used(tenant=world_a.tenant, version=version).used_at

    assert first is not None and again == first


def test_used_version_is_refused_by_the_api_and_the_page(world_a, client_for):
    lead = world_a.member("enablement_lead")
    scenario = services.scenario_create(tenant=world_a.tenant, actor=lead.user, spec=spec_dict(slug="returns"))
    [draft] = _versions(world_a, scenario)
    client = client_for(lead)
    edit_page = client.get(f"/t/acme/scenarios/{scenario.id}/edit/")
    assert f'name="version_id" value="{draft.id}"' in edit_page.content.decode()
    services.version_mark_used(tenant=world_a.tenant, version=draft)  # a session starts meanwhile

    response = client.put(
        f"/api/v1/t/acme/scenario-versions/{draft.id}/",
        {"spec": spec_dict(slug="returns", title="Changed")},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "version_locked"

    form = edit_page.context["form"].initial | {"title": "Changed", "version_id": draft.id}
    response = client.post(f"/t/acme/scenarios/{scenario.id}/edit/", form)
    assert response.status_code == 400
    assert "was used in a practice session" in response.content.decode()
    draft.refresh_from_db()
    assert draft.spec["title"] != "Changed"


def test_duplicate_makes_a_new_draft_scenario_with_a_copy_slug(world_a):
    scenario = _published(world_a)
    lead = world_a.member("enablement_lead").user

    first = services.scenario_duplicate(tenant=world_a.tenant, actor=lead, scenario=scenario)
    second = services.scenario_duplicate(tenant=world_a.tenant, actor=lead, scenario=scenario)

    assert (first.slug, second.slug) == ("returns-copy", "returns-copy-2")
    [version] = _versions(world_a, first)
    assert version.status == VersionStatus.DRAFT and version.spec["slug"] == "returns-copy"
    assert first.title.endswith("(copy)")


def test_diff_flattens_specs_into_field_paths():
    before = spec_dict(slug="a")
    after = spec_dict(slug="a", title="Another title")
    after["persona"]["facts"] = [*before["persona"]["facts"][:1], "A brand-new fact."]

    changes = {c.path: c for c in spec_diff(before, after)}

    assert changes["title"].kind == "changed" and changes["title"].after == "Another title"
    assert changes["persona.facts.1"].after == "A brand-new fact."
    removed = [c for c in changes.values() if c.kind == "removed"]
    assert removed and all(c.path.startswith("persona.facts.") for c in removed)
    assert flatten({"a": [], "b": {"c": [1]}}) == {"a": [], "b.c.0": 1}


def test_diff_page_shows_changes_escaped(world_a, client_for):
    scenario = _published(world_a)
    lead = world_a.member("enablement_lead")
    services.scenario_edit(
        tenant=world_a.tenant, actor=lead.user, scenario=scenario,
        spec=spec_dict(slug="returns", summary="Use the warranty & say \"no\" kindly when it's < 5 days late."),
    )

    response = client_for(lead).get(f"/t/acme/scenarios/{scenario.id}/diff/")

    body = response.content.decode()
    assert response.status_code == 200
    assert '<th scope="row">Summary for the rep</th>' in body  # the form's label, not the raw key
    assert "warranty &amp; say &quot;no&quot; kindly when it&#x27;s &lt; 5 days late." in body
