"""xAPI statements through the outbox to a loopback LRS: valid under 1.0.3, in order, once each,
nothing lost while the LRS is down, and one tenant's records never reach another's LRS."""

from __future__ import annotations

import json

import pytest
from django.test import TestCase, override_settings
from django.urls import reverse
from tincan import Statement

from coachhub.tenancy.models import Role
from programs import services, statements, tasks, xapi
from programs.models import LRSSettings, StatementOutbox
from scoring.models import BehaviorScore
from scoring.services import score_adjust
from tests.programs.helpers import PASS_MARK, failing_session, passing_session, two_scenarios
from tests.support.lrs_server import LoopbackLRS

pytestmark = pytest.mark.django_db


@pytest.fixture
def lrs():
    server = LoopbackLRS().start()
    yield server
    server.stop()


def _connect(world, server: LoopbackLRS) -> None:
    statements.lrs_settings_update(tenant=world.tenant, actor=world.member(Role.TENANT_ADMIN),
                                   endpoint=server.endpoint, username=server.key, secret=server.secret)


def _practise(world, session, *, events=("started", "ended", "scored")) -> None:
    """What the runner and the scoring job do after their commits (the test's transaction never
    commits, so the delivery each records is run as its commit would run it)."""
    hooks = {"started": services.on_session_started, "ended": services.on_session_ended,
             "scored": services.on_session_scored}
    for event in events:
        with TestCase.captureOnCommitCallbacks(execute=True):
            hooks[event](tenant=world.tenant, session=session)


def _enrolled_program(world):
    lead = world.member(Role.ENABLEMENT_LEAD)
    first, second = two_scenarios(world.tenant)
    program = services.program_create(tenant=world.tenant, actor=lead, title="Onboarding")
    services.program_step_add(tenant=world.tenant, actor=lead, program=program, scenario=first.scenario,
                              pass_overall=PASS_MARK)
    services.program_step_add(tenant=world.tenant, actor=lead, program=program, scenario=second.scenario,
                              pass_overall=PASS_MARK)
    services.program_assign(tenant=world.tenant, actor=lead, program=program, teams=[world.team])
    return program, first, second


def test_an_lrs_outage_loses_nothing_and_statements_arrive_in_order_once_each(world_a, lrs):
    _connect(world_a, lrs)
    _, first, _ = _enrolled_program(world_a)
    lrs.failing_with = 503
    session, _ = passing_session(world_a.member(Role.REP), first)
    _practise(world_a, session)
    assert lrs.stored == [] and lrs.requests >= 3  # each event tried to deliver, and was told to wait
    waiting = list(StatementOutbox.objects.for_tenant(world_a.tenant).order_by("id"))
    assert [row.verb for row in waiting] == ["initialized", "completed", "scored", "passed"]
    assert all(row.status == "pending" and "503" in row.last_error for row in waiting[:1])

    lrs.failing_with = None
    assert tasks.sweep_statements() == 1
    assert lrs.verbs() == ["initialized", "completed", "scored", "passed"]
    assert lrs.ids() == [str(row.statement_id) for row in waiting]
    # The sweeper again, the same events again: nothing new reaches the LRS.
    tasks.sweep_statements()
    _practise(world_a, session)
    tasks.deliver_statements(tenant_id=world_a.tenant.id)
    assert len(lrs.stored) == 4
    scored = lrs.stored[2]
    assert scored["result"]["score"] == {"scaled": pytest.approx(scored["result"]["score"]["raw"] / 100),
                                         "raw": scored["result"]["score"]["raw"], "min": 0, "max": 100}
    assert scored["object"]["id"].endswith(f"/scenarios/{first.scenario_id}/versions/{first.number}")
    assert scored["context"]["contextActivities"]["grouping"][0]["definition"]["name"] == {"en-US": "Onboarding"}
    assert lrs.stored[1]["result"]["duration"].startswith("PT")


def test_a_delivery_that_died_after_sending_is_harmless_when_it_runs_again(world_a, lrs):
    _connect(world_a, lrs)
    session, _ = passing_session(world_a.member(Role.REP), two_scenarios(world_a.tenant)[0])
    _practise(world_a, session)
    assert len(lrs.stored) == 3  # no program here: no passed/failed, just initialized, completed, scored
    # As if the worker died before it could mark the rows sent: they go out again.
    StatementOutbox.objects.for_tenant(world_a.tenant).update(status="pending", sent_at=None)
    outcome = statements.statements_deliver(tenant=world_a.tenant)
    assert outcome.sent == 3 and len(lrs.stored) == 3


def test_a_reviewers_change_sends_a_new_scored_statement_and_the_failed_verdict(world_a, lrs):
    _connect(world_a, lrs)
    _, _, second = _enrolled_program(world_a)
    manager = world_a.member(Role.MANAGER)
    session, score = failing_session(world_a.member(Role.REP), second)
    _practise(world_a, session, events=("scored",))
    assert lrs.verbs() == ["scored", "failed"] and lrs.stored[1]["result"]["success"] is False
    behavior = BehaviorScore.objects.for_tenant(world_a.tenant).filter(session_score=score, behavior="empathy").get()
    score_adjust(tenant=world_a.tenant, actor=manager.user, reviewer=manager, behavior_score=behavior, score=70,
                 reason="Acknowledged the wedding date")
    _practise(world_a, session, events=("scored",))
    assert lrs.verbs() == ["scored", "failed", "scored", "failed"]
    adjusted = lrs.stored[2]["result"]
    assert adjusted["extensions"][xapi.extension("adjusted-by-reviewer")] is True
    assert adjusted["extensions"][xapi.extension("behavior-scores")]["empathy"] == 70


def test_a_refused_statement_is_set_aside_and_the_rest_still_arrive(world_a, lrs):
    _connect(world_a, lrs)
    session, _ = passing_session(world_a.member(Role.REP), two_scenarios(world_a.tenant)[0])
    lrs.failing_with = 503
    _practise(world_a, session)
    first = StatementOutbox.objects.for_tenant(world_a.tenant).order_by("id").first()
    lrs.refuse_ids.add(str(first.statement_id))
    lrs.failing_with = None
    outcome = statements.statements_deliver(tenant=world_a.tenant)
    assert (outcome.sent, outcome.rejected, outcome.pending) == (2, 1, 0)
    first.refresh_from_db()
    assert first.status == "rejected" and "400" in first.last_error
    assert lrs.verbs() == ["completed", "scored"]


def test_statements_go_to_their_own_tenants_lrs_only(world_a, world_b, lrs):
    other = LoopbackLRS(key="b-key", secret="b-secret").start()
    try:
        _connect(world_a, lrs)
        _connect(world_b, other)
        session_a, _ = passing_session(world_a.member(Role.REP), two_scenarios(world_a.tenant)[0])
        _practise(world_a, session_a)
        assert len(lrs.stored) == 3 and other.stored == []
        accounts = {s["actor"]["account"]["name"] for s in lrs.stored}
        assert accounts == {f"acme:{world_a.member(Role.REP).id}"}
        # A tenant's hook can't record another tenant's session: the id isn't found inside it.
        _practise(world_b, session_a)
        assert other.stored == [] and not StatementOutbox.objects.for_tenant(world_b.tenant).exists()
    finally:
        other.stop()


def test_without_an_lrs_nothing_is_queued_and_a_vanished_tenant_is_a_no_op(world_a):
    session, _ = passing_session(world_a.member(Role.REP), two_scenarios(world_a.tenant)[0])
    _practise(world_a, session)
    assert not StatementOutbox.objects.for_tenant(world_a.tenant).exists()
    tasks.deliver_statements(tenant_id=987654)  # logs and returns


def test_every_statement_meets_the_xapi_rules_and_parses_as_tin_can(world_a, lrs):
    _connect(world_a, lrs)
    _, first, _ = _enrolled_program(world_a)
    session, _ = passing_session(world_a.member(Role.REP), first)
    _practise(world_a, session)
    for row in StatementOutbox.objects.for_tenant(world_a.tenant):
        assert xapi.validate(row.statement) == []
        parsed = Statement.from_json(json.dumps(row.statement))
        assert parsed.verb.id == xapi.VERBS[row.verb]
        assert str(parsed.context.registration) == xapi.registration_of(world_a.tenant.id, session.id)


def test_the_rules_catch_what_an_lrs_would_refuse():
    good = {
        "id": "8f2f5f5e-2a7b-4d47-9d55-1f6a3c1b7e10",
        "actor": {"objectType": "Agent", "account": {"homePage": "https://coach.example", "name": "acme:1"}},
        "verb": {"id": xapi.VERBS["scored"], "display": {"en-US": "scored"}},
        "object": {"objectType": "Activity", "id": "https://coach.example/xapi/activities/acme/scenarios/1/versions/1"},
        "result": {"score": {"scaled": 0.6, "raw": 60, "min": 0, "max": 100}, "duration": "PT0H4M12.50S"},
        "context": {"registration": "3a4d2a4e-8c3b-4f0e-a3e2-5d2c1b0a9f8e"},
        "timestamp": "2026-12-03T07:00:00.000Z",
    }
    assert xapi.validate(good) == []
    bad = json.loads(json.dumps(good))
    bad["actor"]["mbox"] = "mailto:rep@acme.example"
    bad["result"]["score"].update(scaled=1.5, raw=120)
    bad["result"]["duration"] = "4 minutes"
    bad["context"]["registration"] = "session-7"
    bad["timestamp"] = "2026-12-03 07:00"
    bad["colour"] = "blue"
    problems = " | ".join(xapi.validate(bad))
    for expected in ("exactly one inverse functional identifier", "scaled must be between -1 and 1",
                     "raw must be between min and max", "ISO 8601 duration", "registration must be a UUID",
                     "timestamp must be", "unknown properties: colour"):
        assert expected in problems


def test_the_admin_saves_the_lrs_with_the_secret_encrypted_and_never_shown(world_a, client_for, lrs):
    admin = client_for(world_a.member(Role.TENANT_ADMIN))
    url = reverse("lrs_settings", args=[world_a.tenant.slug])
    missing = admin.post(url, {"endpoint": lrs.endpoint, "username": "k"})
    assert missing.status_code == 400 and b"Enter the LRS secret" in missing.content
    saved = admin.post(url, {"endpoint": lrs.endpoint.rstrip("/"), "username": "k", "secret": "s3cret-value",
                             "is_enabled": "on"})
    assert saved.status_code == 302
    row = LRSSettings.objects.for_tenant(world_a.tenant).get()
    assert row.endpoint == lrs.endpoint and "s3cret-value" not in row.secret_encrypted
    page = admin.get(url)
    assert b"s3cret-value" not in page.content and b"A secret is saved" in page.content
    assert client_for(world_a.member(Role.MANAGER)).get(url).status_code == 403


@override_settings(LLM_ALLOW_PRIVATE_ENDPOINTS=False)
def test_an_lrs_on_a_private_address_is_refused(world_a):
    from coachhub.core.errors import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        statements.lrs_settings_update(tenant=world_a.tenant, actor=world_a.member(Role.TENANT_ADMIN),
                                       endpoint="http://169.254.169.254/xapi/", username="k", secret="s")
    assert "private, loopback or link-local" in refused.value.fields["endpoint"]


def test_erasing_a_rep_removes_the_learning_records_about_them_and_their_name_on_program_work(world_a, lrs):
    from coachhub.tenancy.retention.services import person_erase
    from programs.models import Program, ProgramEnrollment

    _connect(world_a, lrs)
    program, first, _ = _enrolled_program(world_a)
    rep = world_a.member(Role.REP)
    session, _ = passing_session(rep, first)
    _practise(world_a, session)
    assert StatementOutbox.objects.for_tenant(world_a.tenant).filter(session_id=session.id).count() == 4
    lead = world_a.member(Role.ENABLEMENT_LEAD)

    with TestCase.captureOnCommitCallbacks(execute=True):
        counts = person_erase(tenant=world_a.tenant, actor=None, membership=rep, via="command")
    assert counts["learning_records"] == 4
    assert not StatementOutbox.objects.for_tenant(world_a.tenant).filter(session_id=session.id).exists()
    assert not ProgramEnrollment.objects.for_tenant(world_a.tenant).filter(membership=rep).exists()

    # The lead who built the program, erased in turn: the program stays, without their name.
    person_erase(tenant=world_a.tenant, actor=None, membership=lead, via="command")
    kept = Program.objects.for_tenant(world_a.tenant).get(pk=program.pk)
    assert kept.created_by_id is None
    assert not ProgramEnrollment.objects.for_tenant(world_a.tenant).filter(assigned_by=lead.user).exists()
