"""Erasing one person's practice data from one tenant on request: everything of theirs there goes,
all or nothing, their data in another tenant and everyone else's stays, and the audit log says who
erased whom without keeping what was erased."""

from __future__ import annotations

import hashlib
import io
import json
import os
from contextlib import contextmanager

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection

from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import ApiToken, AuditEvent, Membership, Role, TeamMembership, User
from coachhub.tenancy.retention.services import person_erase
from reports.dashboards.aggregates import rep_weeks_rebuild
from reports.kpi.importing import ensure_builtin_metrics
from reports.models import KpiMetric, KpiValue, RepWeek
from scenarios.models import AssignmentRecipient, Scenario
from scoring import services as scoring_services
from scoring.models import BehaviorScore, Dispute, SessionScore, TurnComment
from sessions.models import PracticeSession, Turn
from tests.factories import MembershipFactory, TeamMembershipFactory
from tests.reports.factories import last_monday
from tests.scenarios.factories import AssignmentRecipientFactory
from tests.scoring.factories import scored_session

pytestmark = pytest.mark.django_db

PERSON_MODELS = (PracticeSession, Turn, SessionScore, BehaviorScore, TurnComment, Dispute, KpiValue, RepWeek,
                 AssignmentRecipient, TeamMembership, ApiToken, Membership)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def give_practice_data(world, member: Membership) -> dict:
    """Sessions with recordings, scores, a coach's comment, a dispute, a KPI value, weekly rows, an
    assignment, an API token and a scenario of theirs: everything erasure is about."""
    tenant = world.tenant
    manager = world.member(Role.MANAGER)
    files = []
    sessions = [scored_session(member)[0] for _ in range(2)]
    with tenant_context(tenant):
        for session in sessions:
            for turn in Turn.objects.for_tenant(tenant).filter(session=session, speaker="rep"):
                turn.audio.save(f"s{session.id}-{turn.index}.audio", ContentFile(b"ID3" + bytes(32)), save=True)
                files.append(turn.audio.name)
        scoring_services.turn_comment_add(
            tenant=tenant, actor=manager.user, reviewer=manager, session=sessions[0], turn_index=1, text="Nice.",
        )
        empathy = BehaviorScore.objects.for_tenant(tenant).get(
            session_score__session=sessions[0], behavior="empathy"
        )
        scoring_services.dispute_open(tenant=tenant, rep=member, behavior_score=empathy, note="I did empathize.")
        ensure_builtin_metrics(tenant=tenant)
        KpiValue.objects.for_tenant(tenant).create(
            tenant=tenant, membership=member, metric=KpiMetric.objects.for_tenant(tenant).first(),
            period_start=last_monday(), value=91.0,
        )
        rep_weeks_rebuild(tenant=tenant)
        tenancy_services.api_token_create(tenant=tenant, user=member.user, name="laptop")
        Scenario.objects.for_tenant(tenant).filter(id=sessions[0].scenario_id).update(created_by=member.user)
    AssignmentRecipientFactory(tenant=tenant, membership=member, assignment__version=sessions[0].version)
    return {"sessions": sessions, "files": files, "scenario_id": sessions[0].scenario_id}


def rows_of(world, member: Membership) -> dict[str, int]:
    """How many rows of each kind this member has in the world's tenant."""
    tenant = world.tenant
    with tenant_context(tenant):
        sessions = PracticeSession.objects.for_tenant(tenant).filter(membership=member)
        session_ids = sessions.values("id")
        counts = {
            "PracticeSession": sessions.count(),
            "Turn": Turn.objects.for_tenant(tenant).filter(session__in=session_ids).count(),
            "SessionScore": SessionScore.objects.for_tenant(tenant).filter(membership=member).count(),
            "BehaviorScore": BehaviorScore.objects.for_tenant(tenant).filter(session_score__membership=member).count(),
            "TurnComment": TurnComment.objects.for_tenant(tenant).filter(session__in=session_ids).count(),
            "Dispute": Dispute.objects.for_tenant(tenant).filter(rep=member).count(),
            "KpiValue": KpiValue.objects.for_tenant(tenant).filter(membership=member).count(),
            "RepWeek": RepWeek.objects.for_tenant(tenant).filter(membership=member).count(),
            "AssignmentRecipient": AssignmentRecipient.objects.for_tenant(tenant).filter(membership=member).count(),
            "TeamMembership": TeamMembership.objects.for_tenant(tenant).filter(membership=member).count(),
            "ApiToken": ApiToken.objects.for_tenant(tenant).filter(user_id=member.user_id).count(),
            "Membership": Membership.objects.for_tenant(tenant).filter(id=member.id).count(),
        }
    assert set(counts) == {model.__name__ for model in PERSON_MODELS}
    return counts


@pytest.fixture
def person(world_a, world_b):
    """World A's rep, who also practices in tenant B with the same account, and a colleague in A."""
    rep_a = world_a.member(Role.REP)
    rep_b = MembershipFactory(tenant=world_b.tenant, user=rep_a.user, role=Role.REP)
    TeamMembershipFactory(team=world_b.team, membership=rep_b)
    data_a = give_practice_data(world_a, rep_a)
    data_b = give_practice_data(world_b, rep_b)
    colleague = give_practice_data(world_a, world_a.rep2)
    return {"a": rep_a, "b": rep_b, "data_a": data_a, "data_b": data_b, "colleague": colleague}


def assert_intact(world, member, data, media, before: dict[str, int]) -> None:
    assert rows_of(world, member) == before
    assert all((media / name).exists() for name in data["files"])


def assert_erased(world, member, data, media) -> None:
    assert set(rows_of(world, member).values()) == {0}
    assert not any((media / name).exists() for name in data["files"])
    assert User.objects.filter(id=member.user_id).exists()  # the account stays
    with tenant_context(world.tenant):
        scenario = Scenario.objects.for_tenant(world.tenant).get(id=data["scenario_id"])
    assert scenario.created_by_id is None  # their scenario stays, without their name


def test_admin_erases_a_person_in_their_tenant_only(world_a, world_b, person, media, client_for,
                                                    django_capture_on_commit_callbacks):
    admin = world_a.member(Role.TENANT_ADMIN)
    rep_a, rep_b = person["a"], person["b"]
    in_b = rows_of(world_b, rep_b)
    colleague = rows_of(world_a, world_a.rep2)
    assert min(rows_of(world_a, rep_a).values()) >= 1 and min(in_b.values()) >= 1
    client = client_for(admin)
    url = f"/t/{world_a.tenant.slug}/people/{rep_a.id}/erase/"

    page = client.get(url)
    assert page.status_code == 200
    assert "2 practice sessions" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"confirm_email": rep_a.user.email.upper()})

    assert response.status_code == 302 and response["Location"] == f"/t/{world_a.tenant.slug}/people/"
    assert_erased(world_a, rep_a, person["data_a"], media)
    # The same person's data in tenant B, and their colleague's in A, are untouched.
    assert_intact(world_b, rep_b, person["data_b"], media, in_b)
    assert_intact(world_a, world_a.rep2, person["colleague"], media, colleague)

    with tenant_context(world_a.tenant):
        event = AuditEvent.objects.for_tenant(world_a.tenant).get(action="member.erased")
    assert event.actor == admin.user
    assert (event.target_type, event.target_id) == ("Membership", str(rep_a.id))
    assert event.data["email_sha256"] == hashlib.sha256(rep_a.user.email.encode()).hexdigest()
    assert event.data["user_id"] == rep_a.user_id and event.data["via"] == "page"
    counts = event.data["counts"]
    assert counts["references_cleared"] == 1  # the scenario they wrote
    assert counts["sessions"] == 2 and counts["recordings"] == len(person["data_a"]["files"])
    assert counts["comments"] == 1 and counts["disputes"] == 1 and counts["kpi_values"] == 1
    assert counts["assignments"] == 1 and counts["api_tokens"] == 1 and counts["rep_weeks"] >= 1
    # The entry names who was erased by id and fingerprint, never by what was erased.
    recorded = event.summary + json.dumps(event.data)
    assert rep_a.user.email not in recorded and "I did empathize" not in recorded
    with tenant_context(world_b.tenant):
        assert not AuditEvent.objects.for_tenant(world_b.tenant).filter(action="member.erased").exists()

    # They can no longer open tenant A; tenant B still works for them.
    assert client_for(rep_a).get(f"/t/{world_a.tenant.slug}/").status_code == 404
    assert client_for(rep_b).get(f"/t/{world_b.tenant.slug}/").status_code == 200


def test_a_wrong_confirmation_erases_nothing(world_a, person, media, client_for):
    before = rows_of(world_a, person["a"])
    response = client_for(world_a.member(Role.TENANT_ADMIN)).post(
        f"/t/{world_a.tenant.slug}/people/{person['a'].id}/erase/", {"confirm_email": "someone@else.example"}
    )
    assert response.status_code == 400
    assert "isn&#x27;t this person&#x27;s email address" in response.content.decode()
    assert_intact(world_a, person["a"], person["data_a"], media, before)


def test_non_admins_get_403_and_outsiders_404(world_a, world_b, person, media, client_for):
    rep_a = person["a"]
    before = rows_of(world_a, rep_a)
    data = {"confirm_email": rep_a.user.email}
    url = f"/t/{world_a.tenant.slug}/people/{rep_a.id}/erase/"
    for role in (Role.REP, Role.MANAGER, Role.ENABLEMENT_LEAD):
        assert client_for(world_a.member(role)).post(url, data).status_code == 403
    outsider = client_for(world_b.member(Role.TENANT_ADMIN))
    assert outsider.post(url, data).status_code == 404
    # A's member id planted under B's own slug: as if it didn't exist.
    assert outsider.post(f"/t/{world_b.tenant.slug}/people/{rep_a.id}/erase/", data).status_code == 404
    assert client_for(None).post(url, data).status_code == 302
    assert_intact(world_a, rep_a, person["data_a"], media, before)


@contextmanager
def deletes_refused(model):
    """A real database refusal: a trigger that aborts any delete on the model's table. Created as the
    table's owner (on PostgreSQL the suite may run as a role that owns nothing), dropped afterwards."""
    table = model._meta.db_table
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TRIGGER refuse BEFORE DELETE ON {table} BEGIN SELECT RAISE(ABORT, 'refused'); END")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("DROP TRIGGER refuse")
        return
    import psycopg2

    owner = psycopg2.connect(os.environ["DATABASE_URL"], dbname=connection.settings_dict["NAME"])
    owner.autocommit = True
    try:
        with owner.cursor() as cursor:
            cursor.execute("CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS "
                           "$$ BEGIN RAISE EXCEPTION 'deletes refused'; END $$")
            cursor.execute(f"CREATE TRIGGER refuse BEFORE DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_delete()")
        try:
            yield
        finally:
            with owner.cursor() as cursor:
                cursor.execute(f"DROP TRIGGER refuse ON {table}")
                cursor.execute("DROP FUNCTION refuse_delete()")
    finally:
        owner.close()


# Committed rows (not a test transaction), so the table's owner can add a trigger beside them.
@pytest.mark.django_db(transaction=True)
def test_erasure_is_all_or_nothing(world_a, person, media):
    """The database refuses the last deletes (sessions): the comments, scores and turns deleted
    before them come back, and no recording is deleted."""
    rep_a = person["a"]
    before = rows_of(world_a, rep_a)

    with deletes_refused(PracticeSession), tenant_context(world_a.tenant), pytest.raises(DatabaseError):
        person_erase(tenant=world_a.tenant, actor=None, membership=rep_a, via="command")

    assert_intact(world_a, rep_a, person["data_a"], media, before)
    with tenant_context(world_a.tenant):
        assert not AuditEvent.objects.for_tenant(world_a.tenant).filter(action="member.erased").exists()


def test_admins_cant_erase_themselves_or_the_last_admin(world_a, client_for):
    admin = world_a.member(Role.TENANT_ADMIN)
    response = client_for(admin).post(
        f"/t/{world_a.tenant.slug}/people/{admin.id}/erase/", {"confirm_email": admin.user.email}
    )
    assert response.status_code == 409 and "ask another admin" in response.content.decode()
    with pytest.raises(CommandError, match="at least one admin"):
        call_command("erase_person", tenant=world_a.tenant.slug, email=admin.user.email)
    with tenant_context(world_a.tenant):
        assert Membership.objects.for_tenant(world_a.tenant).filter(id=admin.id).exists()


# --- the management command -----------------------------------------------------------------------


def test_command_erases_in_the_named_tenant_only(world_a, world_b, person, media, django_capture_on_commit_callbacks):
    rep_a, rep_b = person["a"], person["b"]
    in_a = rows_of(world_a, rep_a)
    out = io.StringIO()

    call_command("erase_person", tenant=world_b.tenant.slug, email=rep_b.user.email, dry_run=True, stdout=out)
    dry_run = json.loads(out.getvalue())
    assert list(dry_run) == ["tenant", "dry_run", "sessions", "turns", "recordings", "scores", "comments",
                             "disputes", "kpi_values", "rep_weeks", "assignments", "learning_records", "lms_links"]
    assert dry_run["sessions"] == 2 and dry_run["comments"] == 1 and dry_run["disputes"] == 1
    assert rows_of(world_b, rep_b)["PracticeSession"] == 2

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("erase_person", tenant=world_b.tenant.slug, email=rep_b.user.email,
                     actor=world_b.member(Role.TENANT_ADMIN).user.email, stdout=out)

    printed = json.loads(out.getvalue())
    # The apps' registrations erase in foreign-key order and the command prints the counts in that order.
    assert list(printed) == [
        "tenant", "erased", "comments", "disputes", "behavior_scores", "scores", "kpi_values", "rep_weeks", "digests",
        # The programs' records name sessions by id: they go before the sessions do.
        "learning_records", "lms_links", "turns", "recordings", "sessions", "assignments", "team_links", "api_tokens",
        "invitations",
        "references_cleared", "other",
    ]
    assert printed["erased"] is True and printed["sessions"] == 2
    assert_erased(world_b, rep_b, person["data_b"], media)
    assert_intact(world_a, rep_a, person["data_a"], media, in_a)
    with tenant_context(world_b.tenant):
        event = AuditEvent.objects.for_tenant(world_b.tenant).get(action="member.erased")
    assert event.actor == world_b.member(Role.TENANT_ADMIN).user and event.data["via"] == "command"


def test_command_refuses_unknown_people_and_tenants(world_a, world_b):
    with pytest.raises(CommandError, match="not a member"):
        call_command("erase_person", tenant=world_a.tenant.slug, email=world_b.loner.user.email)
    with pytest.raises(CommandError, match="No tenant"):
        call_command("erase_person", tenant="nope", email=world_a.loner.user.email)
    with tenant_context(world_b.tenant):
        assert Membership.objects.for_tenant(world_b.tenant).filter(id=world_b.loner.id).exists()


def test_erasing_twice_is_refused_as_already_gone(world_a, person, django_capture_on_commit_callbacks):
    rep_a = person["a"]
    with tenant_context(world_a.tenant), django_capture_on_commit_callbacks(execute=True):
        person_erase(tenant=world_a.tenant, actor=None, membership=rep_a, via="command")
    with pytest.raises(CommandError, match="not a member"):
        call_command("erase_person", tenant=world_a.tenant.slug, email=rep_a.user.email)
    with tenant_context(world_a.tenant):
        assert AuditEvent.objects.for_tenant(world_a.tenant).filter(action="member.erased").count() == 1


def test_admins_find_erasure_and_retention_from_the_member_page(world_a, client_for):
    rep = world_a.member("rep")
    admin = world_a.member("tenant_admin")
    page = client_for(admin).get(f"/t/acme/people/{rep.id}/").content.decode()
    assert f"/t/acme/people/{rep.id}/erase/" in page and "/t/acme/settings/retention/" in page
    own = client_for(admin).get(f"/t/acme/people/{admin.id}/").content.decode()
    assert f"/people/{admin.id}/erase/" not in own  # admins can't erase themselves
