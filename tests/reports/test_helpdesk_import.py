"""Ticket- and call-level exports of eight help desks, recognised from their headers and aggregated to
weekly per-rep KPIs with the definition recorded; agents mapped per source; exact line numbers for bad
cells; nothing written until the whole file is good. Expected values are worked out by hand."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse

from coachhub.core.errors import ApplicationError
from coachhub.tenancy.context import tenant_context
from reports import services
from reports.helpdesk.presets import detect
from reports.helpdesk.reading import WEEKLY
from reports.helpdesk.services import agent_mappings_save
from reports.models import HelpdeskAgentMapping, KpiImportStatus, KpiValue
from tests.reports.factories import commit, csv_bytes, last_monday, preview, values_of

pytestmark = pytest.mark.django_db

W1, W2 = last_monday(3), last_monday(2)


def at(week, day: int, clock: str = "10:00") -> datetime:
    return datetime.combine(week + timedelta(days=day), time.fromisoformat(clock))


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def emails(world):
    return world.member("rep").user.email, world.rep2.user.email


def map_agents(world, source_name: str, choices: list[tuple[str, str]], role: str = "manager"):
    member = world.member(role)
    member.tenant = world.tenant
    with tenant_context(world.tenant):
        source = services.kpi_source_save(tenant=world.tenant, actor=member.user, name=source_name)
        return agent_mappings_save(tenant=world.tenant, actor=member.user, membership=member, source=source,
                                   choices=choices)


def custom_kpis(world, *keys: str):
    with tenant_context(world.tenant):
        for key in keys:
            services.kpi_metric_create(tenant=world.tenant, actor=world.member("tenant_admin").user, key=key,
                                       label=key.replace("_", " ").capitalize(), unit="seconds",
                                       higher_is_better=False, min_value=0)


def week_values(world) -> dict:
    return {k: round(v, 4) for k, v in values_of(world).items()}


# --- Zendesk ---------------------------------------------------------------------------------------

ZENDESK_HEADER = ("Id,Subject,Assignee,Group,Created at,Solved at,Satisfaction Score,Group stations,"
                  "Assignee stations,Reopens,Replies,First reply time in minutes,Full resolution time in minutes")


def zendesk_file(world) -> bytes:
    _, rep2 = emails(world)
    rows = [
        # Riley Rep (a name: mapped by the manager to rep)
        ("101", "Refund", "Riley Rep", "Tier 1", at(W1, 1, "09:00"), at(W1, 1), "Good", 1, 1, 0, 1, 12, 60),
        ("102", "Broken", "Riley Rep", "Tier 1", at(W1, 2, "09:00"), at(W1, 2), "Bad", 2, 2, 0, 3, 30, 300),
        ("103", "Login", "Riley Rep", "Tier 1", at(W1, 3, "09:00"), at(W1, 3), "Offered", 1, 1, 1, 1, 5, 40),
        ("104", "Open", "Riley Rep", "Tier 1", at(W1, 3, "09:00"), None, "Good", 1, 1, 0, 0, "", ""),
        ("105", "Thanks", "Riley Rep", "Tier 1", at(W2, 0, "09:00"), at(W2, 0), "Good", 1, 1, 0, 0, 2, 20),
        # rep2 by e-mail: known without mapping
        ("106", "Escalated", rep2, "Tier 2", at(W1, 4, "09:00"), at(W1, 4), "Not Offered", 3, 2, 0, 1, 8, 90),
        ("107", "Shipping", rep2, "Tier 2", at(W1, 5, "09:00"), at(W1, 5, "12:00"), "Good", 1, 1, 0, 2, 9, 45),
    ]
    lines = [ZENDESK_HEADER]
    for r in rows:
        lines.append(",".join(iso(c) if isinstance(c, datetime) else ("" if c is None else str(c)) for c in r))
    return csv_bytes(lines)


def test_zendesk_export_is_recognised_agents_mapped_then_weekly_values_committed(
    world_a, django_capture_on_commit_callbacks
):
    rep, rep2 = emails(world_a)
    kpi_import = preview(world_a, zendesk_file(world_a), source="Zendesk", column_mapping={"timezone": "UTC"})
    assert kpi_import.preset == "zendesk_tickets" and kpi_import.preset_confidence >= 0.8
    assert kpi_import.notices[0].startswith("Read as a Zendesk ticket export (recognised from the header;")
    # The unknown name is listed once with its rows (the unsolved ticket counts in no week); not guessed.
    assert kpi_import.unknown_agents == [{"agent": "Riley Rep", "rows": 4, "line": 2}]
    assert any("unknown agent “Riley Rep” (4 rows)" in e["message"] for e in kpi_import.errors)
    assert any("1 row(s) have no Solved at" in n for n in kpi_import.notices)
    assert values_of(world_a) == {}

    assert map_agents(world_a, "Zendesk", [("Riley Rep", str(world_a.member("rep").id))]) == 1
    with tenant_context(world_a.tenant):
        kpi_import = services.kpi_import_preview(tenant=world_a.tenant, membership=world_a.member("manager"),
                                                 kpi_import=kpi_import)
    assert kpi_import.error_count == 0, kpi_import.errors
    assert kpi_import.unknown_agents == []
    assert (kpi_import.total_rows, kpi_import.created_count) == (7, 9)
    assert {(r["rep"], r["metric"], r["period_start"]): r["value"] for r in kpi_import.sample}[
        ("Riley Rep", "csat", W1.isoformat())] == 50.0

    kpi_import = commit(world_a, kpi_import, django_capture_on_commit_callbacks)
    assert kpi_import.status == KpiImportStatus.COMMITTED
    w1, w2 = W1.isoformat(), W2.isoformat()
    assert week_values(world_a) == {
        # Riley, week 1: 3 solved tickets; escalated 1 (2 group stations); CSAT Good/(Good+Bad) = 1/2;
        # one-touch (≤1 reply, no reopen) only ticket 101.
        (rep, "escalation_rate", w1): 33.3333, (rep, "csat", w1): 50.0, (rep, "first_contact_resolution", w1): 33.3333,
        (rep, "escalation_rate", w2): 0.0, (rep, "csat", w2): 100.0, (rep, "first_contact_resolution", w2): 100.0,
        # rep2: 106 escalated (3 stations), Not Offered is unrated; 107 had 2 replies.
        (rep2, "escalation_rate", w1): 50.0, (rep2, "csat", w1): 100.0, (rep2, "first_contact_resolution", w1): 50.0,
    }
    assert kpi_import.definitions["escalation_rate"].startswith(
        "escalation = share of solved tickets with Group stations > 1")
    assert "CSAT = Good / (Good + Bad)" in kpi_import.definitions["csat"]
    assert "ISO week (Monday–Sunday) of the solved time in UTC" in kpi_import.definitions["csat"]
    assert any("first_reply_time" in n for n in kpi_import.notices)  # not handling time: a KPI of its own


def test_the_saved_agent_mapping_is_used_by_the_next_export_of_the_same_source_only(world_a):
    map_agents(world_a, "Zendesk", [("Riley Rep", str(world_a.member("rep").id))])
    assert preview(world_a, zendesk_file(world_a), source="Zendesk").error_count == 0
    other = preview(world_a, zendesk_file(world_a), source="Zendesk (EU)")
    assert [a["agent"] for a in other.unknown_agents] == ["Riley Rep"]


def test_an_ignored_agent_is_left_out_and_said_so(world_a):
    map_agents(world_a, "Zendesk", [("riley rep", "ignore")])
    kpi_import = preview(world_a, zendesk_file(world_a), source="Zendesk")
    assert kpi_import.error_count == 0
    assert "4 row(s) of ignored agents were left out." in kpi_import.notices
    assert {r["rep"] for r in kpi_import.sample} == {world_a.rep2.user.email}


def test_a_manager_can_only_map_agents_to_their_own_reps(world_a):
    with pytest.raises(ApplicationError, match="only be mapped to a member you import KPIs for"):
        map_agents(world_a, "Zendesk", [("Riley Rep", str(world_a.loner.id))])
    with tenant_context(world_a.tenant):
        assert not HelpdeskAgentMapping.objects.for_tenant(world_a.tenant).exists()


def test_bad_cells_are_reported_on_their_exact_lines_and_nothing_is_written(world_a, django_capture_on_commit_callbacks):
    rep, rep2 = emails(world_a)
    future = at(last_monday(-3), 1)
    raw = csv_bytes([
        ZENDESK_HEADER,
        f'1,"Two-line\nsubject",{rep},T1,{iso(at(W1, 0))},{iso(at(W1, 1))},Good,1,1,0,1,5,5',  # lines 2–3
        f"2,Fine,{rep},T1,{iso(at(W1, 0))},{iso(at(W1, 1))},Great,two,1,0,1,5,5",  # line 4
        f"3,Fine,{rep2},T1,{iso(at(W1, 0))},yesterday,Bad,1,1,0,1,5,5",  # line 5
        f"4,Fine,{rep2},T1,{iso(at(W1, 0))},{iso(future)},Bad,1,1,0,1,5,5",  # line 6
    ])
    kpi_import = preview(world_a, raw, column_mapping={"timezone": "UTC"})
    assert kpi_import.error_count == 4
    assert [(e["line"], e["column"], e["message"]) for e in kpi_import.errors] == [
        (4, "Group stations", "“two” is not a number"),
        (4, "Satisfaction Score",
         "“Great” is not a satisfaction rating (good, bad, or blank / Offered / Not Offered)"),
        (5, "Solved at", "“yesterday” is not a date and time"),
        (6, "Solved at", f"“{iso(future)}” is in the future"),
    ]
    with pytest.raises(ApplicationError, match="4 problem"):
        commit(world_a, kpi_import, django_capture_on_commit_callbacks)
    assert values_of(world_a) == {}


def test_a_line_with_too_many_columns_names_its_line(world_a):
    rep, _ = emails(world_a)
    raw = csv_bytes([ZENDESK_HEADER, f"1,A,{rep},T1,{iso(at(W1, 0))},{iso(at(W1, 1))},Good,1,1,0,1,5,5",
                     f"2,A,{rep},T1,{iso(at(W1, 0))},{iso(at(W1, 1))},Good,1,1,0,1,5,5,extra"])
    kpi_import = preview(world_a, raw)
    assert kpi_import.errors == [{"line": 3, "column": "", "message": "This line has 14 column(s); the header has 13."}]


def test_the_source_can_choose_the_export_or_insist_on_weekly_values(world_a):
    rep, _ = emails(world_a)
    thin = csv_bytes(["Assignee,Solved at,Group stations", f"{rep},{iso(at(W1, 1))},2"])
    assert detect(["Assignee", "Solved at", "Group stations"])[0].confidence < 0.6
    weekly = preview(world_a, thin, source="Thin")  # too few columns to be sure: read as a weekly file
    assert weekly.preset == "" and weekly.error_count == 1 and "Missing column(s)" in weekly.errors[0]["message"]
    chosen = preview(world_a, thin, source="Thin", column_mapping={"preset": "zendesk_tickets"})
    assert chosen.preset == "zendesk_tickets" and chosen.error_count == 0
    assert "chosen on the source" in chosen.notices[0]
    assert [(r["metric"], r["value"]) for r in chosen.sample] == [("escalation_rate", 100.0)]
    forced = preview(world_a, zendesk_file(world_a), source="Weekly", column_mapping={"preset": WEEKLY})
    assert forced.preset == "" and "Missing column(s)" in forced.errors[0]["message"]


def test_an_unknown_time_zone_on_the_source_is_refused(world_a):
    with pytest.raises(ApplicationError, match="Unknown time zone “Mars/Olympus”"):
        preview(world_a, zendesk_file(world_a), column_mapping={"timezone": "Mars/Olympus"})


# --- Intercom: zone from the header, weeks in the source's zone ---------------------------------------

def test_intercom_conversations_with_the_zone_in_the_header(world_a, django_capture_on_commit_callbacks):
    rep, _ = emails(world_a)
    header = ("Conversation ID,Conversation started at (America/New_York),Conversation last closed at "
              "(America/New_York),Teammate currently assigned,First response time (seconds),Handling time (seconds),"
              "Time to close (seconds),Number of reassignments,Resolved on first contact,Conversation rating")
    sunday_late = at(W1, 6, "17:00")  # 23:00 in Berlin: still week 1
    sunday_later = at(W1, 6, "20:00")  # 02:00 Monday in Berlin: week 2
    raw = csv_bytes([
        header,
        f"c1,{iso(at(W1, 1, '09:00'))},{iso(at(W1, 1))},{rep},30,300,3600,0,true,5",
        f"c2,{iso(at(W1, 6, '09:00'))},{iso(sunday_late)},{rep},60,500,7200,2,false,3",
        f"c3,{iso(at(W1, 6, '09:00'))},{iso(sunday_later)},{rep},20,240,600,0,true,",
    ])
    kpi_import = preview(world_a, raw, source="Intercom", column_mapping={"timezone": "Europe/Berlin"})
    assert kpi_import.preset == "intercom_conversations", kpi_import.notices
    assert "Times in America/New_York; weeks in Europe/Berlin." in kpi_import.notices[0]
    commit(world_a, kpi_import, django_capture_on_commit_callbacks)
    w1, w2 = W1.isoformat(), W2.isoformat()
    assert week_values(world_a) == {
        (rep, "avg_handling_time", w1): 400.0, (rep, "escalation_rate", w1): 50.0,
        (rep, "first_contact_resolution", w1): 50.0, (rep, "csat", w1): 50.0,  # 5 counts, 3 doesn't
        (rep, "avg_handling_time", w2): 240.0, (rep, "escalation_rate", w2): 0.0,
        (rep, "first_contact_resolution", w2): 100.0,  # no rating that week: no CSAT value
    }
    assert "share of 4–5 conversation ratings" in kpi_import.definitions["csat"]
    assert "(times read in America/New_York)" in kpi_import.definitions["csat"]


# --- Freshdesk: HH:MM:SS hours into a tenant's own KPI ---------------------------------------------------

def test_freshdesk_ticket_export(world_a, django_capture_on_commit_callbacks):
    _, rep2 = emails(world_a)
    custom_kpis(world_a, "resolution_time")
    map_agents(world_a, "Freshdesk", [("Sam Two", str(world_a.rep2.id))])
    header = ("Ticket ID,Subject,Status,Priority,Source,Agent,Group,Created time,Resolved time,"
              "First response time (in hrs),Resolution time (in hrs),Agent interactions,Survey results")
    raw = csv_bytes([
        header,
        f"1,A,Closed,Low,Email,Sam Two,Billing,{iso(at(W1, 0, '09:00'))},{iso(at(W1, 0, '11:30'))},00:15:00,02:30:00,1,Extremely happy",
        f"2,B,Resolved,Low,Email,Sam Two,Billing,{iso(at(W1, 0, '09:00'))},{iso(at(W1, 1, '11:00'))},01:00:00,26:00:00,3,Neutral",
        f"3,C,Resolved,Low,Email,Sam Two,Billing,{iso(at(W1, 2, '09:00'))},{iso(at(W1, 2, '10:30'))},0.5,1.5,1,",
    ])
    kpi_import = preview(world_a, raw, source="Freshdesk", column_mapping={"timezone": "UTC"})
    assert kpi_import.preset == "freshdesk_tickets" and kpi_import.error_count == 0, kpi_import.errors
    commit(world_a, kpi_import, django_capture_on_commit_callbacks)
    w1 = W1.isoformat()
    assert week_values(world_a) == {
        (rep2, "resolution_time", w1): 36000.0,  # (2.5 h + 26 h + 1.5 h) / 3 = 10 h
        (rep2, "csat", w1): 50.0,  # Extremely happy vs Neutral; the blank survey doesn't count
        (rep2, "first_contact_resolution", w1): 66.6667,
    }


# --- Salesforce, HubSpot ---------------------------------------------------------------------------------

def test_salesforce_case_report_with_us_dates(world_a, django_capture_on_commit_callbacks):
    rep, _ = emails(world_a)

    def us(moment: datetime) -> str:
        return f"{moment.month}/{moment.day}/{moment.year} {moment.strftime('%I:%M %p').lstrip('0')}"

    raw = csv_bytes([
        "Case Number,Subject,Status,Case Owner,Escalated,Date/Time Opened,Date/Time Closed",
        f"00001001,A,Closed,{rep},1,{us(at(W1, 1, '08:00'))},{us(at(W1, 1, '14:05'))}",
        f"00001002,B,Closed,{rep},0,{us(at(W1, 2, '08:00'))},{us(at(W1, 2, '09:00'))}",
        f"00001003,C,Closed,{rep},0,{us(at(W1, 3, '08:00'))},{us(at(W1, 4, '16:45'))}",
    ])
    kpi_import = preview(world_a, raw, source="Salesforce", date_format="mdy")
    assert kpi_import.preset == "salesforce_cases" and kpi_import.error_count == 0, kpi_import.errors
    commit(world_a, kpi_import, django_capture_on_commit_callbacks)
    assert week_values(world_a) == {(rep, "escalation_rate", W1.isoformat()): 33.3333}


def test_salesforce_agentwork_by_user_id(world_a, django_capture_on_commit_callbacks):
    rep_member = world_a.member("rep")
    with tenant_context(world_a.tenant):
        rep_member.external_id = "0058d000001AbCd"
        rep_member.save(update_fields=["external_id"])
    raw = csv_bytes([
        "Id,WorkItemId,UserId,ServiceChannelId,AcceptDateTime,CloseDateTime,HandleTime,ActiveTime",
        f"0Bz1,5001,0058d000001AbCd,0N9,{at(W1, 1):%Y-%m-%dT%H:%M:%S}.000Z,{at(W1, 1, '10:05'):%Y-%m-%dT%H:%M:%S}.000Z,300,280",
        f"0Bz2,5002,0058d000001AbCd,0N9,{at(W1, 2):%Y-%m-%dT%H:%M:%S}.000Z,{at(W1, 2, '10:10'):%Y-%m-%dT%H:%M:%S}.000Z,600,590",
    ])
    kpi_import = preview(world_a, raw, source="Omni-Channel", column_mapping={"timezone": "UTC"})
    assert kpi_import.preset == "salesforce_agentwork" and kpi_import.error_count == 0, kpi_import.errors
    commit(world_a, kpi_import, django_capture_on_commit_callbacks)
    assert week_values(world_a) == {(rep_member.user.email, "avg_handling_time", W1.isoformat()): 450.0}


def test_hubspot_tickets_in_milliseconds(world_a, django_capture_on_commit_callbacks):
    _, rep2 = emails(world_a)
    custom_kpis(world_a, "first_reply_time", "resolution_time")
    with tenant_context(world_a.tenant):
        world_a.rep2.external_id = "9876543"
        world_a.rep2.save(update_fields=["external_id"])
    epoch_ms = int(at(W1, 3).replace(tzinfo=__import__("datetime").timezone.utc).timestamp() * 1000)
    raw = csv_bytes([
        "hs_object_id,subject,hubspot_owner_id,createdate,closed_date,time_to_close,time_to_first_agent_reply,hs_pipeline_stage",
        f"1,A,9876543,{at(W1, 1, '08:00'):%Y-%m-%dT%H:%M:%SZ},{at(W1, 1):%Y-%m-%dT%H:%M:%SZ},3600000,600000,4",
        f"2,B,9876543,{at(W1, 3, '08:00'):%Y-%m-%dT%H:%M:%SZ},{epoch_ms},7200000,1200000,4",
    ])
    kpi_import = preview(world_a, raw, source="HubSpot", column_mapping={"timezone": "UTC"})
    assert kpi_import.preset == "hubspot_tickets" and kpi_import.error_count == 0, kpi_import.errors
    commit(world_a, kpi_import, django_capture_on_commit_callbacks)
    assert week_values(world_a) == {
        (rep2, "resolution_time", W1.isoformat()): 5400.0, (rep2, "first_reply_time", W1.isoformat()): 900.0,
    }
    assert "milliseconds" in kpi_import.definitions["resolution_time"]


# --- contact centres: talk + hold + after-call work ---------------------------------------------------

@pytest.mark.parametrize(("source", "preset", "header", "rows"), [
    ("Talkdesk", "talkdesk_contacts",
     "Interaction ID,Direction,Started At,User Name,User Email,Talk Time,Hold Time,After Call Work Time,Handle Time,Transfer Out",
     ["t1,inbound,{d1},Riley,{rep},00:05:00,00:01:00,00:00:30,00:06:30,No",
      "t2,inbound,{d2},Riley,{rep},00:03:00,,00:01:00,00:04:00,Yes"]),
    ("Genesys", "genesys_interactions",
     "Interval Start,Users,Agent Email,Queue,nConnected,tHandle,tTalk,tHeld,tAcw,nTransferred",
     ["{d1},Riley,{rep},Support,1,390000,300000,60000,30000,0",
      "{d2},Riley,{rep},Support,1,240000,180000,0,60000,1"]),
    ("Five9", "five9_call_log",
     "CALL ID,TIMESTAMP,CAMPAIGN,CALL TYPE,AGENT,AGENT EMAIL,DISPOSITION,TALK TIME,HOLD TIME,AFTER CALL WORK TIME,HANDLE TIME,TRANSFERS",
     ["f1,\"{f1}\",Inbound,Inbound,{rep},{rep},Resolved,0:05:00,0:01:00,0:00:30,0:06:30,0",
      "f2,\"{f2}\",Inbound,Inbound,{rep},{rep},Transferred,0:03:00,0:00:00,0:01:00,0:04:00,2"]),
])
def test_contact_centre_call_exports(world_a, django_capture_on_commit_callbacks, source, preset, header, rows):
    rep, _ = emails(world_a)
    one, two = at(W1, 1), at(W1, 3)
    fields = {"rep": rep, "d1": iso(one), "d2": iso(two),
              "f1": one.strftime("%a, %d %b %Y %H:%M:%S"), "f2": two.strftime("%a, %d %b %Y %H:%M:%S")}
    raw = csv_bytes([header, *(row.format(**fields) for row in rows)])
    kpi_import = preview(world_a, raw, source=source, column_mapping={"timezone": "UTC"})
    assert kpi_import.preset == preset and kpi_import.error_count == 0, (kpi_import.notices, kpi_import.errors)
    commit(world_a, kpi_import, django_capture_on_commit_callbacks)
    # (5:00 + 1:00 + 0:30) and (3:00 + 0 + 1:00): 390 s and 240 s; one of two calls transferred.
    assert week_values(world_a) == {(rep, "avg_handling_time", W1.isoformat()): 315.0,
                                    (rep, "escalation_rate", W1.isoformat()): 50.0}
    assert kpi_import.definitions["escalation_rate"].startswith("escalation = share of")


# --- pages -------------------------------------------------------------------------------------------

def test_the_manager_maps_an_unknown_agent_on_the_import_page(world_a, client_for):
    kpi_import = preview(world_a, zendesk_file(world_a), source="Zendesk")
    client = client_for(world_a.member("manager"))
    page = client.get(reverse("kpi_import_detail", args=[world_a.tenant.slug, kpi_import.id]))
    html = page.content.decode()
    assert "Read as a Zendesk ticket export" in html and "Riley Rep" in html
    assert world_a.loner.user.email not in html  # not one of the manager's reps: not offered
    response = client.post(reverse("kpi_import_agents", args=[world_a.tenant.slug, kpi_import.id]),
                           {"agent_0_name": "Riley Rep", "agent_0": str(world_a.member("rep").id)})
    assert response.status_code == 302
    kpi_import.refresh_from_db()
    assert kpi_import.error_count == 0 and kpi_import.unknown_agents == []
    html = client.get(reverse("kpi_import_detail", args=[world_a.tenant.slug, kpi_import.id])).content.decode()
    assert "How the weekly values are computed" in html and "Commit the import" in html
    with tenant_context(world_a.tenant):
        assert not KpiValue.objects.for_tenant(world_a.tenant).exists()


def test_the_scorecard_shows_each_kpis_definition_and_warns_when_last_week_was_computed_differently(
    world_a, client_for, django_capture_on_commit_callbacks
):
    rep, _ = emails(world_a)
    # The week before: escalation as a weekly number typed into a spreadsheet.
    weekly = preview(world_a, csv_bytes(["rep_email,period_start,metric,value",
                                         f"{rep},{W1.isoformat()},escalation_rate,10%"]), source="Sheet")
    commit(world_a, weekly, django_capture_on_commit_callbacks)
    # This week: computed from a Zendesk export.
    raw = csv_bytes([ZENDESK_HEADER, f"1,A,{rep},T1,{iso(at(W2, 0))},{iso(at(W2, 1))},Good,2,1,0,1,5,5",
                     f"2,B,{rep},T1,{iso(at(W2, 0))},{iso(at(W2, 2))},Good,1,1,0,1,5,5"])
    commit(world_a, preview(world_a, raw, source="Zendesk", column_mapping={"timezone": "UTC"}),
           django_capture_on_commit_callbacks)
    html = client_for(world_a.member("manager")).get(
        reverse("scorecard", args=[world_a.tenant.slug]), {"week": W2.isoformat()}).content.decode()
    assert "How the KPIs of this week are computed" in html
    assert "escalation = share of solved tickets with Group stations &gt; 1" in html
    assert ("Escalation rate was computed differently in the week before (as given in an uploaded weekly file): "
            "the change shown compares different definitions.") in html
    insights = client_for(world_a.member("manager")).get(
        reverse("insights", args=[world_a.tenant.slug]), {"month": f"{W2:%Y-%m}"}).content.decode()
    assert "How the KPIs of this month are computed" in insights and "CSAT = Good / (Good + Bad)" in insights


def test_the_api_reports_the_export_its_definitions_and_unknown_agents(world_a, client_for):
    from tests.reports.factories import upload

    manager = client_for(world_a.member("manager"))
    response = manager.post(f"/api/v1/t/{world_a.tenant.slug}/kpi-imports/",
                            {"file": upload(zendesk_file(world_a), "tickets.csv"), "source": "Zendesk"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["preset"] == "zendesk_tickets" and body["preset_confidence"] >= 0.8
    assert body["unknown_agents"] == [{"agent": "Riley Rep", "rows": 4, "line": 2}]
    assert set(body["definitions"]) == {"escalation_rate", "csat", "first_contact_resolution"}
    assert body["ok"] is False


def test_intercom_conversations_joined_with_their_csat_file(world_a, django_capture_on_commit_callbacks):
    from tests.reports.factories import upload

    rep, rep2 = emails(world_a)
    conversations = csv_bytes([
        "Conversation ID,Conversation started at (UTC),Conversation last closed at (UTC),Teammate currently assigned,"
        "First response time (seconds),Handling time (seconds),Time to close (seconds),Number of reassignments,"
        "Resolved on first contact",
        f"101,{iso(at(W1, 1, '09:00'))},{iso(at(W1, 1))},{rep},30,300,600,0,true",
        f"102,{iso(at(W1, 2, '09:00'))},{iso(at(W1, 2))},{rep},30,300,600,0,true",
        f"103,{iso(at(W1, 3, '09:00'))},{iso(at(W1, 3))},{rep},30,300,600,1,false",
        f"104,{iso(at(W1, 3, '09:00'))},{iso(at(W1, 3))},{rep2},30,100,600,0,true",
    ])
    ratings = csv_bytes(["Conversation ID,Conversation rating,Rated at", "101,5,x", "102,2,x", "103,4,x", "999,1,x"])
    manager = world_a.member("manager")
    manager.tenant = world_a.tenant
    with tenant_context(world_a.tenant):
        source = services.kpi_source_save(tenant=world_a.tenant, actor=manager.user, name="Intercom",
                                          column_mapping={"timezone": "UTC"})
        kpi_import = services.kpi_import_upload(
            tenant=world_a.tenant, actor=manager.user, membership=manager, source=source,
            upload=upload(conversations), ratings=upload(ratings, "csat.csv"), dry_run=True)
    assert kpi_import.error_count == 0, kpi_import.errors
    assert "1 rating(s) in the ratings file are for conversations not in this export." in kpi_import.notices
    commit(world_a, kpi_import, django_capture_on_commit_callbacks)
    values = week_values(world_a)
    assert values[(rep, "csat", W1.isoformat())] == 66.6667  # rated 5, 2 and 4: two of three are 4–5
    assert (rep2, "csat", W1.isoformat()) not in values  # 104 wasn't rated
    assert values[(rep2, "avg_handling_time", W1.isoformat())] == 100.0
    assert "ratings joined from the ratings file by Conversation ID" in kpi_import.definitions["csat"]


def test_the_command_imports_a_call_log_with_the_export_and_zone_given_on_the_command_line(world_a, tmp_path, capsys):
    import json

    from django.core.management import CommandError, call_command

    rep, _ = emails(world_a)
    late = at(W1, 6, "23:30")  # Sunday 23:30 UTC (the Z says so) is Monday in Berlin: week 2
    path = tmp_path / "calls.csv"
    path.write_bytes(csv_bytes([
        "AGENT,TIMESTAMP,TALK TIME,HOLD TIME,AFTER CALL WORK TIME,TRANSFERS",
        f"{rep},{iso(at(W1, 1))},0:04:00,0:00:00,0:01:00,0",
        f"{rep},{late:%Y-%m-%dT%H:%M:%S}Z,0:02:00,0:00:30,0:00:30,1",
    ]))
    call_command("import_kpis", "--tenant", "acme", str(path), "--preset", "five9_call_log", "--timezone", "Europe/Berlin")
    summary = json.loads(capsys.readouterr().out)
    assert (summary["ok"], summary["rows"], summary["created"]) == (True, 2, 4)
    assert week_values(world_a) == {
        (rep, "avg_handling_time", W1.isoformat()): 300.0, (rep, "escalation_rate", W1.isoformat()): 0.0,
        (rep, "avg_handling_time", W2.isoformat()): 180.0, (rep, "escalation_rate", W2.isoformat()): 100.0,
    }
    with pytest.raises(CommandError, match="Unknown time zone “Nowhere/Land”"):
        call_command("import_kpis", "--tenant", "acme", str(path), "--preset", "five9_call_log", "--timezone", "Nowhere/Land")
