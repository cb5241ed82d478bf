"""Scheduled help-desk API pulls against loopback Zendesk, Freshdesk and Intercom servers: pagination,
hand-computed weekly values identical to a file import of the same tickets (definitions included),
idempotence, incremental changes, 429 with Retry-After, a failing connection stopping and telling the
admin, a token revoked mid-sync, unknown agents, subdomains that can't become another host, and a
token that is never logged or shown."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse

from coachhub.core.errors import ApplicationError
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AuditEvent
from reports import services as report_services
from reports.helpdesk.models import HelpdeskConnection, HelpdeskPulledTicket, HelpdeskSyncStatus
from reports.helpdesk.pulls import services
from reports.helpdesk.pulls.http import base_url
from reports.models import KpiImport, KpiValue
from reports.tasks import pull_helpdesk, pull_helpdesks
from tests.reports.factories import commit, csv_bytes, last_monday, preview, values_of
from tests.reports.helpdesk.conftest import Desk, Fault, epoch, iso

pytestmark = pytest.mark.django_db

W1, W2 = last_monday(3), last_monday(2)
ZD_TOKEN = "zd-Secr3tT0ken-0123456789abcdef"


def at(week, day: int, clock: str = "12:00") -> datetime:
    return datetime.combine(week + timedelta(days=day), time.fromisoformat(clock))


def connect(world, vendor: str, token: str, **extra):
    admin = world.member("tenant_admin")
    with tenant_context(world.tenant):
        return services.helpdesk_connect(tenant=world.tenant, actor=admin.user, vendor_key=vendor, token=token, **extra)


def sync(world, vendor: str, manual: bool = True) -> HelpdeskConnection:
    with tenant_context(world.tenant):
        connection = HelpdeskConnection.objects.for_tenant(world.tenant).get(vendor=vendor)
        return services.helpdesk_sync_run(tenant=world.tenant, connection_id=connection.id, manual=manual)


def weekly(world) -> dict:
    return {k: round(v, 4) for k, v in values_of(world).items()}


def add_custom(world, key: str):
    with tenant_context(world.tenant):
        report_services.kpi_metric_create(tenant=world.tenant, actor=world.member("tenant_admin").user, key=key,
                                          label=key.replace("_", " ").capitalize(), unit="seconds",
                                          higher_is_better=False, min_value=0)


# --- Zendesk ---------------------------------------------------------------------------------------


def zd_ticket(tid, assignee, solved, *, status="solved", score="unoffered", gs=1, replies=1, reopens=0, reply=None,
              full=None):
    return {
        "id": tid, "status": status, "assignee_id": assignee, "subject": f"Ticket {tid}",
        "satisfaction_rating": {"score": score}, "_updated": epoch(solved or at(W1, 0)) + 5,
        "_metrics": {"id": 9000 + tid, "solved_at": iso(solved), "group_stations": gs, "assignee_stations": 1,
                     "reopens": reopens, "replies": replies,
                     "reply_time_in_minutes": {"calendar": reply, "business": reply},
                     "full_resolution_time_in_minutes": {"calendar": full, "business": full}},
    }


def zendesk_desk(slug: str) -> Desk:
    return Desk(
        token=ZD_TOKEN, login_email=f"admin@{slug}.example", page_size=2,
        users=[{"id": 11, "email": f"rep@{slug}.example", "name": "Riley"},
               {"id": 12, "email": f"rep2@{slug}.example", "name": "Sam"}],
        tickets=[
            zd_ticket(1, 11, at(W1, 1), score="good", gs=1, replies=1, reply=10, full=60),
            zd_ticket(2, 11, at(W1, 2), score="bad", gs=2, replies=3, reply=30, full=300),
            zd_ticket(3, 11, at(W1, 3), score="offered", gs=1, replies=1, reopens=1, reply=20, full=120),
            zd_ticket(4, 11, None, status="open", score="good", gs=1, replies=0),
            zd_ticket(5, 12, at(W1, 4), score="good", gs=3, replies=1, reply=8, full=90),
            zd_ticket(6, 11, at(W2, 0), score="good", gs=1, replies=0, reply=2, full=20),
        ],
    )


def zendesk_expected(slug: str) -> dict:
    rep, rep2 = f"rep@{slug}.example", f"rep2@{slug}.example"
    w1, w2 = W1.isoformat(), W2.isoformat()
    return {
        # Riley, week 1: tickets 1–3 solved (4 is open). Escalated: #2 (2 group stations) → 1/3.
        # CSAT: good #1, bad #2 (#3 only offered) → 1/2. FCR: ≤ 1 reply and no reopen: #1 only → 1/3.
        # First reply: (10 + 30 + 20) / 3 = 20 min = 1200 s.
        (rep, "escalation_rate", w1): 33.3333, (rep, "csat", w1): 50.0, (rep, "first_contact_resolution", w1): 33.3333,
        (rep, "first_reply_time", w1): 1200.0,
        # Sam, week 1: #5 (3 group stations, good, 1 reply).
        (rep2, "escalation_rate", w1): 100.0, (rep2, "csat", w1): 100.0, (rep2, "first_contact_resolution", w1): 100.0,
        (rep2, "first_reply_time", w1): 480.0,
        # Riley, week 2: #6.
        (rep, "escalation_rate", w2): 0.0, (rep, "csat", w2): 100.0, (rep, "first_contact_resolution", w2): 100.0,
        (rep, "first_reply_time", w2): 120.0,
    }


@pytest.fixture
def zendesk(world_a, vendor_servers):
    add_custom(world_a, "first_reply_time")
    desk = vendor_servers.add("zendesk", "acme", zendesk_desk("acme"))
    connect(world_a, "zendesk", ZD_TOKEN, subdomain="acme", login_email="admin@acme.example")
    return desk


def test_zendesk_pull_pages_through_the_export_and_writes_hand_computed_weeks(world_a, zendesk):
    connection = sync(world_a, "zendesk")

    assert connection.status == HelpdeskSyncStatus.OK, connection.last_error
    assert weekly(world_a) == zendesk_expected("acme")
    pages = [r for r in zendesk.requests if r["path"].endswith("cursor.json")]
    assert len(pages) == 3  # six tickets, two a page
    assert "start_time" in pages[0]["query"] and all("cursor" in p["query"] for p in pages[1:])
    assert all(p["query"]["include"] == "metric_sets,users" for p in pages)
    assert connection.last_counts["fetched"] == 6 and connection.last_counts["created"] == 12
    definitions = connection.last_import.definitions
    assert definitions["escalation_rate"].startswith("escalation = share of solved tickets with group_stations > 1")
    assert "from a Zendesk API ticket_metrics" in definitions["csat"]
    assert "ISO week (Monday–Sunday) of the solved time in UTC" in definitions["csat"]


def test_pulled_values_and_definitions_are_those_of_a_file_import_of_the_same_tickets(
    world_a, world_b, zendesk, django_capture_on_commit_callbacks
):
    sync(world_a, "zendesk")
    # The same six tickets as a file in the API ticket_metrics shape, uploaded by bolt's admin.
    add_custom(world_b, "first_reply_time")
    header = ("ticket_id,assignee_email,solved_at,group_stations,assignee_stations,reopens,replies,satisfaction_score,"
              "reply_time_in_minutes.calendar,full_resolution_time_in_minutes.calendar")
    lines = [header]
    for t in zendesk_desk("bolt").tickets:
        m = t["_metrics"]
        email = f"rep{'' if t['assignee_id'] == 11 else '2'}@bolt.example"
        solved = m["solved_at"] if t["status"] == "solved" else ""
        lines.append(",".join(str(x if x is not None else "") for x in (
            t["id"], email, solved or "", m["group_stations"], m["assignee_stations"], m["reopens"], m["replies"],
            t["satisfaction_rating"]["score"], m["reply_time_in_minutes"]["calendar"],
            m["full_resolution_time_in_minutes"]["calendar"])))
    kpi_import = preview(world_b, csv_bytes(lines), role="tenant_admin", source="Zendesk API",
                         column_mapping={"preset": "zendesk_ticket_metrics", "timezone": "UTC"})
    kpi_import = commit(world_b, kpi_import, django_capture_on_commit_callbacks)

    def by_person(values):
        return {(email.split("@")[0], key, week): v for (email, key, week), v in values.items()}

    assert by_person(weekly(world_b)) == by_person(weekly(world_a))
    with tenant_context(world_a.tenant):
        pulled = KpiImport.objects.for_tenant(world_a.tenant).get(preset="zendesk_ticket_metrics")
    assert kpi_import.definitions == pulled.definitions


def test_a_second_sync_is_idempotent_and_a_redelivered_ticket_changes_nothing(world_a, zendesk):
    sync(world_a, "zendesk")
    before = weekly(world_a)
    again = sync(world_a, "zendesk")
    assert again.status == HelpdeskSyncStatus.OK
    assert again.last_counts["fetched"] == 0
    assert zendesk.requests[-1]["query"].get("cursor")  # resumed from the saved cursor
    # Zendesk sends ticket 2 again (updated, nothing that counts changed): the week is redone, same values.
    zendesk.touch(2, subject="Broken (tagged)")
    third = sync(world_a, "zendesk")
    assert third.last_counts["fetched"] == 1
    assert (third.last_counts["created"], third.last_counts["updated"]) == (0, 0)
    assert third.last_counts["unchanged"] == 8  # the two reps' week-1 values recomputed
    assert weekly(world_a) == before
    with tenant_context(world_a.tenant):
        assert HelpdeskPulledTicket.objects.for_tenant(world_a.tenant).count() == 6


def test_an_incremental_change_redoes_its_week_and_a_reassigned_ticket_leaves_the_old_agent(world_a, zendesk):
    sync(world_a, "zendesk")
    zendesk.touch(2, satisfaction_rating={"score": "good"})  # Riley's bad rating turned good
    zendesk.touch(5, assignee_id=11)  # Sam's only week-1 ticket now Riley's
    connection = sync(world_a, "zendesk")

    assert connection.last_counts["fetched"] == 2
    values = weekly(world_a)
    rep, rep2, w1 = "rep@acme.example", "rep2@acme.example", W1.isoformat()
    # Riley, week 1 now #1, #2, #3, #5: escalated #2, #5 → 2/4; CSAT good #1 #2 #5 → 100; FCR #1, #5 → 2/4;
    # first reply (10 + 30 + 20 + 8) / 4 = 17 min.
    assert values[(rep, "escalation_rate", w1)] == 50.0
    assert values[(rep, "csat", w1)] == 100.0
    assert values[(rep, "first_contact_resolution", w1)] == 50.0
    assert values[(rep, "first_reply_time", w1)] == 1020.0
    assert not [k for k in values if k[0] == rep2]  # Sam has no week-1 tickets any more
    assert connection.last_counts["removed"] == 4


def test_a_429_is_waited_out_as_retry_after_says(world_a, zendesk):
    zendesk.faults.append(Fault(429, path="cursor.json", headers={"Retry-After": "1"}))
    connection = sync(world_a, "zendesk")

    assert connection.status == HelpdeskSyncStatus.OK
    assert connection.last_counts["waited_s"] == 1.0
    assert weekly(world_a) == zendesk_expected("acme")
    first_two = zendesk.requests[:2]
    assert first_two[0]["query"] == first_two[1]["query"]  # the refused page asked again


def test_rate_limits_that_dont_let_up_stop_after_a_few_tries_and_tell_the_admin(world_a, zendesk, settings, client_for):
    settings.HELPDESK_API_MAX_TRIES = 3
    zendesk.faults.append(Fault(429, path="cursor.json", times=100, headers={"Retry-After": "0"}))
    for night in range(1, 4):
        connection = sync(world_a, "zendesk", manual=False)
        assert len(zendesk.requests) == 3 * night  # three tries a night, then it gives up
    assert connection.status == HelpdeskSyncStatus.STOPPED
    assert "kept rate-limiting the sync (429) after 3 tries" in connection.last_error
    assert "has stopped" in connection.last_error
    assert connection.cursor == {} and not values_of(world_a)
    with tenant_context(world_a.tenant):
        actions = list(AuditEvent.objects.for_tenant(world_a.tenant).filter(action__startswith="helpdesk.sync_")
                       .order_by("id").values_list("action", flat=True))
    assert actions == ["helpdesk.sync_failed", "helpdesk.sync_failed", "helpdesk.sync_stopped"]
    # The nightly run leaves a stopped connection alone; the page says what happened.
    pull_helpdesks.delay()
    assert len(zendesk.requests) == 9
    page = client_for(world_a.member("tenant_admin")).get(
        reverse("helpdesk_connection", kwargs={"tenant_slug": "acme", "vendor": "zendesk"}))
    assert "Stopped: needs an admin" in page.content.decode()
    assert "kept rate-limiting the sync" in page.content.decode()


def test_a_token_revoked_mid_sync_stops_cleanly_with_nothing_half_written(world_a, zendesk):
    zendesk.revoke_after = 1  # the first page is served, the second is refused with 401
    connection = sync(world_a, "zendesk")

    assert connection.status == HelpdeskSyncStatus.STOPPED
    assert "refused the API token (401)" in connection.last_error
    assert "Nothing from this sync was saved" in connection.last_error
    assert connection.cursor == {}
    assert not values_of(world_a)
    with tenant_context(world_a.tenant):
        assert not HelpdeskPulledTicket.objects.for_tenant(world_a.tenant).exists()
        assert not KpiImport.objects.for_tenant(world_a.tenant).exists()
    # A new token: the sync starts from the beginning and writes everything.
    zendesk.token, zendesk.revoke_after = "zd-new-token-987", None
    connect(world_a, "zendesk", "zd-new-token-987", subdomain="acme", login_email="admin@acme.example")
    assert sync(world_a, "zendesk").status == HelpdeskSyncStatus.OK
    assert weekly(world_a) == zendesk_expected("acme")


def test_the_token_is_encrypted_and_never_logged_or_shown(world_a, zendesk, caplog, client_for):
    caplog.set_level(logging.DEBUG)
    sync(world_a, "zendesk")
    zendesk.revoke_after = zendesk.served  # and a refused one, which logs a warning
    zendesk.touch(1, subject="again")
    sync(world_a, "zendesk")

    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "helpdesk sync" in logged  # the sync did log
    assert ZD_TOKEN not in logged
    with tenant_context(world_a.tenant):
        connection = HelpdeskConnection.objects.for_tenant(world_a.tenant).get(vendor="zendesk")
        summaries = " ".join(AuditEvent.objects.for_tenant(world_a.tenant).values_list("summary", flat=True))
    assert ZD_TOKEN not in connection.token_encrypted and ZD_TOKEN not in str(connection.last_counts)
    assert ZD_TOKEN not in summaries and ZD_TOKEN not in connection.last_error
    page = client_for(world_a.member("tenant_admin")).get(
        reverse("helpdesk_connection", kwargs={"tenant_slug": "acme", "vendor": "zendesk"}))
    assert page.status_code == 200 and ZD_TOKEN not in page.content.decode()
    assert 'type="password"' in page.content.decode()


def test_unknown_agents_hold_the_sync_until_the_admin_maps_them(world_a, zendesk, client_for):
    zendesk.users.append({"id": 13, "email": "temp@agency.example", "name": "Temp"})
    zendesk.tickets.append(zd_ticket(7, 13, at(W1, 2), score="bad", gs=1, replies=1, reply=40, full=80))
    connection = sync(world_a, "zendesk")

    assert connection.status == HelpdeskSyncStatus.NEEDS_MAPPING
    assert connection.unknown_agents == [{"agent": "temp@agency.example", "rows": 1}]
    assert connection.failures == 0 and connection.cursor == {} and not values_of(world_a)

    admin = client_for(world_a.member("tenant_admin"))
    url = reverse("helpdesk_connection", kwargs={"tenant_slug": "acme", "vendor": "zendesk"})
    assert "temp@agency.example" in admin.get(url).content.decode()
    response = admin.post(reverse("helpdesk_agents", kwargs={"tenant_slug": "acme", "vendor": "zendesk"}),
                          {"agent_0_name": "temp@agency.example", "agent_0": str(world_a.rep2.id)})
    assert response.status_code == 302
    assert sync(world_a, "zendesk").status == HelpdeskSyncStatus.OK
    # Sam, week 1: #5 (escalated, good) and #7 (not escalated, bad) → 50 / 50.
    values = weekly(world_a)
    assert values[("rep2@acme.example", "escalation_rate", W1.isoformat())] == 50.0
    assert values[("rep2@acme.example", "csat", W1.isoformat())] == 50.0


def test_the_connection_page_shows_the_last_sync_and_runs_sync_now(world_a, zendesk, client_for,
                                                                    django_capture_on_commit_callbacks):
    admin = client_for(world_a.member("tenant_admin"))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(reverse("helpdesk_sync", kwargs={"tenant_slug": "acme", "vendor": "zendesk"}))
    assert response.status_code == 302
    html = admin.get(reverse("helpdesk_connection", kwargs={"tenant_slug": "acme", "vendor": "zendesk"})).content.decode()
    assert "Synced" in html and "Tickets fetched" in html and "KPI values created" in html
    assert "<dd>6</dd>" in html and "<dd>12</dd>" in html
    listing = admin.get(reverse("helpdesk_connections", kwargs={"tenant_slug": "acme"})).content.decode()
    assert "Zendesk" in listing and "Freshdesk" in listing and "Intercom" in listing
    kpis = admin.get(reverse("kpi_home", kwargs={"tenant_slug": "acme"})).content.decode()
    assert reverse("helpdesk_connections", kwargs={"tenant_slug": "acme"}) in kpis


def test_disconnect_forgets_the_token_and_tickets_but_keeps_the_values(world_a, zendesk, client_for):
    sync(world_a, "zendesk")
    admin = client_for(world_a.member("tenant_admin"))
    admin.post(reverse("helpdesk_disconnect", kwargs={"tenant_slug": "acme", "vendor": "zendesk"}))
    with tenant_context(world_a.tenant):
        assert not HelpdeskConnection.objects.for_tenant(world_a.tenant).exists()
        assert not HelpdeskPulledTicket.objects.for_tenant(world_a.tenant).exists()
        assert KpiValue.objects.for_tenant(world_a.tenant).count() == 12


def test_the_nightly_task_syncs_each_tenant_against_its_own_account(world_a, world_b, vendor_servers):
    acme = vendor_servers.add("zendesk", "acme", zendesk_desk("acme"))
    bolt = vendor_servers.add("zendesk", "bolt", zendesk_desk("bolt"))
    bolt.token = "bolt-token-xyz"
    connect(world_a, "zendesk", ZD_TOKEN, subdomain="acme", login_email="admin@acme.example")
    connect(world_b, "zendesk", "bolt-token-xyz", subdomain="bolt", login_email="admin@bolt.example")

    assert pull_helpdesks.delay().get() == 2
    assert acme.requests and bolt.requests
    assert {k[0] for k in values_of(world_a)} == {"rep@acme.example", "rep2@acme.example"}
    assert {k[0] for k in values_of(world_b)} == {"rep@bolt.example", "rep2@bolt.example"}


# --- outbound hosts --------------------------------------------------------------------------------


@pytest.mark.parametrize("typed, hint", [
    ("https://acme.zendesk.com", "Type only “acme”"),
    ("acme.zendesk.com", "Type only “acme”"),
    ("127.0.0.1", ""),
    ("acme/../evil", ""),
    ("evil.example#", ""),
])
def test_a_tenant_types_a_subdomain_never_an_address(world_a, typed, hint):
    with pytest.raises(ApplicationError) as refused:
        connect(world_a, "zendesk", "tok", subdomain=typed, login_email="admin@acme.example")
    assert "is not a Zendesk subdomain" in refused.value.message and hint in refused.value.message


def test_the_hosts_are_the_vendors_own(settings):
    settings.HELPDESK_API_BASE_URLS = {}
    assert base_url("zendesk", "acme") == "https://acme.zendesk.com"
    assert base_url("freshdesk", "acme") == "https://acme.freshdesk.com"
    assert base_url("intercom", "") == "https://api.intercom.io"


def test_the_page_refuses_a_url_for_a_subdomain_in_words(world_a, client_for):
    admin = client_for(world_a.member("tenant_admin"))
    response = admin.post(reverse("helpdesk_connection", kwargs={"tenant_slug": "acme", "vendor": "freshdesk"}),
                          {"subdomain": "https://acme.freshdesk.com/", "token": "abc"})
    assert response.status_code == 400
    assert "Type only “acme”" in response.content.decode()
    with tenant_context(world_a.tenant):
        assert not HelpdeskConnection.objects.for_tenant(world_a.tenant).exists()


# --- Freshdesk -------------------------------------------------------------------------------------

FD_TOKEN = "fd-ApiKey-abcdef123"


def fd_ticket(tid, responder, created, resolved, *, status=4, first_response_h=1.0):
    return {
        "id": tid, "responder_id": responder, "status": status, "subject": f"Ticket {tid}",
        "created_at": iso(created), "_updated": epoch(resolved or created) + 30,
        "stats": {"resolved_at": iso(resolved), "closed_at": None, "agent_responded_at": None,
                  "first_responded_at": iso(created + timedelta(hours=first_response_h))},
    }


@pytest.fixture
def freshdesk(world_a, vendor_servers):
    add_custom(world_a, "first_reply_time")
    add_custom(world_a, "resolution_time")
    desk = vendor_servers.add("freshdesk", "acme", Desk(
        token=FD_TOKEN, page_size=2,
        users=[{"id": 501, "contact": {"email": "rep@acme.example", "name": "Riley"}},
               {"id": 502, "contact": {"email": "rep2@acme.example", "name": "Sam"}}],
        tickets=[
            fd_ticket(1, 501, at(W1, 0, "09:00"), at(W1, 0, "13:00"), first_response_h=1),
            fd_ticket(2, 501, at(W1, 1, "09:00"), at(W1, 1, "11:00"), first_response_h=0.5),
            fd_ticket(3, 501, at(W1, 2, "09:00"), None, status=2),
            fd_ticket(4, 502, at(W1, 3, "09:00"), at(W1, 3, "10:00"), first_response_h=0.25),
        ],
        ratings=[
            {"id": 1, "survey_id": 1, "ticket_id": 1, "agent_id": 501, "ratings": {"default_question": 103},
             "created_at": iso(at(W1, 0, "14:00"))},
            {"id": 2, "survey_id": 1, "ticket_id": 2, "agent_id": 501, "ratings": {"default_question": -102},
             "created_at": iso(at(W1, 1, "12:00"))},
        ],
    ))
    connect(world_a, "freshdesk", FD_TOKEN, subdomain="acme")
    return desk


def test_freshdesk_pull_follows_link_pages_joins_ratings_and_writes_hand_computed_weeks(world_a, freshdesk):
    connection = sync(world_a, "freshdesk")

    assert connection.status == HelpdeskSyncStatus.OK, connection.last_error
    tickets = [r for r in freshdesk.requests if r["path"] == "/api/v2/tickets"]
    assert len(tickets) == 2 and tickets[0]["query"]["include"] == "stats" and tickets[1]["query"]["page"] == "2"
    rep, rep2, w1 = "rep@acme.example", "rep2@acme.example", W1.isoformat()
    assert weekly(world_a) == {
        # Riley: #1 (Extremely happy, 1 h first response, 4 h to resolve), #2 (Very unhappy, 30 min, 2 h).
        (rep, "csat", w1): 50.0, (rep, "first_reply_time", w1): 2700.0, (rep, "resolution_time", w1): 10800.0,
        # Sam: #4 (unrated, 15 min, 1 h).
        (rep2, "first_reply_time", w1): 900.0, (rep2, "resolution_time", w1): 3600.0,
    }
    assert "Happy / Extremely happy" in connection.last_import.definitions["csat"]

    # A rating for Sam's unchanged ticket arrives later: merged into the stored ticket, week redone.
    freshdesk.ratings.append({"id": 3, "survey_id": 1, "ticket_id": 4, "agent_id": 502,
                              "ratings": {"default_question": 101}, "created_at": iso(at(W1, 4, "09:00"))})
    again = sync(world_a, "freshdesk")
    assert again.last_counts["fetched"] <= 1  # at most the boundary ticket, read again harmlessly
    assert weekly(world_a)[(rep2, "csat", w1)] == 100.0
    assert weekly(world_a)[(rep, "csat", w1)] == 50.0  # Riley's ratings kept


def test_a_next_page_on_another_host_is_never_followed(world_a, freshdesk):
    freshdesk.foreign_next = True
    connection = sync(world_a, "freshdesk")
    assert connection.status == HelpdeskSyncStatus.FAILED
    assert "pointed the next page at another host" in connection.last_error
    assert not values_of(world_a)


# --- Intercom --------------------------------------------------------------------------------------

IC_TOKEN = "ic-AccessToken-zzz999"


def ic_conversation(cid, admin, closed, *, assignments=1, handling=None, rating=None, state="closed"):
    return {
        "type": "conversation", "id": str(cid), "state": state, "admin_assignee_id": admin,
        "created_at": epoch(closed or at(W1, 0)) - 3600, "_updated": epoch(closed or at(W1, 0)) + 10,
        "statistics": {"type": "conversation_statistics", "last_close_at": epoch(closed) if closed else None,
                       "count_assignments": assignments, "handling_time": handling, "time_to_last_close": 3600},
        "conversation_rating": {"rating": rating, "remark": None} if rating else None,
    }


def test_intercom_pull_pages_the_search_and_writes_hand_computed_weeks(world_a, vendor_servers):
    desk = vendor_servers.add("intercom", "api", Desk(
        token=IC_TOKEN, page_size=2,
        users=[{"type": "admin", "id": "7001", "email": "rep@acme.example", "name": "Riley"},
               {"type": "admin", "id": "7002", "email": "rep2@acme.example", "name": "Sam"}],
        tickets=[
            ic_conversation(1, 7001, at(W1, 1), assignments=1, handling=300, rating=5),
            ic_conversation(2, 7001, at(W1, 2), assignments=2, handling=600, rating=2),
            ic_conversation(3, 7001, at(W1, 3), assignments=1, handling=900),
            ic_conversation(4, 7002, None, state="open", handling=100, rating=1),
            ic_conversation(5, 7002, at(W2, 1), assignments=3, handling=120, rating=4),
        ],
    ))
    connect(world_a, "intercom", IC_TOKEN)
    connection = sync(world_a, "intercom")

    assert connection.status == HelpdeskSyncStatus.OK, connection.last_error
    searches = [r for r in desk.requests if r["path"] == "/conversations/search"]
    assert len(searches) == 3 and "starting_after" in searches[1]["body"]["pagination"]
    rep, rep2, w1, w2 = "rep@acme.example", "rep2@acme.example", W1.isoformat(), W2.isoformat()
    assert weekly(world_a) == {
        # Riley, week 1: #1–#3 closed. Reassigned: #2 (2 assignments) → 1/3. Handling (300+600+900)/3.
        # CSAT: ratings 5 and 2 → one of two is 4–5.
        (rep, "escalation_rate", w1): 33.3333, (rep, "avg_handling_time", w1): 600.0, (rep, "csat", w1): 50.0,
        # Sam: #4 is open (no week); #5 closed in week 2, 3 assignments, rating 4.
        (rep2, "escalation_rate", w2): 100.0, (rep2, "avg_handling_time", w2): 120.0, (rep2, "csat", w2): 100.0,
    }
    assert connection.cursor["updated_after"] == max(t["_updated"] for t in desk.tickets)


def test_a_freshdesk_window_longer_than_its_page_limit_is_read_in_several(world_a, freshdesk, settings):
    # Freshdesk lists at most 300 pages per query; here 1 page of 2, so four tickets need three windows.
    freshdesk.max_page = settings.HELPDESK_FRESHDESK_PAGE_LIMIT = 1
    connection = sync(world_a, "freshdesk")

    assert connection.status == HelpdeskSyncStatus.OK, connection.last_error
    windows = [r["query"]["updated_since"] for r in freshdesk.requests if r["path"] == "/api/v2/tickets"]
    assert len(windows) == 3 and len(set(windows)) == 3
    assert connection.last_counts["fetched"] == 4
    assert weekly(world_a)[("rep2@acme.example", "first_reply_time", W1.isoformat())] == 900.0


def test_a_reopened_ticket_leaves_its_week_even_when_it_was_the_only_one(world_a, zendesk):
    sync(world_a, "zendesk")
    zendesk.touch(6, status="open")  # Riley's only week-2 ticket is reopened: no longer solved
    connection = sync(world_a, "zendesk")

    assert connection.status == HelpdeskSyncStatus.OK, connection.last_error
    assert not [k for k in values_of(world_a) if k[2] == W2.isoformat()]
    assert connection.last_counts["removed"] == 4
    assert weekly(world_a)[("rep@acme.example", "csat", W1.isoformat())] == 50.0


def test_an_exhausted_rate_limit_window_is_waited_out_before_the_next_page(world_a, zendesk):
    # Zendesk's first page says the window is spent and resets in a second.
    zendesk.next_headers.append({"X-Rate-Limit-Remaining": "0", "ratelimit-reset": "1"})
    connection = sync(world_a, "zendesk")
    assert connection.status == HelpdeskSyncStatus.OK
    assert connection.last_counts["waited_s"] == 1.0
    assert weekly(world_a) == zendesk_expected("acme")


def test_the_task_is_a_no_op_for_a_connection_or_tenant_that_is_gone(world_a, zendesk):
    assert pull_helpdesk.delay(tenant_id=world_a.tenant.id, connection_id=987654).get() == "gone"
    assert pull_helpdesk.delay(tenant_id=987654, connection_id=1).get() == "no_tenant"
    assert not zendesk.requests


def test_a_sync_already_running_elsewhere_is_left_alone(world_a, zendesk):
    with tenant_context(world_a.tenant):
        HelpdeskConnection.objects.for_tenant(world_a.tenant).update(status=HelpdeskSyncStatus.RUNNING)
    assert sync(world_a, "zendesk").status == HelpdeskSyncStatus.RUNNING
    assert not zendesk.requests and not values_of(world_a)


@pytest.mark.parametrize("vendor", ["freshdesk", "intercom"])
def test_freshdesk_and_intercom_tokens_are_never_logged_either(world_a, vendor_servers, vendor, caplog):
    token = f"{vendor}-S3cret-token-42"
    if vendor == "freshdesk":
        desk = vendor_servers.add("freshdesk", "acme", Desk(token=token, tickets=[
            fd_ticket(1, 501, at(W1, 0, "09:00"), at(W1, 0, "13:00"))]))
        connect(world_a, "freshdesk", token, subdomain="acme")
    else:
        desk = vendor_servers.add("intercom", "api", Desk(token=token, tickets=[
            ic_conversation(1, 7001, at(W1, 1), handling=300, rating=5)]))
        connect(world_a, "intercom", token)
    caplog.set_level(logging.DEBUG)
    sync(world_a, vendor)  # the agent isn't known: held for mapping
    desk.revoke_after = 0
    refused = sync(world_a, vendor)
    assert "refused the API token (401)" in refused.last_error
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "helpdesk sync" in logged and token not in logged


def test_the_manager_sees_pulled_numbers_on_the_scorecard_with_their_definitions(world_a, zendesk, client_for):
    sync(world_a, "zendesk")
    html = client_for(world_a.member("manager")).get(
        reverse("scorecard", args=[world_a.tenant.slug]), {"week": W1.isoformat()}).content.decode()
    assert "How the KPIs of this week are computed" in html
    assert "escalation = share of solved tickets with group_stations &gt; 1" in html
    assert "from a Zendesk API ticket_metrics" in html


def test_a_big_first_sync_commits_in_parts_each_resuming_where_the_last_stopped(
    world_a, zendesk, settings, django_capture_on_commit_callbacks
):
    settings.HELPDESK_SYNC_MAX_RECORDS = 2  # one page of two tickets a run
    with django_capture_on_commit_callbacks(execute=True):
        sync(world_a, "zendesk")
    pages = [r for r in zendesk.requests if r["path"].endswith("cursor.json")]
    assert len(pages) == 3 and "start_time" in pages[0]["query"]
    assert pages[1]["query"]["cursor"] and pages[2]["query"]["cursor"] != pages[1]["query"]["cursor"]
    assert weekly(world_a) == zendesk_expected("acme")
    with tenant_context(world_a.tenant):
        connection = HelpdeskConnection.objects.for_tenant(world_a.tenant).get(vendor="zendesk")
        assert KpiImport.objects.for_tenant(world_a.tenant).count() == 3  # one committed part each
    assert connection.status == HelpdeskSyncStatus.OK and connection.last_counts["more"] is False


def test_a_big_freshdesk_window_commits_in_parts(world_a, freshdesk, settings, django_capture_on_commit_callbacks):
    settings.HELPDESK_SYNC_MAX_RECORDS = 2
    # Sam's ticket (#4, pulled by the second run) was rated before Riley's #2 was, which the first run
    # reads: the rating still counts when #4 arrives.
    freshdesk.ratings[1]["created_at"] = iso(at(W1, 5, "12:00"))
    freshdesk.ratings.append({"id": 3, "survey_id": 1, "ticket_id": 4, "agent_id": 502,
                              "ratings": {"default_question": -101}, "created_at": iso(at(W1, 3, "11:00"))})
    with django_capture_on_commit_callbacks(execute=True):
        sync(world_a, "freshdesk")
    windows = [r["query"].get("updated_since") for r in freshdesk.requests if r["path"] == "/api/v2/tickets"]
    assert len(set(w for w in windows if w)) >= 2  # the second run started from where the first stopped
    assert weekly(world_a)[("rep2@acme.example", "first_reply_time", W1.isoformat())] == 900.0
    assert weekly(world_a)[("rep@acme.example", "csat", W1.isoformat())] == 50.0
    assert weekly(world_a)[("rep2@acme.example", "csat", W1.isoformat())] == 0.0
