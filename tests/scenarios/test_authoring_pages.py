"""Authoring pages: the form maps spec rules onto fields, lists filter, markup never executes."""

from __future__ import annotations

import pytest

from scenarios import services
from scenarios.forms import ScenarioForm
from scenarios.models import Scenario, ScenarioVersion
from tests.scenarios.factories import ScenarioVersionFactory, spec_dict

pytestmark = pytest.mark.django_db


def _form_data(**overrides) -> dict:
    data = {k: v for k, v in ScenarioForm.initial_from_spec(spec_dict(slug="late-refund")).items()}
    data.update(overrides)
    return data


def test_lead_creates_a_scenario_through_the_form(world_a, client_for):
    client = client_for(world_a.member("enablement_lead"))

    response = client.post("/t/acme/scenarios/new/", _form_data(title="Late refund", slug=""))

    scenario = Scenario.objects.for_tenant(world_a.tenant).get()
    assert response.status_code == 302 and response["Location"] == f"/t/acme/scenarios/{scenario.id}/"
    assert scenario.slug == "late-refund"  # made from the title
    version = ScenarioVersion.objects.for_tenant(world_a.tenant).get(scenario=scenario)
    assert version.status == "draft" and version.spec == spec_dict(slug="late-refund", title="Late refund")


def test_form_round_trips_every_spec_field():
    spec = spec_dict(slug="late-refund")
    form = ScenarioForm(_form_data())

    assert form.is_valid(), form.errors
    assert form.spec.to_dict() == spec


@pytest.mark.parametrize(
    "overrides, field, words",
    [
        ({"title": ""}, "title", "This field is required."),
        ({"opening_line": "   "}, "opening_line", "This field is required."),
        ({"moment": ""}, "moment", "This field is required."),
        ({"policies": "Be kind.\n<b>Bold</b> rule"}, "policies", "Line 2 must be plain text"),
        ({"rubric": "empathy: 50\nclarity: 40"}, "rubric", "Weights must add up to 100 (they add up to 90)."),
        ({"rubric": "empathy: 50\nhaggling: 50"}, "rubric", "Line 2 (the behavior name): 'haggling' is not a default"),
        ({"rubric": "empathy: lots\nclarity: 100"}, "rubric", "Line 1 (the weight) must be a whole number."),
        ({"persona_hidden_details": "A secret with no keywords"}, "persona_hidden_details",
         "Line 1 (the keywords after “|”) is required."),
        ({"persona_base_frustration": "101"}, "persona_base_frustration", "must be between 0 and 100"),
        ({"summary": "x" * 2001}, "summary", "at most 2000 characters"),
        ({"end_max_turns": "1"}, "end_max_turns", "must be between 2 and 100"),
    ],
)
def test_bad_input_is_explained_on_its_field_and_nothing_is_saved(world_a, client_for, overrides, field, words):
    client = client_for(world_a.member("enablement_lead"))

    response = client.post("/t/acme/scenarios/new/", _form_data(**overrides))

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert any(words in message for message in errors[field]), errors
    assert "Nothing was saved" in response.content.decode()
    assert not Scenario.objects.for_tenant(world_a.tenant).exists()


def test_preview_shows_the_brief_without_hidden_details(world_a, client_for):
    client = client_for(world_a.member("enablement_lead"))
    data = _form_data()

    response = client.post("/t/acme/scenarios/preview/", data, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    spec = spec_dict()
    assert spec["persona"]["name"] in body and spec["policies"][0] in body
    assert "<ol><li>" in body  # policies are numbered
    assert all(h["detail"] not in body for h in spec["persona"]["hidden_details"])
    assert all(fact not in body for fact in spec["persona"]["facts"])


def test_markup_typed_into_a_persona_is_refused_and_stored_markup_shows_as_text(world_a, client_for):
    client = client_for(world_a.member("enablement_lead"))
    response = client.post("/t/acme/scenarios/new/", _form_data(persona_name="<script>alert(1)</script>"))
    assert response.status_code == 400
    assert "must be plain text" in response.content.decode()
    assert "<script>alert(1)</script>" not in response.content.decode()

    # Even content that got in some other way (an old row, a direct DB edit) is only ever text.
    spec = spec_dict(slug="legacy")
    spec["persona"]["name"] = '<img src=x onerror="alert(1)">'
    spec["persona"]["situation"] = "<script>alert(2)</script>"
    version = ScenarioVersionFactory(scenario__tenant=world_a.tenant, scenario__slug="legacy", spec=spec)
    for path in (f"/t/acme/scenarios/{version.scenario_id}/", f"/t/acme/scenarios/{version.scenario_id}/brief/"):
        body = client.get(path).content.decode()
        assert "<script>alert(2)" not in body and "<img src=x" not in body
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in body


def test_list_filters_by_moment_status_and_team(world_a, client_for):
    lead = world_a.member("enablement_lead")
    refund = services.scenario_create(tenant=world_a.tenant, actor=lead.user, spec=spec_dict(slug="refund"))
    services.scenario_publish(tenant=world_a.tenant, actor=lead.user, scenario=refund)
    services.scenario_create(
        tenant=world_a.tenant, actor=lead.user, spec=spec_dict(slug="outage", title="Outage", moment="technical_outage")
    )
    services.assignment_create(tenant=world_a.tenant, assigned_by=lead, scenario=refund, teams=[world_a.team])
    client = client_for(lead)

    def slugs(query: str) -> list[str]:
        response = client.get(f"/t/acme/scenarios/?{query}")
        return [row["scenario"].slug for row in response.context["rows"]]

    assert sorted(slugs("")) == ["outage", "refund"]
    assert slugs("moment=technical_outage") == ["outage"]
    assert slugs("status=published") == ["refund"]
    assert slugs("status=draft") == ["outage"]
    assert slugs(f"team={world_a.team.id}") == ["refund"]


def test_scenario_list_query_count_does_not_grow_with_rows(world_a, client_for, django_assert_max_num_queries):
    lead = world_a.member("enablement_lead")
    for n in range(8):
        services.scenario_create(tenant=world_a.tenant, actor=lead.user, spec=spec_dict(slug=f"s-{n}"))
    client = client_for(lead)
    with django_assert_max_num_queries(12):
        assert client.get("/t/acme/scenarios/").status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/t/acme/scenarios/").status_code == 200


def test_managers_and_reps_cannot_author(world_a, client_for):
    for role in ("manager", "rep"):
        client = client_for(world_a.member(role))
        assert client.get("/t/acme/scenarios/").status_code == 403
        assert client.post("/t/acme/scenarios/new/", _form_data()).status_code == 403
    assert not Scenario.objects.for_tenant(world_a.tenant).exists()


def test_library_installs_in_one_click_and_only_once(world_a, client_for):
    client = client_for(world_a.member("tenant_admin"))
    page = client.get("/t/acme/scenarios/library/").content.decode()
    assert page.count(">Install</button>") == 6

    first = client.post("/t/acme/scenarios/library/meal-kit-cancellation/install/", follow=True)
    again = client.post("/t/acme/scenarios/library/meal-kit-cancellation/install/", follow=True)

    scenario = Scenario.objects.for_tenant(world_a.tenant).get()
    assert scenario.source_library_slug == "meal-kit-cancellation"
    version = ScenarioVersion.objects.for_tenant(world_a.tenant).get(scenario=scenario)
    assert (version.number, version.status) == (1, "published")
    assert "is installed and published" in first.content.decode()
    assert "is already installed" in again.content.decode()
    page = client.get("/t/acme/scenarios/library/").content.decode()
    assert page.count(">Install</button>") == 5 and f"/t/acme/scenarios/{scenario.id}/" in page
    assert client.post("/t/acme/scenarios/library/no-such-thing/install/").status_code == 404
