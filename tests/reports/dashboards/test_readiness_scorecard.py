"""Readiness beside each rep on the scorecard and in insights (next to time to confidence): the
programs app answers through the core's people-status registry, for the right reps, in words, with a
link to the evidence, in a fixed number of queries, and never for another tenant's reps."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coachhub.tenancy.models import Role, TeamRole
from coachhub.tenancy.people_status import people_statuses
from programs import services
from programs.selectors import people_readiness
from tests.factories import MembershipFactory, TeamMembershipFactory, UserFactory
from tests.programs.helpers import PASS_MARK, failing_session, passing_session, two_scenarios

pytestmark = pytest.mark.django_db


def _onboarding(world, *, reps=()):
    """A two-scenario program assigned to the world's team (rep, rep2) and to `reps`."""
    lead = world.member(Role.ENABLEMENT_LEAD)
    first, second = two_scenarios(world.tenant)
    program = services.program_create(tenant=world.tenant, actor=lead, title="Onboarding")
    for version in (first, second):
        services.program_step_add(tenant=world.tenant, actor=lead, program=program, scenario=version.scenario,
                                  pass_overall=PASS_MARK)
    services.program_assign(tenant=world.tenant, actor=lead, program=program, teams=[world.team], reps=list(reps))
    return program, first, second


@pytest.fixture
def onboarding(world_a, world_b):
    """acme: rep passed both scenarios (Ready), rep2 passed one and failed one (Practising), the
    loner is enrolled and has not practised (Not started), `unenrolled` is in no program. bolt: its
    rep is Ready in bolt's own program."""
    program, first, second = _onboarding(world_a, reps=[world_a.loner])
    rep, rep2 = world_a.member(Role.REP), world_a.rep2
    passing_session(rep, first)
    passing_session(rep, second)
    passing_session(rep2, first)
    failing_session(rep2, second)
    unenrolled = MembershipFactory(tenant=world_a.tenant, role=Role.REP, user=UserFactory(email="new@acme.example"))
    TeamMembershipFactory(team=world_a.team, membership=unenrolled, kind=TeamRole.MEMBER)
    _, b_first, b_second = _onboarding(world_b)
    passing_session(world_b.member(Role.REP), b_first)
    passing_session(world_b.member(Role.REP), b_second)
    return {"program": program, "unenrolled": unenrolled, "versions": (first, second)}


def _cells(html: str) -> dict[int, str]:
    """membership id → the readiness cell's text (tags stripped) of each rep row on the page."""
    cells = {}
    for rep_id, row in re.findall(r'<tr data-rep="(\d+)">(.*?)</tr>', html, flags=re.S):
        cell = re.search(r'<td class="col-status" data-status="readiness"[^>]*>(.*?)</td>', row, flags=re.S)
        assert cell, f"rep {rep_id} has no readiness cell"
        cells[int(rep_id)] = re.sub(r"<[^>]+>", " ", cell.group(1)).split()
    return {rep_id: " ".join(words) for rep_id, words in cells.items()}


def test_the_scorecard_shows_each_reps_readiness_in_words_with_the_evidence(world_a, onboarding, client_for):
    rep, rep2, loner = world_a.member(Role.REP), world_a.rep2, world_a.loner
    page = client_for(world_a.member(Role.ENABLEMENT_LEAD)).get(reverse("scorecard", args=[world_a.tenant.slug]))
    html = page.content.decode()
    assert page.status_code == 200 and '<th scope="col" class="col-status">Readiness</th>' in html
    cells = _cells(html)
    assert cells[rep.id].startswith("Ready Onboarding: 2 of 2 scenarios passed")
    assert cells[rep2.id].startswith("Practising Onboarding: 1 of 2 scenarios passed; holding back:")
    assert cells[loner.id].startswith("Not started Onboarding: 0 of 2 scenarios passed")
    assert cells[onboarding["unenrolled"].id] == "– none"
    # The state is a link to the evidence: that rep's page in the program.
    evidence = reverse("program_readiness", args=[world_a.tenant.slug, onboarding["program"].id, rep2.id])
    assert f'<a href="{evidence}">Practising</a>' in html
    shown = client_for(world_a.member(Role.ENABLEMENT_LEAD)).get(evidence)
    assert shown.status_code == 200 and b"Below the mark" in shown.content
    # bolt's rep, ready in bolt's program, is not on acme's scorecard at all.
    assert "rep@bolt.example" not in html


def test_a_manager_sees_readiness_only_for_the_reps_they_coach(world_a, onboarding, client_for):
    page = client_for(world_a.member(Role.MANAGER)).get(reverse("scorecard", args=[world_a.tenant.slug]))
    cells = _cells(page.content.decode())
    assert set(cells) == {world_a.member(Role.REP).id, world_a.rep2.id, onboarding["unenrolled"].id}
    assert cells[world_a.member(Role.REP).id].startswith("Ready")
    assert cells[world_a.rep2.id].startswith("Practising")


def test_insights_shows_readiness_next_to_time_to_confidence(world_a, onboarding, client_for):
    page = client_for(world_a.member(Role.ENABLEMENT_LEAD)).get(reverse("insights", args=[world_a.tenant.slug]))
    html = page.content.decode()
    assert page.status_code == 200
    section = html[html.index('id="confidence"'):html.index('id="coverage"')]
    cells = _cells(section)
    assert cells[world_a.member(Role.REP).id].startswith("Ready")
    assert cells[world_a.rep2.id].startswith("Practising")
    assert cells[world_a.loner.id].startswith("Not started")
    assert cells[onboarding["unenrolled"].id] == "– none"
    # The summary beside the median weeks: how many reps are where.
    for count, text in ((1, "Ready"), (1, "Practising"), (1, "Not started")):
        assert re.search(rf"<strong>{count}</strong><span>readiness: {text}</span>", section), text
    assert "rep@bolt.example" not in html


def test_the_registry_never_answers_for_another_tenants_reps(world_a, world_b, onboarding):
    lead_a = world_a.member(Role.ENABLEMENT_LEAD)
    bolt_rep = world_b.member(Role.REP)
    statuses = people_statuses(viewer=lead_a, memberships=[bolt_rep.id, world_a.member(Role.REP).id])
    (column,) = statuses.columns
    assert column.key == "readiness" and column.of(bolt_rep.id) is None
    assert column.of(world_a.member(Role.REP).id).state == "ready"
    # And bolt's lead asking about acme's reps learns nothing.
    assert people_readiness(viewer=world_b.member(Role.ENABLEMENT_LEAD),
                            membership_ids=[world_a.member(Role.REP).id, world_a.rep2.id]) == {}


def test_readiness_costs_the_same_queries_for_two_reps_or_twelve(world_a, world_b, onboarding, client_for):
    lead = world_a.member(Role.ENABLEMENT_LEAD)
    ids = [world_a.member(Role.REP).id, world_a.rep2.id]
    with CaptureQueriesContext(connection) as few:
        people_readiness(viewer=lead, membership_ids=ids)
    program = onboarding["program"]
    first, second = onboarding["versions"]
    more = []
    for n in range(10):
        rep = MembershipFactory(tenant=world_a.tenant, role=Role.REP, user=UserFactory(email=f"more{n}@acme.example"))
        services.program_assign(tenant=world_a.tenant, actor=lead, program=program, reps=[rep])
        more.append(rep)
    for rep in more[:4]:
        passing_session(rep, first)
        failing_session(rep, second)
    with CaptureQueriesContext(connection) as many:
        answers = people_readiness(viewer=lead, membership_ids=ids + [rep.id for rep in more])
    assert len(answers) == 12
    assert len(many) == len(few) == 5  # enrollments, steps, sessions, scores, their behaviors
    # Nobody enrolled: one query.
    with CaptureQueriesContext(connection) as none:
        assert people_readiness(viewer=lead, membership_ids=[onboarding["unenrolled"].id]) == {}
    assert len(none) == 1

    client = client_for(lead)
    url = reverse("scorecard", args=[world_a.tenant.slug])
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as page:
        body = client.get(url).content.decode()
    assert body.count('data-status="readiness"') == len(_cells(body))
    for rep in more[4:]:
        passing_session(rep, first)
    with CaptureQueriesContext(connection) as page_more:
        client.get(url)
    assert len(page_more) == len(page)
