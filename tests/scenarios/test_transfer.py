"""YAML in and out through the page, the API and `manage.py scenarios`: exact round trips, and a
bad file changes nothing anywhere."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from scenarios import services
from scenarios.models import Scenario, ScenarioVersion
from scenarios.spec import load_yaml
from tests.scenarios.factories import spec_dict

pytestmark = pytest.mark.django_db

BAD_YAML = """\
scenarios:
  - slug: fine-one
    title: Fine
  - slug: Not A Slug
    title: <b>Loud</b>
    moment: shouting
    rubric:
      behaviors:
        - {key: empathy, weight: 30}
        - {key: haggling, weight: 30}
"""


def _snapshot(world) -> list:
    versions = ScenarioVersion.objects.for_tenant(world.tenant).order_by("id")
    return [(v.id, v.number, v.status, v.spec) for v in versions]


def _install_two(world):
    lead = world.member("enablement_lead").user
    services.library_install(tenant=world.tenant, actor=lead, slug="meal-kit-cancellation")
    scenario = services.scenario_create(tenant=world.tenant, actor=lead, spec=spec_dict(slug="custom-refund"))
    return scenario


def test_export_then_import_into_another_tenant_round_trips_byte_for_byte(world_a, world_b, tmp_path):
    _install_two(world_a)
    file = tmp_path / "acme.yaml"
    call_command("scenarios", "export", "--tenant", "acme", "-o", str(file), stderr=io.StringIO())

    summary = io.StringIO()
    call_command("scenarios", "import", "--tenant", "bolt", str(file), stdout=summary)
    again = io.StringIO()
    call_command("scenarios", "export", "--tenant", "bolt", stdout=again)

    first = file.read_text(encoding="utf-8")
    assert "2 created" in summary.getvalue()
    assert again.getvalue() == first
    assert [s.slug for s in load_yaml(first)] == ["custom-refund", "meal-kit-cancellation"]


def test_reimporting_changed_yaml_makes_a_new_draft_and_publish_flag_publishes(world_a, tmp_path):
    scenario = _install_two(world_a)
    exported = services.scenarios_export_yaml(tenant=world_a.tenant, slugs=["meal-kit-cancellation"])
    changed = exported.replace("difficulty: easy", "difficulty: hard")
    file = tmp_path / "in.yaml"
    file.write_text(changed, encoding="utf-8")
    out = io.StringIO()

    call_command("scenarios", "import", "--tenant", "acme", str(file), "--publish", stdout=out)

    assert "1 updated as drafts" in out.getvalue() and "1 published" in out.getvalue()
    mealkit = Scenario.objects.for_tenant(world_a.tenant).get(slug="meal-kit-cancellation")
    statuses = dict(ScenarioVersion.objects.for_tenant(world_a.tenant).filter(scenario=mealkit).values_list("number", "status"))
    assert statuses == {1: "archived", 2: "published"}
    assert scenario.slug == "custom-refund"


def test_bad_file_through_the_command_names_fields_and_saves_nothing(world_a, tmp_path):
    _install_two(world_a)
    before = _snapshot(world_a)
    file = tmp_path / "bad.yaml"
    file.write_text(BAD_YAML, encoding="utf-8")

    with pytest.raises(CommandError) as caught:
        call_command("scenarios", "import", "--tenant", "acme", str(file))

    message = str(caught.value)
    for path in ("scenarios.0.moment", "scenarios.1.slug", "scenarios.1.title", "scenarios.1.moment",
                 "scenarios.1.rubric.behaviors.1.key"):
        assert path in message
    assert _snapshot(world_a) == before


def test_bad_file_through_the_page_lists_problems_and_saves_nothing(world_a, client_for):
    _install_two(world_a)
    before = _snapshot(world_a)
    client = client_for(world_a.member("enablement_lead"))

    response = client.post(
        "/t/acme/scenarios/import/", {"file": SimpleUploadedFile("bad.yaml", BAD_YAML.encode(), "application/yaml")}
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was imported" in body and "scenarios.1.title" in body and "&lt;b&gt;" not in body
    assert "must be plain text" in body
    assert _snapshot(world_a) == before


def test_page_import_of_pasted_yaml_creates_scenarios(world_a, world_b, client_for):
    _install_two(world_b)
    text = services.scenarios_export_yaml(tenant=world_b.tenant)
    client = client_for(world_a.member("tenant_admin"))

    response = client.post("/t/acme/scenarios/import/", {"text": text, "publish": "on"}, follow=True)

    assert "2 created" in response.content.decode()
    assert Scenario.objects.for_tenant(world_a.tenant).count() == 2
    assert client.get("/t/acme/scenarios/export/").content.decode() == text


def test_bad_file_through_the_api_is_400_with_fields_and_saves_nothing(world_a, client_for):
    _install_two(world_a)
    before = _snapshot(world_a)
    client = client_for(world_a.member("enablement_lead"))

    response = client.post("/api/v1/t/acme/scenarios/import/", {"yaml": BAD_YAML}, content_type="application/json")

    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == "invalid_spec"
    assert error["fields"]["scenarios.1.moment"].startswith("must be one of")
    assert _snapshot(world_a) == before

    upload = SimpleUploadedFile("bad.yaml", BAD_YAML.encode(), "application/yaml")
    response = client.post("/api/v1/t/acme/scenarios/import/", {"file": upload})
    assert response.status_code == 400 and _snapshot(world_a) == before


def test_api_export_and_multipart_import(world_a, world_b, client_for):
    _install_two(world_a)
    text = client_for(world_a.member("enablement_lead")).get("/api/v1/t/acme/scenarios/export/?slug=custom-refund")
    assert text["Content-Type"].startswith("application/yaml")

    upload = SimpleUploadedFile("one.yaml", text.content, "application/yaml")
    response = client_for(world_b.member("enablement_lead")).post("/api/v1/t/bolt/scenarios/import/", {"file": upload})

    assert response.status_code == 200 and response.json()["created"] == ["custom-refund"]


def test_another_tenants_scenario_cannot_be_exported(world_a, world_b, client_for):
    scenario = _install_two(world_b)
    client = client_for(world_a.member("enablement_lead"))

    assert client.get(f"/t/acme/scenarios/{scenario.id}/export/").status_code == 404
    response = client.get("/api/v1/t/acme/scenarios/export/?slug=custom-refund")
    assert response.status_code == 404 and response.json()["error"]["code"] == "scenario_not_found"
    with pytest.raises(CommandError):
        call_command("scenarios", "export", "--tenant", "acme", "--slug", "custom-refund", stdout=io.StringIO())
