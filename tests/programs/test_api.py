"""The programs API: programs and readiness with evidence, scoped like the pages."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coachhub.tenancy.models import Role
from programs import services
from tests.programs.helpers import PASS_MARK, failing_session, passing_session, two_scenarios

pytestmark = pytest.mark.django_db


def _program(world):
    lead = world.member(Role.ENABLEMENT_LEAD)
    first, second = two_scenarios(world.tenant)
    program = services.program_create(tenant=world.tenant, actor=lead, title="Onboarding")
    services.program_step_add(tenant=world.tenant, actor=lead, program=program, scenario=first.scenario,
                              pass_overall=PASS_MARK, behavior_minimums={"empathy": 50})
    services.program_step_add(tenant=world.tenant, actor=lead, program=program, scenario=second.scenario,
                              pass_overall=PASS_MARK)
    services.program_assign(tenant=world.tenant, actor=lead, program=program, teams=[world.team],
                            reps=[world.loner])
    return program, first, second


def test_the_manager_reads_readiness_with_evidence_for_the_reps_they_coach(world_a, client_for):
    program, first, second = _program(world_a)
    rep = world_a.member(Role.REP)
    passed, _ = passing_session(rep, first)
    failing_session(rep, second)
    api = client_for(world_a.member(Role.MANAGER))
    detail = api.get(f"/api/v1/t/acme/programs/{program.id}/").json()
    assert [(s["scenario_title"], s["pass_overall"]) for s in detail["steps"]] == [
        ("Refund refusal", PASS_MARK), ("Angry complaint", PASS_MARK)]
    body = api.get(f"/api/v1/t/acme/programs/{program.id}/readiness/").json()
    rows = {row["email"]: row for row in body["results"]}
    assert set(rows) == {rep.user.email, world_a.rep2.user.email}  # not the loner: not in their team
    mine = rows[rep.user.email]
    assert mine["state"] == "practising" and mine["passed_steps"] == 1 and "empathy" in mine["holding_back"]
    refund = mine["steps"][0]
    assert refund["state"] == "ready" and refund["sessions"][0] == {
        **refund["sessions"][0], "session_id": passed.id, "passed": True}


def test_the_rep_reads_only_their_own_readiness_and_other_tenants_get_404(world_a, world_b, client_for):
    program, first, _ = _program(world_a)
    passing_session(world_a.member(Role.REP), first)
    own = client_for(world_a.member(Role.REP)).get("/api/v1/t/acme/my-readiness/").json()
    assert [(row["program_title"], row["passed_steps"]) for row in own["results"]] == [("Onboarding", 1)]
    refused = client_for(world_a.member(Role.REP)).get(f"/api/v1/t/acme/programs/{program.id}/")
    assert refused.status_code == 403
    outsider = client_for(world_b.member(Role.MANAGER)).get(f"/api/v1/t/bolt/programs/{program.id}/")
    assert outsider.status_code == 404 and outsider.json()["error"]["code"] == "program_not_found"


def test_the_readiness_list_query_count_does_not_grow_with_reps_or_sessions(world_a, client_for):
    program, first, second = _program(world_a)
    api = client_for(world_a.member(Role.ENABLEMENT_LEAD))
    url = f"/api/v1/t/acme/programs/{program.id}/readiness/"
    passing_session(world_a.member(Role.REP), first)
    api.get(url)
    with CaptureQueriesContext(connection) as few:
        assert api.get(url).status_code == 200
    failing_session(world_a.member(Role.REP), second)
    passing_session(world_a.rep2, first)
    passing_session(world_a.loner, second)
    with CaptureQueriesContext(connection) as more:
        assert len(api.get(url).json()["results"]) == 3
    assert len(more) == len(few)


def test_the_schema_describes_the_programs_api_without_warnings(tmp_path, capsys):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out), "--validate")
    captured = capsys.readouterr()
    schema = out.read_text()
    for path in ("/programs/", "/programs/{id}/readiness/", "/my-readiness/"):
        assert path in schema
    noisy = [line for line in (captured.err + captured.out).splitlines() if "program" in line.lower()]
    assert not noisy, noisy
