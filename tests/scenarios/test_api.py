"""The scenarios API: create with a full spec, drafts on update, actions, diff, stable error codes."""

from __future__ import annotations

import pytest

from scenarios.models import Scenario
from tests.scenarios.factories import spec_dict

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(world_a, client_for):
    return client_for(world_a.member("enablement_lead"))


def _json(client, method, path, data=None):
    return getattr(client, method)(path, data, content_type="application/json")


def test_create_update_publish_and_diff(api, world_a):
    created = _json(api, "post", "/api/v1/t/acme/scenarios/", {"spec": spec_dict(slug="returns")})
    assert created.status_code == 201
    scenario_id, v1 = created.json()["scenario"]["id"], created.json()["version"]["id"]
    assert _json(api, "post", f"/api/v1/t/acme/scenarios/{scenario_id}/publish/").json()["status"] == "published"

    updated = _json(api, "put", f"/api/v1/t/acme/scenarios/{scenario_id}/", {"spec": spec_dict(slug="returns", title="Renamed")})
    body = updated.json()
    assert updated.status_code == 200 and body["version"]["number"] == 2 and body["version"]["status"] == "draft"
    assert body["scenario"]["published_version_id"] == v1 and body["scenario"]["draft_version_id"] == body["version"]["id"]

    diff = api.get(f"/api/v1/t/acme/scenario-versions/{body['version']['id']}/diff/?against={v1}").json()
    assert diff["changes"] == [{"path": "title", "change": "changed", "before": spec_dict()["title"], "after": "Renamed"}]

    detail = api.get(f"/api/v1/t/acme/scenarios/{scenario_id}/").json()
    assert [v["status"] for v in detail["versions"]] == ["draft", "published"]
    # Editing a published version in place is refused.
    refused = _json(api, "put", f"/api/v1/t/acme/scenario-versions/{v1}/", {"spec": spec_dict(slug="returns")})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "version_not_draft"


def test_invalid_spec_names_every_field_and_saves_nothing(api, world_a):
    spec = spec_dict(slug="returns", moment="shouting")
    spec["persona"]["name"] = "<i>Priya</i>"
    spec["rubric"]["behaviors"][0]["weight"] = 99
    del spec["policies"]

    response = _json(api, "post", "/api/v1/t/acme/scenarios/", {"spec": spec})

    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == "invalid_spec"
    assert {"moment", "persona.name", "policies", "rubric.behaviors"} <= set(error["fields"])
    assert not Scenario.objects.for_tenant(world_a.tenant).exists()


def test_duplicate_archive_and_missing_ids(api, world_a, world_b, client_for):
    scenario_id = _json(api, "post", "/api/v1/t/acme/scenarios/", {"spec": spec_dict(slug="returns")}).json()["scenario"]["id"]

    copy = _json(api, "post", f"/api/v1/t/acme/scenarios/{scenario_id}/duplicate/")
    assert copy.status_code == 201 and copy.json()["slug"] == "returns-copy"
    archived = _json(api, "post", f"/api/v1/t/acme/scenarios/{scenario_id}/archive/")
    assert archived.json()["archived_at"]
    assert [s["slug"] for s in api.get("/api/v1/t/acme/scenarios/?status=archived").json()["results"]] == ["returns"]

    other = client_for(world_b.member("enablement_lead"))
    response = other.get(f"/api/v1/t/bolt/scenarios/{scenario_id}/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "scenario_not_found"
    response = other.get("/api/v1/t/bolt/scenario-versions/999999/")
    assert response.json()["error"]["code"] == "version_not_found"


def test_managers_cannot_use_the_authoring_api(world_a, client_for):
    client = client_for(world_a.member("manager"))
    assert client.get("/api/v1/t/acme/scenarios/").status_code == 403
    assert _json(client, "post", "/api/v1/t/acme/scenarios/", {"spec": spec_dict()}).status_code == 403

