"""The realism check from the scenario page: a strong rep made of the scenario's own policies and
success criteria, run on the tenant's customer engine as a job, its report stored on the version."""

from __future__ import annotations

import re

import pytest

from coachhub.tenancy.models import AuditEvent, Role
from scenarios import services as scenario_services
from scenarios.library import library_get, library_specs
from scenarios.models import RealismStatus, Scenario, ScenarioVersion
from scenarios.spec import ScenarioSpec
from sessions.engines import signals as sig
from sessions.engines.embedded import EmbeddedCustomerEngine
from sessions.engines.realism import check_scenario, policy_lines, strong_rep
from sessions.tasks import check_scenario_realism
from tests.scenarios.factories import spec_dict
from tests.sessions.helpers import use_llm_customer

HX = {"HTTP_HX_REQUEST": "true"}


# --- the strong rep is built from the scenario ------------------------------------------------


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\$?\d+(?::\d+)?(?:am|pm)?", text))


@pytest.mark.parametrize("spec", library_specs(), ids=lambda spec: spec.slug)
def test_the_strong_rep_states_each_policy_and_addresses_each_criterion_without_a_word_the_customer_bristles_at(spec):
    lines = strong_rep(spec)
    said = " ".join(lines)

    for policy in spec.policies:
        # The limit itself (a time, an amount, a number of days) is said as the policy gives it.
        assert _numbers(policy) <= _numbers(said), (policy, lines)
        first_clause = re.split(r"[;,—]", policy)[0]
        assert any(
            sig.content_stems(first_clause) - {"don't", "never", "customer"} <= sig.content_stems(line) for line in lines
        ), (policy, lines)
    for criterion in spec.success_criteria:
        # A clause naming something the persona bristles at ("without blaming the technician
        # partner") is left unsaid; the rest of the criterion is addressed.
        clauses = re.split(r",|;| without | and ", criterion)
        wanted = sig.union_stems(c for c in clauses if not sig.matches_any(c.lower(), spec.persona.inflamed_by))
        best = max(len(wanted & sig.content_stems(line)) for line in lines)
        assert best >= len(wanted) * 0.6, (criterion, lines)
    for line in lines:
        reading = sig.analyze(line)
        assert not (reading.dismissive_phrase or reading.jargon_term or reading.hedge_phrase), line
        assert not reading.policy_without_reason, line
        assert not sig.matches_any(line.lower(), spec.persona.inflamed_by), line
        # Spoken to the customer: "you", never "the customer".
        assert "the customer" not in line.lower(), line


@pytest.mark.parametrize("spec", library_specs(), ids=lambda spec: spec.slug)
def test_the_customer_hears_every_policy_before_the_strong_rep_wins(spec):
    lines = strong_rep(spec)
    last_policy = policy_lines(spec)[-1]
    last_policy_turn = next(i for i, line in enumerate(lines) if last_policy in line) + 1

    strong = check_scenario(EmbeddedCustomerEngine(), spec).runs[0]

    assert strong.end_reason == "resolved"
    assert strong.turns >= last_policy_turn, "resolved before the policies were all said"


def test_a_different_policy_changes_what_the_strong_rep_says():
    data = library_get("wrong-suit-before-wedding").to_dict()
    data["policies"] = [
        "A store voucher of $35 may be offered once, because the delay was our mistake.",
        "Never tell the customer to calm down.",
        "Don't mention the carrier's five to seven days estimate; quote the overnight express time.",
    ]
    lines = strong_rep(ScenarioSpec.from_dict(data))
    said = " ".join(lines)

    assert "a store voucher of $35 may be offered once, because the delay was our mistake" in said
    # The persona bristles at "calm down" and "five to seven days": those policies are kept to what
    # can be said calmly, or left out, never said in words that would inflame.
    assert "calm down" not in said.lower() and "five to seven days" not in said.lower()
    assert "quote the overnight express time" in said


# --- the page ----------------------------------------------------------------------------------


def _draft(world, slug: str = "check-me", **overrides) -> Scenario:
    lead = world.member(Role.ENABLEMENT_LEAD)
    return scenario_services.scenario_create(tenant=world.tenant, actor=lead.user, spec=spec_dict(slug=slug, **overrides))


def _working(scenario: Scenario) -> ScenarioVersion:
    return ScenarioVersion.objects.for_tenant(scenario.tenant).filter(scenario=scenario).order_by("-number").first()


def test_a_lead_checks_a_draft_and_sees_the_report_in_plain_words(world_a, client_for, django_capture_on_commit_callbacks):
    scenario = _draft(world_a)
    lead = client_for(world_a.member(Role.ENABLEMENT_LEAD))
    page = lead.get(f"/t/acme/scenarios/{scenario.id}/").content.decode()
    assert "No realism check was run for v1 yet." in page and "Check this scenario" in page

    with django_capture_on_commit_callbacks(execute=True):
        started = lead.post(f"/t/acme/scenarios/{scenario.id}/check/", **HX)
    # The job left after the commit (run inline here, as with no broker); the panel it swapped in
    # polls this until the report is there.
    assert started.status_code == 200 and 'id="realism-check"' in started.content.decode()
    panel = lead.get(f"/t/acme/scenarios/{scenario.id}/check/status/", **HX).content.decode()

    assert "Passed" in panel and "Realism check of v1" in panel
    for label in ("Calms down when the rep handles it well", "Escalates when the rep is dismissive",
                  "Winnable within the turn limit", "Every hidden detail can be found", "Stays in character"):
        assert label in panel
    assert "3 of 3 revealed by relevant questions." in panel
    assert re.search(r"Replies took [\d.]+ m?s typically, [\d.]+ m?s at the slowest\.", panel)
    assert "hx-trigger" not in panel  # done: no more polling
    version = _working(scenario)
    assert version.realism_status == RealismStatus.PASSED and version.realism_engine == "embedded:embedded-v2"
    assert version.realism_report["passed"] is True and version.realism_checked_at is not None
    actions = list(AuditEvent.objects.for_tenant(world_a.tenant).filter(action__startswith="scenario.realism")
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["scenario.realism_check_started", "scenario.realism_checked"]

    # The scenario page (where the lead publishes from) shows the same report.
    page = lead.get(f"/t/acme/scenarios/{scenario.id}/").content.decode()
    assert "Winnable within the turn limit" in page and "Check this scenario again" in page
    assert "Realism check: passed." in page  # said in the publish confirmation too


def test_a_failing_check_names_what_failed(world_a, client_for, django_capture_on_commit_callbacks):
    scenario = _draft(world_a, end_conditions={"max_turns": 3, "resolve_frustration_at_most": 0})
    lead = client_for(world_a.member(Role.ENABLEMENT_LEAD))

    with django_capture_on_commit_callbacks(execute=True):
        response = lead.post(f"/t/acme/scenarios/{scenario.id}/check/")

    assert response.status_code == 302
    page = lead.get(response["Location"]).content.decode()
    assert "Realism check of v1 started" in page
    assert re.search(r"Failed</span> <strong>Winnable within the turn limit", page)
    assert "The strong rep did not get it resolved in 3 turns (limit 3)." in page
    assert _working(scenario).realism_status == RealismStatus.FAILED


def test_while_the_check_runs_the_panel_says_checking_and_polls(world_a, client_for):
    # Without the commit hooks the job never leaves: the version stays "running", as with a busy worker.
    scenario = _draft(world_a)
    lead = client_for(world_a.member(Role.ENABLEMENT_LEAD))
    lead.post(f"/t/acme/scenarios/{scenario.id}/check/", **HX)

    panel = lead.get(f"/t/acme/scenarios/{scenario.id}/check/status/", **HX).content.decode()
    assert "Checking…" in panel
    assert f'hx-get="/t/acme/scenarios/{scenario.id}/check/status/"' in panel and 'hx-trigger="every 2s"' in panel
    assert "Check this scenario" not in panel

    again = lead.post(f"/t/acme/scenarios/{scenario.id}/check/", **HX).content.decode()
    assert "A realism check of version 1 is already running" in again and 'role="alert"' in again


def test_editing_the_draft_drops_its_report_and_a_new_version_starts_without_one(
    world_a, client_for, django_capture_on_commit_callbacks
):
    scenario = _draft(world_a)
    lead_member = world_a.member(Role.ENABLEMENT_LEAD)
    lead = client_for(lead_member)
    with django_capture_on_commit_callbacks(execute=True):
        lead.post(f"/t/acme/scenarios/{scenario.id}/check/")
    assert _working(scenario).realism_status == RealismStatus.PASSED

    scenario_services.scenario_edit(
        tenant=world_a.tenant, actor=lead_member.user, scenario=scenario, spec=spec_dict(slug="check-me", title="Edited")
    )
    edited = _working(scenario)
    assert edited.number == 1 and edited.realism_status == "" and edited.realism_report is None
    assert "No realism check was run for v1 yet." in lead.get(f"/t/acme/scenarios/{scenario.id}/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        lead.post(f"/t/acme/scenarios/{scenario.id}/check/")
    scenario_services.scenario_publish(tenant=world_a.tenant, actor=lead_member.user, scenario=scenario)
    scenario_services.scenario_edit(
        tenant=world_a.tenant, actor=lead_member.user, scenario=scenario, spec=spec_dict(slug="check-me", title="v2")
    )
    assert _working(scenario).number == 2 and _working(scenario).realism_status == ""
    assert "No realism check was run for v2 yet." in lead.get(f"/t/acme/scenarios/{scenario.id}/").content.decode()


# --- who may run it -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.REP, Role.MANAGER])
def test_only_authors_may_check_a_scenario(world_a, client_for, role):
    scenario = _draft(world_a)
    client = client_for(world_a.member(role))

    assert client.post(f"/t/acme/scenarios/{scenario.id}/check/").status_code == 403
    assert client.get(f"/t/acme/scenarios/{scenario.id}/check/status/").status_code == 403
    assert _working(scenario).realism_status == ""


def test_another_tenant_can_neither_check_nor_see_a_scenario(world_a, world_b, client_for):
    scenario = _draft(world_a)
    outsider = client_for(world_b.member(Role.ENABLEMENT_LEAD))

    # Under their own tenant's URL the id is not found; under the other tenant's they are no member.
    assert outsider.post(f"/t/bolt/scenarios/{scenario.id}/check/").status_code == 404
    assert outsider.get(f"/t/bolt/scenarios/{scenario.id}/check/status/").status_code == 404
    assert outsider.post(f"/t/acme/scenarios/{scenario.id}/check/").status_code == 404
    assert outsider.get(f"/t/acme/scenarios/{scenario.id}/check/status/").status_code == 404
    assert _working(scenario).realism_status == ""


# --- the job ------------------------------------------------------------------------------------


def _started(world, scenario: Scenario) -> ScenarioVersion:
    return scenario_services.version_realism_start(
        tenant=world.tenant, actor=world.member(Role.ENABLEMENT_LEAD).user, version=_working(scenario),
        engine="embedded:embedded-v2",
    )


def test_the_job_twice_stores_one_report(world_a):
    scenario = _draft(world_a)
    version = _started(world_a, scenario)
    job = {"tenant_id": world_a.tenant.id, "version_id": version.id, "requested_at": version.realism_requested_at.isoformat()}

    check_scenario_realism(**job)
    first = _working(scenario)
    check_scenario_realism(**job)

    again = _working(scenario)
    assert again.realism_status == RealismStatus.PASSED and again.realism_checked_at == first.realism_checked_at
    assert AuditEvent.objects.for_tenant(world_a.tenant).filter(action="scenario.realism_checked").count() == 1


def test_the_job_for_a_deleted_version_or_one_edited_meanwhile_stores_nothing(world_a):
    lead = world_a.member(Role.ENABLEMENT_LEAD).user
    edited = _draft(world_a, slug="edited-meanwhile")
    version = _started(world_a, edited)
    scenario_services.version_update(
        tenant=world_a.tenant, actor=lead, version=version, spec=spec_dict(slug="edited-meanwhile", title="Changed")
    )
    check_scenario_realism(tenant_id=world_a.tenant.id, version_id=version.id,
                           requested_at=version.realism_requested_at.isoformat())
    assert _working(edited).realism_status == "" and _working(edited).realism_report is None

    gone = _draft(world_a, slug="deleted-meanwhile")
    version = _started(world_a, gone)
    Scenario.objects.for_tenant(world_a.tenant).filter(pk=gone.pk).delete()
    check_scenario_realism(tenant_id=world_a.tenant.id, version_id=version.id,
                           requested_at=version.realism_requested_at.isoformat())
    assert not ScenarioVersion.objects.for_tenant(world_a.tenant).filter(pk=version.pk).exists()


def test_the_check_runs_on_the_tenants_llm_customer(world_a, client_for, openai_server, django_capture_on_commit_callbacks):
    use_llm_customer(world_a, openai_server)
    scenario = _draft(world_a)
    lead = client_for(world_a.member(Role.ENABLEMENT_LEAD))

    with django_capture_on_commit_callbacks(execute=True):
        lead.post(f"/t/acme/scenarios/{scenario.id}/check/", **HX)
    panel = lead.get(f"/t/acme/scenarios/{scenario.id}/check/status/", **HX).content.decode()

    version = _working(scenario)
    assert version.realism_engine == "llm:coachhub-test-model"
    assert version.realism_status in (RealismStatus.PASSED, RealismStatus.FAILED)
    assert "customer engine <code>llm:coachhub-test-model</code>" in panel
    # Every simulated rep line reached the tenant's own endpoint.
    assert len(openai_server.chat_requests()) >= 3


def test_a_check_the_llm_cant_answer_says_so_in_one_line(world_a, client_for, django_capture_on_commit_callbacks):
    from coachhub.tenancy import services as tenancy_services

    tenancy_services.ai_settings_update(
        tenant=world_a.tenant, actor=world_a.member(Role.TENANT_ADMIN).user, customer_engine="llm",
        scorer_engine="embedded", llm_base_url="http://127.0.0.1:9/v1", llm_model="nobody-home",
    )
    scenario = _draft(world_a)
    lead = client_for(world_a.member(Role.ENABLEMENT_LEAD))

    with django_capture_on_commit_callbacks(execute=True):
        lead.post(f"/t/acme/scenarios/{scenario.id}/check/", **HX)
    panel = lead.get(f"/t/acme/scenarios/{scenario.id}/check/status/", **HX).content.decode()

    assert "Could not run" in panel and "The LLM customer" in panel and "Traceback" not in panel
    assert _working(scenario).realism_status == RealismStatus.ERROR


def test_a_check_stopped_by_its_time_limit_says_why_instead_of_checking_forever(world_a, client_for):
    from sessions.services.realism import scenario_realism_check_fail

    scenario = _draft(world_a)
    version = _started(world_a, scenario)
    scenario_realism_check_fail(
        tenant=world_a.tenant, version_id=version.id, requested_at=version.realism_requested_at.isoformat(),
        error="The check took longer than 600 seconds and was stopped.",
    )

    panel = client_for(world_a.member(Role.ENABLEMENT_LEAD)).get(
        f"/t/acme/scenarios/{scenario.id}/check/status/", **HX
    ).content.decode()
    assert "Could not run" in panel and "took longer than 600 seconds" in panel and "hx-trigger" not in panel
    assert "Check this scenario again" in panel
