"""Programs end to end below the browser: building, assigning, readiness from real scores, the
"ready for live" decision, and tenant fences."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coachhub.core.errors import ApplicationError
from coachhub.tenancy.models import AuditEvent, Role
from programs import selectors, services
from programs.models import ProgramEnrollment
from scoring.models import BehaviorScore
from scoring.services import score_adjust
from sessions import events as session_events
from tests.programs.helpers import PASS_MARK, failing_session, passing_session, two_scenarios

pytestmark = pytest.mark.django_db


def _program(world, *, minimums=None, **fields):
    lead = world.member(Role.ENABLEMENT_LEAD)
    first, second = two_scenarios(world.tenant)
    program = services.program_create(tenant=world.tenant, actor=lead, title="New-hire onboarding", **fields)
    services.program_step_add(tenant=world.tenant, actor=lead, program=program, scenario=first.scenario,
                              pass_overall=PASS_MARK, behavior_minimums=minimums or {"empathy": 50})
    services.program_step_add(tenant=world.tenant, actor=lead, program=program, scenario=second.scenario,
                              pass_overall=PASS_MARK)
    services.program_assign(tenant=world.tenant, actor=lead, program=program, teams=[world.team])
    return program, first, second


def _readiness(world, program, rep):
    enrollment = ProgramEnrollment.objects.for_tenant(world.tenant).get(program=program, membership=rep)
    return enrollment, selectors.readiness_for(tenant=world.tenant, enrollments=[enrollment])[enrollment.id]


def test_a_rep_who_passes_one_scenario_and_fails_the_other_is_practising_with_the_evidence(world_a):
    program, first, second = _program(world_a)
    rep = world_a.member(Role.REP)
    passed, _ = passing_session(rep, first)
    failed, _ = failing_session(rep, second)

    _, state = _readiness(world_a, program, rep)
    assert state.state == "practising" and state.passed_steps == 1
    by_title = {step.marks.title: step for step in state.steps}
    assert by_title["Refund refusal"].passed_session_ids == [passed.id]
    assert by_title["Angry complaint"].passed_session_ids == []
    assert by_title["Angry complaint"].sessions[0].session_id == failed.id
    # The failed scenario's weak behaviors are named as what holds the rep back.
    assert {"empathy", "active_listening"} <= set(state.holding_back)


def test_the_manager_cannot_confirm_until_ready_then_confirms_and_withdraws_with_reasons_in_the_audit_log(world_a):
    program, first, second = _program(world_a)
    rep, manager = world_a.member(Role.REP), world_a.member(Role.MANAGER)
    passing_session(rep, first)
    failing_session(rep, second)
    enrollment, _ = _readiness(world_a, program, rep)
    with pytest.raises(ApplicationError) as refused:
        services.live_decide(tenant=world_a.tenant, actor=manager, enrollment=enrollment, decision="confirmed",
                             reason="Looks fine")
    assert refused.value.code == "not_ready" and "1 of 2 scenarios passed" in refused.value.message

    passing_session(rep, second)
    passing_session(rep, second)  # recent sessions now outweigh the early miss
    _, state = _readiness(world_a, program, rep)
    assert state.state == "ready"
    with pytest.raises(ApplicationError) as no_reason:
        services.live_decide(tenant=world_a.tenant, actor=manager, enrollment=enrollment, decision="confirmed", reason=" ")
    assert no_reason.value.fields["reason"]
    services.live_decide(tenant=world_a.tenant, actor=manager, enrollment=enrollment, decision="confirmed",
                         reason="Passed both and handled my role-play well")
    services.live_decide(tenant=world_a.tenant, actor=manager, enrollment=enrollment, decision="withdrawn",
                         reason="Escalated two live chats it should have kept")
    enrollment.refresh_from_db()
    assert enrollment.live_status == "withdrawn" and enrollment.live_decided_by == manager.user
    events = list(AuditEvent.objects.for_tenant(world_a.tenant).filter(action__startswith="program.live_")
                  .order_by("created_at", "id"))
    assert [e.action for e in events] == ["program.live_confirmed", "program.live_withdrawn"]
    assert events[0].data["reason"] == "Passed both and handled my role-play well"
    assert events[0].data["readiness"] == "ready" and len(events[0].data["passed_sessions"]) >= 2


def test_a_managers_adjustment_counts_for_readiness(world_a):
    program, first, second = _program(world_a, minimums={})
    rep, manager = world_a.member(Role.REP), world_a.member(Role.MANAGER)
    passing_session(rep, first)
    failed, score = failing_session(rep, second)
    for behavior in BehaviorScore.objects.for_tenant(world_a.tenant).filter(session_score=score):
        score_adjust(tenant=world_a.tenant, actor=manager.user, reviewer=manager, behavior_score=behavior,
                     score=80, reason="The transcript cut off the good part of the call")
    _, state = _readiness(world_a, program, rep)
    step = next(step for step in state.steps if step.marks.title == "Angry complaint")
    assert step.sessions[0].adjusted and step.sessions[0].overall == 80
    assert step.passed_session_ids == [failed.id] and state.state == "ready"


def test_sessions_past_the_attempt_limit_do_not_count_and_the_rep_is_stuck(world_a):
    program, first, second = _program(world_a, max_attempts=1)
    rep = world_a.member(Role.REP)
    failing_session(rep, first)
    passing_session(rep, first)  # a second attempt: over the limit
    _, state = _readiness(world_a, program, rep)
    step = next(step for step in state.steps if step.marks.title == "Refund refusal")
    assert step.attempts == 1 and step.attempts_left == 0 and step.stuck and not step.passed
    assert state.stuck


def test_building_a_program_explains_bad_input(world_a):
    lead = world_a.member(Role.ENABLEMENT_LEAD)
    first, _ = two_scenarios(world_a.tenant)
    program = services.program_create(tenant=world_a.tenant, actor=lead, title="Onboarding")
    with pytest.raises(ApplicationError) as duplicate:
        services.program_create(tenant=world_a.tenant, actor=lead, title="onboarding")
    assert duplicate.value.code == "program_title_taken"
    with pytest.raises(ApplicationError) as mark:
        services.program_step_add(tenant=world_a.tenant, actor=lead, program=program, scenario=first.scenario,
                                  pass_overall=150)
    assert "between 0 and 100" in mark.value.fields["pass_overall"]
    with pytest.raises(ApplicationError) as behavior:
        services.program_step_add(tenant=world_a.tenant, actor=lead, program=program, scenario=first.scenario,
                                  pass_overall=60, behavior_minimums={"clarity": 50, "empathy": 120})
    problem = behavior.value.fields["behavior_minimums"]
    assert "Clarity isn't scored in this scenario" in problem and "between 0 and 100" in problem
    with pytest.raises(ApplicationError) as empty:
        services.program_assign(tenant=world_a.tenant, actor=lead, program=program, teams=[world_a.team])
    assert empty.value.code == "program_empty"
    with pytest.raises(ApplicationError) as rep_builds:
        services.program_create(tenant=world_a.tenant, actor=world_a.member(Role.REP), title="Mine")
    assert rep_builds.value.status_code == 403


def test_a_manager_assigns_only_the_reps_they_coach_and_a_team_enrolls_its_reps(world_a):
    program, _, _ = _program(world_a)
    enrolled = set(ProgramEnrollment.objects.for_tenant(world_a.tenant).filter(program=program)
                   .values_list("membership_id", flat=True))
    assert enrolled == {world_a.member(Role.REP).id, world_a.rep2.id}
    with pytest.raises(ApplicationError) as refused:
        services.program_assign(tenant=world_a.tenant, actor=world_a.member(Role.MANAGER), program=program,
                                reps=[world_a.loner])
    assert refused.value.status_code == 403


def test_readiness_queries_stay_flat_as_reps_and_sessions_grow(world_a):
    program, first, second = _program(world_a)
    rep = world_a.member(Role.REP)
    enrollments = list(ProgramEnrollment.objects.for_tenant(world_a.tenant).filter(program=program).select_related("program"))
    passing_session(rep, first)
    with CaptureQueriesContext(connection) as few:
        selectors.readiness_for(tenant=world_a.tenant, enrollments=enrollments)
    failing_session(rep, second)
    passing_session(world_a.rep2, second)
    passing_session(world_a.rep2, first)
    with CaptureQueriesContext(connection) as more:
        selectors.readiness_for(tenant=world_a.tenant, enrollments=enrollments)
    assert len(more) == len(few) == 4  # steps, sessions, scores, their behaviors


def test_pages_show_readiness_to_the_coach_and_hide_it_from_other_tenants(world_a, world_b, client_for):
    program, first, second = _program(world_a)
    rep = world_a.member(Role.REP)
    passing_session(rep, first)
    failing_session(rep, second)
    manager = client_for(world_a.member(Role.MANAGER))
    detail = manager.get(reverse("program_detail", args=[world_a.tenant.slug, program.id]))
    assert detail.status_code == 200 and b"Practising" in detail.content and b"1 of 2" in detail.content
    page = manager.get(reverse("program_readiness", args=[world_a.tenant.slug, program.id, rep.id]))
    assert page.status_code == 200 and b"Holding back" in page.content and b"Below the mark" in page.content
    # The loner is in no team the manager coaches, and another tenant's manager sees nothing.
    services.program_assign(tenant=world_a.tenant, actor=world_a.member(Role.ENABLEMENT_LEAD), program=program,
                            reps=[world_a.loner])
    hidden = manager.get(reverse("program_readiness", args=[world_a.tenant.slug, program.id, world_a.loner.id]))
    assert hidden.status_code == 404
    outsider = client_for(world_b.member(Role.MANAGER))
    assert outsider.get(reverse("program_detail", args=[world_b.tenant.slug, program.id])).status_code == 404
    mine = client_for(rep).get(reverse("my_programs", args=[world_a.tenant.slug]))
    assert b"New-hire onboarding" in mine.content and "Practise “Angry complaint”".encode() in mine.content


def test_the_step_form_names_the_problem_on_the_page(world_a, client_for):
    lead = client_for(world_a.member(Role.ENABLEMENT_LEAD))
    first, _ = two_scenarios(world_a.tenant)
    created = lead.post(reverse("program_create", args=[world_a.tenant.slug]), {"title": "Certification"})
    assert created.status_code == 302
    program = selectors.program_list(membership=world_a.member(Role.ENABLEMENT_LEAD)).get(title="Certification")
    bad = lead.post(reverse("program_step_add", args=[world_a.tenant.slug, program.id]),
                    {"scenario": first.scenario.id, "pass_overall": 60, "min_clarity": 50})
    assert bad.status_code == 400 and b"Clarity isn&#x27;t scored in this scenario" in bad.content
    assert selectors.program_steps(program=program) == []


def test_a_failing_session_listener_never_breaks_the_caller_or_the_others(world_a):
    seen = []

    def broken(*, tenant, session_id):
        raise RuntimeError("LRS exploded")

    def recording(*, tenant, session_id):
        seen.append((tenant.id, session_id))

    services.register_session_listener("scored", broken)
    services.register_session_listener("scored", recording)
    try:
        services.on_session_scored(tenant=world_a.tenant, session=42)
    finally:
        session_events.unregister_session_listener("scored", broken)
        session_events.unregister_session_listener("scored", recording)
    assert seen == [(world_a.tenant.id, 42)]
    with pytest.raises(ValueError, match="Unknown session event"):
        services.register_session_listener("paused", recording)
