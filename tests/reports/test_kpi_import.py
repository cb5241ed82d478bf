"""KPI import: long and wide files, mapping, encodings and delimiters, every kind of bad file (which
changes nothing), re-imports, tenant and team boundaries, the background job, pages and API."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Membership
from reports import services, tasks
from reports.kpi.importing import metric_rules, write_rows
from reports.kpi.parsing import PeriodParser, monday_of
from reports.kpi.validation import ValidRows
from reports.models import KpiImport, KpiImportStatus, KpiMetric, KpiValue
from reports.selectors import kpi_source_get_by_name
from tests.reports.factories import commit, csv_bytes, last_monday, preview, upload, values_of

pytestmark = pytest.mark.django_db

WEEK = last_monday()
WEEK2 = last_monday(2)


def long_file(world, rows: list[tuple[str, str, str, str]], **kwargs) -> bytes:
    return csv_bytes(["rep_email,period_start,metric,value", *(",".join(r) for r in rows)], **kwargs)


def good_long(world) -> bytes:
    rep, rep2 = world.member("rep").user.email, world.rep2.user.email
    return long_file(world, [
        (rep, WEEK.isoformat(), "csat", "92%"),
        (rep, WEEK.isoformat(), "avg_handling_time", "6:05"),
        (rep2, WEEK.isoformat(), "escalation_rate", "12.5%"),
        (rep2, WEEK.isoformat(), "nps", "-20"),
    ])


# --- long and wide files ---------------------------------------------------------------------------


def test_long_file_previews_without_writing_then_commits(world_a, django_capture_on_commit_callbacks):
    kpi_import = preview(world_a, good_long(world_a))
    assert kpi_import.status == KpiImportStatus.PREVIEWED and kpi_import.error_count == 0
    assert (kpi_import.total_rows, kpi_import.created_count, kpi_import.updated_count) == (4, 4, 0)
    assert [row["change"] for row in kpi_import.sample] == ["new"] * 4
    assert values_of(world_a) == {}  # a dry run writes nothing

    kpi_import = commit(world_a, kpi_import, django_capture_on_commit_callbacks)
    assert kpi_import.status == KpiImportStatus.COMMITTED
    assert kpi_import.processed_rows == 4 and kpi_import.created_count == 4
    rep, rep2 = world_a.member("rep").user.email, world_a.rep2.user.email
    assert values_of(world_a) == {
        (rep, "csat", WEEK.isoformat()): 92.0,
        (rep, "avg_handling_time", WEEK.isoformat()): 365.0,
        (rep2, "escalation_rate", WEEK.isoformat()): 12.5,
        (rep2, "nps", WEEK.isoformat()): -20.0,
    }


def test_wide_file_with_a_saved_mapping(world_a, django_capture_on_commit_callbacks):
    rep, rep2 = world_a.member("rep"), world_a.rep2
    with tenant_context(world_a.tenant):
        for member, external_id in ((rep, "ZD-1001"), (rep2, "ZD-1002")):
            member.external_id = external_id
            member.save(update_fields=["external_id"])
    day = WEEK + timedelta(days=2)  # a Wednesday: stored as its week's Monday
    raw = csv_bytes([
        "Agent ID,Agent name,Week,CSAT,AHT,Escalation %,Tickets reopened",
        f"ZD-1001,Riley,{day:%d/%m/%Y},4.6,00:06:05,8.5%,3",
        f"zd-1002,Sam,{day:%d/%m/%Y},88%,410,10,",
    ])
    mapping = {"rep": "Agent ID", "rep_key": "external_id", "period": "Week", "metrics": {"Tickets reopened": "qa_score"}}
    kpi_import = preview(world_a, raw, source="Zendesk export", format="wide", date_format="dmy",
                         column_mapping=mapping)
    assert kpi_import.error_count == 0, kpi_import.errors
    assert kpi_import.notices == ["Ignored column(s) that aren't mapped to a metric: Agent name."]
    commit(world_a, kpi_import, django_capture_on_commit_callbacks)
    stored = values_of(world_a)
    email, email2 = rep.user.email, rep2.user.email
    assert stored[(email, "csat", WEEK.isoformat())] == pytest.approx(90.0)  # 4.6 on 1–5 → 90 on 0–100
    assert stored[(email, "avg_handling_time", WEEK.isoformat())] == 365.0
    assert stored[(email, "escalation_rate", WEEK.isoformat())] == 8.5
    assert stored[(email, "qa_score", WEEK.isoformat())] == 3.0
    assert stored[(email2, "csat", WEEK.isoformat())] == 88.0
    assert (email2, "qa_score", WEEK.isoformat()) not in stored  # an empty wide cell is no value
    with tenant_context(world_a.tenant):  # the mapping stays on the source for the next file
        saved = kpi_source_get_by_name(tenant=world_a.tenant, name="zendesk export")
    assert saved.column_mapping["rep"] == "Agent ID" and saved.date_format == "dmy"


def test_bom_semicolons_and_decimal_commas(world_a, django_capture_on_commit_callbacks):
    rep = world_a.member("rep").user.email
    raw = csv_bytes([
        "agent_email;week;CSAT;AHT;Escalation %",
        f"{rep.upper()};{WEEK.isoformat()};87,5%;365,5;1.234,5",
    ], bom=True, newline="\r\n")
    kpi_import = preview(world_a, raw)
    assert kpi_import.error_count == 1
    assert kpi_import.errors[0] == {
        "line": 2, "column": "Escalation %", "message": "Escalation rate must be between 0 and 100 (got 1.234,5)"
    }
    raw = raw.replace(b"1.234,5", b"7,25")
    kpi_import = preview(world_a, raw)
    assert kpi_import.error_count == 0, kpi_import.errors
    commit(world_a, kpi_import, django_capture_on_commit_callbacks)
    stored = values_of(world_a)
    assert stored[(rep, "csat", WEEK.isoformat())] == 87.5
    assert stored[(rep, "avg_handling_time", WEEK.isoformat())] == 365.5
    assert stored[(rep, "escalation_rate", WEEK.isoformat())] == 7.25


def test_reimporting_a_week_updates_instead_of_duplicating(world_a, django_capture_on_commit_callbacks):
    commit(world_a, preview(world_a, good_long(world_a)), django_capture_on_commit_callbacks)
    rep = world_a.member("rep").user.email
    changed = good_long(world_a).replace(b"92%", b"95%")
    second = preview(world_a, changed)
    assert (second.created_count, second.updated_count, second.unchanged_count) == (0, 1, 3)
    assert [row["change"] for row in second.sample] == ["update", "same", "same", "same"]
    second = commit(world_a, second, django_capture_on_commit_callbacks)
    assert (second.created_count, second.updated_count, second.unchanged_count) == (0, 1, 3)
    stored = values_of(world_a)
    assert len(stored) == 4 and stored[(rep, "csat", WEEK.isoformat())] == 95.0
    with tenant_context(world_a.tenant):
        assert KpiValue.objects.for_tenant(world_a.tenant).count() == 4


def test_a_file_with_new_changed_and_same_rows_writes_only_what_differs(
    world_a, world_b, django_capture_on_commit_callbacks
):
    commit(world_a, preview(world_a, good_long(world_a)), django_capture_on_commit_callbacks)
    commit(world_b, preview(world_b, good_long(world_b), role="tenant_admin"), django_capture_on_commit_callbacks)
    rep = world_a.member("rep").user.email
    raw = good_long(world_a).replace(b"92%", b"95%") + f"{rep},{WEEK2.isoformat()},csat,80%\n".encode()
    second = commit(world_a, preview(world_a, raw), django_capture_on_commit_callbacks)
    assert (second.created_count, second.updated_count, second.unchanged_count) == (1, 1, 3)
    stored = values_of(world_a)
    assert len(stored) == 5
    assert stored[(rep, "csat", WEEK.isoformat())] == 95.0 and stored[(rep, "csat", WEEK2.isoformat())] == 80.0
    other = values_of(world_b)  # the same emails' weeks in another tenant are left alone
    assert len(other) == 4 and other[(world_b.member("rep").user.email, "csat", WEEK.isoformat())] == 92.0


# --- references without database foreign keys ----------------------------------------------------


def test_deleting_a_rep_or_a_metric_deletes_their_kpi_values(world_a, world_b, django_capture_on_commit_callbacks):
    commit(world_a, preview(world_a, good_long(world_a)), django_capture_on_commit_callbacks)
    commit(world_b, preview(world_b, good_long(world_b), role="tenant_admin"), django_capture_on_commit_callbacks)
    rep, rep2 = world_a.member("rep"), world_a.rep2
    with tenant_context(world_a.tenant):
        rep.delete()
        assert set(values_of(world_a)) == {
            (rep2.user.email, "escalation_rate", WEEK.isoformat()), (rep2.user.email, "nps", WEEK.isoformat()),
        }
        KpiMetric.objects.for_tenant(world_a.tenant).get(key="nps").delete()
        assert set(values_of(world_a)) == {(rep2.user.email, "escalation_rate", WEEK.isoformat())}
        orphans = KpiValue.objects.for_tenant(world_a.tenant).exclude(
            membership__in=Membership.objects.for_tenant(world_a.tenant)
        ).exclude(metric__in=KpiMetric.objects.for_tenant(world_a.tenant))
        assert not orphans.exists()
    assert len(values_of(world_b)) == 4  # the other tenant's rep and metric of the same names are untouched


def test_a_rep_removed_after_validation_fails_the_write_and_changes_nothing(world_a, world_b):
    rep, rep2 = world_a.member("rep"), world_a.rep2
    with tenant_context(world_b.tenant):
        other_csat = next(m.id for m in metric_rules(tenant=world_b.tenant)[0] if m.key == "csat")
    with tenant_context(world_a.tenant):
        metrics, _ = metric_rules(tenant=world_a.tenant)
        csat = next(m.id for m in metrics if m.key == "csat")
        rows = ValidRows()
        rows.append(rep2.id, csat, WEEK.toordinal(), 80.0)
        rows.append(rep.id, csat, WEEK.toordinal(), 90.0)
        source = services.kpi_source_save(tenant=world_a.tenant, actor=None, name="Help desk export")
        rep.delete()  # between validation and the write
        with pytest.raises(IntegrityError, match="no longer exist"), transaction.atomic():
            write_rows(tenant=world_a.tenant, rows=rows, source=source, kpi_import=None)
        foreign = ValidRows()
        foreign.append(rep2.id, csat, WEEK.toordinal(), 80.0)
        foreign.append(rep2.id, other_csat, WEEK.toordinal(), 80.0)
        with pytest.raises(IntegrityError, match="no longer exist"), transaction.atomic():
            write_rows(tenant=world_a.tenant, rows=foreign, source=source, kpi_import=None)  # another tenant's metric
    assert values_of(world_a) == {} and values_of(world_b) == {}


# --- bad files change nothing ------------------------------------------------------------------------


def _bad_cases(world):
    rep, rep2 = world.member("rep").user.email, world.rep2.user.email
    week = WEEK.isoformat()
    future = (monday_of(date.today()) + timedelta(days=21)).isoformat()
    return {
        "unsplittable": (
            csv_bytes(["rep_email|period_start|metric|value", f"{rep}|{week}|csat|90"]),
            [(1, "", "Could not split the header into columns")],
        ),
        "bad_encoding": (
            "rep_email,period_start,metric,value\nrené@x.example,2026-01-05,csat,90\n".encode("latin-1"),
            [(2, "", "not UTF-8 text: byte 40 (line 2)")],
        ),
        "missing_columns": (
            csv_bytes(["rep_email,metric,value", f"{rep},csat,90"]),
            [(1, "period_start", "Missing column(s): period_start")],
        ),
        "unknown_rep": (
            long_file(world, [(rep, week, "csat", "90"), ("nobody@nowhere.example", week, "csat", "80")]),
            [(3, "rep_email", "unknown rep “nobody@nowhere.example”")],
        ),
        "duplicate_rows": (
            long_file(world, [(rep, week, "csat", "90"), (rep2, week, "csat", "80"), (rep, week, "CSAT", "91")]),
            [(4, "value", f"duplicate: {rep}, CSAT, week of {week} is also on line 2")],
        ),
        "non_numeric": (
            long_file(world, [(rep, week, "csat", "great"), (rep2, week, "avg_handling_time", "5:75")]),
            [(2, "value", "“great” is not a number"), (3, "value", "not a valid duration")],
        ),
        "dates_out_of_range": (
            long_file(world, [(rep, future, "csat", "90"), (rep2, "1999-12-27", "csat", "90"),
                              (rep2, "31/31/2026", "csat", "90"), (rep2, "03/04/2026", "nps", "5")]),
            [(2, "period_start", "is in the future"), (3, "period_start", "is before 2000"),
             (4, "period_start", "is not a valid date"), (5, "period_start", "is ambiguous")],
        ),
        "values_out_of_range": (
            long_file(world, [(rep, week, "csat", "120%"), (rep, week, "escalation_rate", "-3"),
                              (rep2, week, "nps", "-101"), (rep2, week, "sentiment", "3")]),
            [(2, "value", "CSAT must be between 0 and 100 (got 120%)"),
             (3, "value", "Escalation rate must be between 0 and 100 (got -3)"),
             (4, "value", "NPS must be between -100 and 100 (got -101)"),
             (5, "metric", "unknown metric “sentiment”")],
        ),
        "short_row": (
            csv_bytes(["rep_email,period_start,metric,value", f"{rep},{week},csat"]),
            [(2, "", "This line has 3 column(s); the header has 4.")],
        ),
    }


@pytest.mark.parametrize("case", [
    "unsplittable", "bad_encoding", "missing_columns", "unknown_rep", "duplicate_rows", "non_numeric",
    "dates_out_of_range", "values_out_of_range", "short_row",
])
def test_bad_files_are_explained_row_by_row_and_change_nothing(world_a, case, django_capture_on_commit_callbacks):
    commit(world_a, preview(world_a, good_long(world_a)), django_capture_on_commit_callbacks)
    before = values_of(world_a)
    raw, expected = _bad_cases(world_a)[case]
    kpi_import = preview(world_a, raw)
    found = [(e["line"], e["column"], e["message"]) for e in kpi_import.errors]
    assert len(found) == len(expected), found
    for (line, column, message), (want_line, want_column, want_text) in zip(found, expected, strict=True):
        assert (line, column) == (want_line, want_column) and want_text in message, found
    assert kpi_import.created_count == kpi_import.updated_count == 0
    # Committing is refused; running the background job on the same file fails and writes nothing.
    with tenant_context(world_a.tenant), pytest.raises(services.ApplicationError):
        services.kpi_import_commit(tenant=world_a.tenant, actor=kpi_import.uploaded_by, kpi_import=kpi_import)
    with tenant_context(world_a.tenant):
        KpiImport.objects.for_tenant(world_a.tenant).filter(pk=kpi_import.pk).update(status=KpiImportStatus.QUEUED)
        tasks.import_kpis(tenant_id=world_a.tenant.id, import_id=kpi_import.id)
    kpi_import.refresh_from_db()
    assert kpi_import.status == KpiImportStatus.FAILED and kpi_import.error_count == len(expected)
    assert values_of(world_a) == before


def test_the_same_bad_cell_on_several_rows_is_reported_on_each(world_a):
    rep, rep2 = world_a.member("rep").user.email, world_a.rep2.user.email
    raw = long_file(world_a, [
        (rep, WEEK.isoformat(), "csat", "lots"), (rep2, WEEK.isoformat(), "csat", "lots"),
        (rep, WEEK2.isoformat(), "csat", "90%"), (rep2, WEEK2.isoformat(), "csat", "90%"),
    ])
    kpi_import = preview(world_a, raw)
    assert [(e["line"], e["message"]) for e in kpi_import.errors] == [
        (2, "“lots” is not a number"), (3, "“lots” is not a number"),
    ]
    assert values_of(world_a) == {}


def test_nul_characters_in_a_file_are_reported_not_crashing_the_save(world_a):
    """Found by the API fuzzer: PostgreSQL can't store NUL, and error messages quote the cell."""
    rep = world_a.member("rep").user.email
    raw = long_file(world_a, [(rep, WEEK.isoformat(), "csat", "9\x000")])
    kpi_import = preview(world_a, raw)
    assert len(kpi_import.errors) == 1 and "\x00" not in kpi_import.errors[0]["message"]
    kpi_import.refresh_from_db()
    assert values_of(world_a) == {}


def test_a_single_bad_row_among_many_changes_nothing(world_a, django_capture_on_commit_callbacks):
    rep = world_a.member("rep").user.email
    rows = [(rep, (WEEK - timedelta(weeks=n)).isoformat(), "csat", "90") for n in range(300)]
    rows.append((rep, WEEK.isoformat(), "qa_score", "n/a"))
    kpi_import = preview(world_a, long_file(world_a, rows))
    assert kpi_import.error_count == 1 and kpi_import.errors[0]["line"] == 302
    assert values_of(world_a) == {}


def test_a_file_over_the_size_limit_is_refused(world_a, settings):
    settings.KPI_IMPORT_MAX_BYTES = 100
    with pytest.raises(services.ApplicationError) as refused:
        preview(world_a, good_long(world_a))
    assert refused.value.code == "file_too_large" and "the limit is 100 bytes" in refused.value.message
    with tenant_context(world_a.tenant):
        assert not KpiImport.objects.for_tenant(world_a.tenant).exists()
    assert values_of(world_a) == {}


def test_dates_weeks_and_formats():
    today = date(2026, 4, 8)  # a Wednesday
    auto = PeriodParser("auto", today)
    assert auto.parse("2026-W14") == date(2026, 3, 30)
    assert auto.parse("2026-04-01") == date(2026, 3, 30)
    assert auto.parse("2026-04-01T10:00:00Z") == date(2026, 3, 30)
    assert auto.parse("31/03/2026") == date(2026, 3, 30)  # unambiguous: day first
    assert auto.parse("2026-04-15") == date(2026, 4, 13)  # next week is fine
    with pytest.raises(ValueError, match="in the future"):
        auto.parse("2026-04-20")
    with pytest.raises(ValueError, match="ambiguous"):
        auto.parse("03/04/2026")
    with pytest.raises(ValueError, match="has no week 54"):
        auto.parse("2026-W54")
    assert PeriodParser("dmy", today).parse("03/04/2026") == date(2026, 3, 30)
    assert PeriodParser("mdy", today).parse("03/04/2026") == date(2026, 3, 2)


# --- tenants and teams -------------------------------------------------------------------------------


def test_another_tenants_reps_are_unknown(world_a, world_b):
    raw = long_file(world_a, [(world_b.member("rep").user.email, WEEK.isoformat(), "csat", "90")])
    kpi_import = preview(world_a, raw, role="tenant_admin")
    assert kpi_import.errors == [{
        "line": 2, "column": "rep_email",
        "message": "unknown rep “rep@bolt.example”: no one in this workspace has it",
    }]
    assert values_of(world_a) == {} and values_of(world_b) == {}


def test_a_manager_imports_only_for_reps_in_their_teams(world_a):
    raw = long_file(world_a, [(world_a.loner.user.email, WEEK.isoformat(), "csat", "90")])
    kpi_import = preview(world_a, raw, role="manager")
    assert "no rep in your teams has it" in kpi_import.errors[0]["message"]
    assert preview(world_a, raw, role="enablement_lead").error_count == 0


def test_managers_see_only_their_teams_kpis_and_export(world_a, client_for, django_capture_on_commit_callbacks):
    loner = world_a.loner.user.email
    raw = good_long(world_a) + f"{loner},{WEEK.isoformat()},csat,70\n".encode()
    commit(world_a, preview(world_a, raw, role="tenant_admin"), django_capture_on_commit_callbacks)
    slug = world_a.tenant.slug
    manager = client_for(world_a.member("manager"))
    page = manager.get(reverse("kpi_home", args=[slug])).content.decode()
    assert world_a.member("rep").user.email in page and loner not in page
    export = manager.get(reverse("kpi_export", args=[slug])).content.decode()
    assert export.splitlines()[0] == "rep_email,name,period_start,escalation_rate,avg_handling_time,csat,nps"
    assert world_a.rep2.user.email in export and loner not in export
    lead_export = client_for(world_a.member("enablement_lead")).get(reverse("kpi_export", args=[slug]))
    assert loner in lead_export.content.decode()
    assert client_for(world_a.member("rep")).get(reverse("kpi_home", args=[slug])).status_code == 403


# --- the background job -----------------------------------------------------------------------------


@pytest.fixture
def many_reps(world_a):
    from tests.factories import MembershipFactory, UserFactory

    return [
        MembershipFactory(tenant=world_a.tenant, user=UserFactory(email=f"agent{n}@acme.example")) for n in range(250)
    ]


def _big_file(reps, weeks: int, metrics=("csat", "avg_handling_time", "escalation_rate", "nps")) -> bytes:
    lines = ["rep_email,period_start,metric,value"]
    for w in range(weeks):
        week = (WEEK - timedelta(weeks=w)).isoformat()
        for n, rep in enumerate(reps):
            for m, metric in enumerate(metrics):
                lines.append(f"{rep.user.email},{week},{metric},{(n + w + m) % 90 + 1}")
    return csv_bytes(lines)


def test_background_import_of_50k_rows_reports_progress_and_runs_once(
    world_a, many_reps, settings, django_capture_on_commit_callbacks
):
    settings.KPI_IMPORT_PROGRESS_EVERY = 10_000
    raw = _big_file(many_reps, weeks=50)  # 250 reps × 50 weeks × 4 metrics = 50,000 rows
    admin = world_a.member("tenant_admin")
    admin.tenant = world_a.tenant
    with tenant_context(world_a.tenant):
        source = services.kpi_source_save(tenant=world_a.tenant, actor=admin.user, name="Zendesk export")
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            kpi_import = services.kpi_import_upload(
                tenant=world_a.tenant, actor=admin.user, membership=admin, source=source, upload=upload(raw),
                dry_run=False,
            )
    kpi_import.refresh_from_db()
    assert kpi_import.status == KpiImportStatus.COMMITTED, kpi_import.errors
    assert (kpi_import.total_rows, kpi_import.processed_rows, kpi_import.created_count) == (50_000, 50_000, 50_000)
    progress_updates = [q["sql"] for q in queries.captured_queries
                        if "reports_kpiimport" in q["sql"] and "processed_rows" in q["sql"] and "UPDATE" in q["sql"]]
    assert len(progress_updates) >= 5  # every 10,000 rows, visible to the polling page
    with tenant_context(world_a.tenant):
        assert KpiValue.objects.for_tenant(world_a.tenant).count() == 50_000
        # Delivered again (late acks): nothing happens the second time.
        assert tasks.import_kpis(tenant_id=world_a.tenant.id, import_id=kpi_import.id) == "committed"
        assert KpiValue.objects.for_tenant(world_a.tenant).count() == 50_000
    kpi_import.refresh_from_db()
    assert kpi_import.created_count == 50_000 and kpi_import.status == KpiImportStatus.COMMITTED


def test_the_job_is_a_no_op_for_a_vanished_import_or_tenant(world_a):
    assert tasks.import_kpis(tenant_id=world_a.tenant.id, import_id=999_999) == "gone"
    assert tasks.import_kpis(tenant_id=999_999, import_id=1) == "no_tenant"


def test_the_sweeper_requeues_an_import_whose_job_never_arrived(world_a):
    kpi_import = preview(world_a, good_long(world_a))
    with tenant_context(world_a.tenant):
        KpiImport.objects.for_tenant(world_a.tenant).filter(pk=kpi_import.pk).update(
            status=KpiImportStatus.QUEUED, updated_at=kpi_import.updated_at - timedelta(hours=1)
        )
    assert tasks.sweep_kpi_imports() == 1  # eager here: the requeued job runs at once
    kpi_import.refresh_from_db()
    assert kpi_import.status == KpiImportStatus.COMMITTED and len(values_of(world_a)) == 4
    assert tasks.sweep_kpi_imports() == 0


# --- pages ------------------------------------------------------------------------------------------------


def test_upload_preview_and_commit_pages(world_a, client_for, django_capture_on_commit_callbacks):
    slug = world_a.tenant.slug
    manager = client_for(world_a.member("manager"))
    assert manager.get(reverse("kpi_import", args=[slug])).status_code == 200
    bad = good_long(world_a).replace(b"12.5%", b"lots")
    response = manager.post(reverse("kpi_import", args=[slug]), {"file": upload(bad), "source": "Zendesk"})
    assert response.status_code == 302
    page = manager.get(response["Location"]).content.decode()
    assert "1 problem to fix" in page and "“lots” is not a number" in page and "Commit the import" not in page

    response = manager.post(reverse("kpi_import", args=[slug]), {"file": upload(good_long(world_a)), "source": "Zendesk"})
    detail = response["Location"]
    page = manager.get(detail).content.decode()
    assert "Ready to import" in page and "Commit the import" in page
    import_id = int(detail.rstrip("/").rsplit("/", 1)[1])
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(reverse("kpi_import_commit", args=[slug, import_id]))
    assert response.status_code == 302
    page = manager.get(detail).content.decode()
    assert "Imported: 4 new" in page
    progress = manager.get(reverse("kpi_import_progress", args=[slug, import_id]), headers={"HX-Request": "true"})
    assert progress["HX-Refresh"] == "true" and 'hx-trigger="every 1s"' not in progress.content.decode()
    assert "92%" in manager.get(reverse("kpi_home", args=[slug])).content.decode()


def test_a_queued_import_page_polls_for_progress(world_a, client_for):
    kpi_import = preview(world_a, good_long(world_a))
    with tenant_context(world_a.tenant):
        KpiImport.objects.for_tenant(world_a.tenant).filter(pk=kpi_import.pk).update(status=KpiImportStatus.RUNNING)
    manager = client_for(world_a.member("manager"))
    page = manager.get(reverse("kpi_import_detail", args=[world_a.tenant.slug, kpi_import.id])).content.decode()
    assert 'hx-trigger="every 1s"' in page and "<progress" in page


def test_a_large_import_shows_its_counts_with_thousands_separators(world_a, client_for):
    kpi_import = preview(world_a, good_long(world_a))
    imports = KpiImport.objects.for_tenant(world_a.tenant).filter(pk=kpi_import.pk)
    manager = client_for(world_a.member("manager"))
    progress_url = reverse("kpi_import_progress", args=[world_a.tenant.slug, kpi_import.id])
    detail_url = reverse("kpi_import_detail", args=[world_a.tenant.slug, kpi_import.id])
    with tenant_context(world_a.tenant):
        imports.update(status=KpiImportStatus.RUNNING, total_rows=1_000_000, processed_rows=250_000)
    assert "Checking rows: 250,000 of 1,000,000" in manager.get(progress_url).content.decode()
    with tenant_context(world_a.tenant):
        imports.update(processed_rows=1_000_000)
    assert "Writing 1,000,000 rows…" in manager.get(progress_url).content.decode()
    with tenant_context(world_a.tenant):
        imports.update(status=KpiImportStatus.COMMITTED, created_count=990_000, updated_count=10_000)
    assert "Imported: 990,000 new and 10,000 updated values." in manager.get(detail_url).content.decode()


def test_remapping_saves_the_source_and_checks_again(world_a, client_for):
    rep = world_a.member("rep").user.email
    raw = csv_bytes(["Agent,Semaine,Satisfaction client", f"{rep},{WEEK:%d/%m/%Y},91%"])
    kpi_import = preview(world_a, raw)
    assert "Missing column(s)" in kpi_import.errors[0]["message"]
    manager = client_for(world_a.member("manager"))
    response = manager.post(
        reverse("kpi_import_remap", args=[world_a.tenant.slug, kpi_import.id]),
        {"format": "wide", "delimiter": "", "date_format": "dmy", "rep": "Agent", "rep_key": "email",
         "period": "Semaine", "metrics": "Satisfaction client = csat"},
    )
    assert response.status_code == 302
    kpi_import.refresh_from_db()
    assert kpi_import.error_count == 0 and kpi_import.created_count == 1
    assert kpi_import.source.column_mapping["metrics"] == {"Satisfaction client": "csat"}


# --- API --------------------------------------------------------------------------------------------------


def test_api_dry_run_then_commit(world_a, client_for, django_capture_on_commit_callbacks):
    base = f"/api/v1/t/{world_a.tenant.slug}"
    lead = client_for(world_a.member("enablement_lead"))
    response = lead.post(f"{base}/kpi-imports/", {"file": upload(good_long(world_a)), "source": "API feed"})
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] and body["status"] == "previewed" and body["created_count"] == 4
    assert values_of(world_a) == {}
    with django_capture_on_commit_callbacks(execute=True):
        response = lead.post(f"{base}/kpi-imports/{body['id']}/commit/")
    assert response.status_code == 202
    detail = lead.get(f"{base}/kpi-imports/{body['id']}/").json()
    assert detail["status"] == "committed" and detail["progress_percent"] == 100
    assert len(values_of(world_a)) == 4
    again = lead.post(f"{base}/kpi-imports/{body['id']}/commit/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "kpi_import_already_committed"


def test_api_background_import_and_errors(world_a, client_for, django_capture_on_commit_callbacks, settings):
    base = f"/api/v1/t/{world_a.tenant.slug}"
    admin = client_for(world_a.member("tenant_admin"))
    bad = good_long(world_a).replace(b"-20", b"-200")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"{base}/kpi-imports/", {"file": upload(bad), "dry_run": "false"})
    assert response.status_code == 202
    detail = admin.get(f"{base}/kpi-imports/{response.json()['id']}/").json()
    assert detail["status"] == "failed" and not detail["ok"]
    assert detail["errors"] == [{"line": 5, "column": "value", "message": "NPS must be between -100 and 100 (got -200)"}]
    settings.KPI_IMPORT_MAX_BYTES = 10
    too_big = admin.post(f"{base}/kpi-imports/", {"file": upload(good_long(world_a))})
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "file_too_large"
    rep = client_for(world_a.member("rep"))
    assert rep.post(f"{base}/kpi-imports/", {"file": upload(good_long(world_a))}).status_code == 403
    assert rep.get(f"{base}/kpi-metrics/").status_code == 403


def test_api_lists_pin_their_query_count(world_a, client_for, django_assert_max_num_queries):
    for _ in range(3):
        preview(world_a, good_long(world_a))
    base = f"/api/v1/t/{world_a.tenant.slug}"
    manager = client_for(world_a.member("manager"))
    with django_assert_max_num_queries(6):
        imports = manager.get(f"{base}/kpi-imports/").json()
    assert imports["count"] == 3
    metrics = manager.get(f"{base}/kpi-metrics/").json()
    assert {m["key"] for m in metrics["results"]} >= {"csat", "avg_handling_time", "nps", "escalation_rate"}
    # Another manager's imports (and their errors naming reps) are not listed to this one.
    lead_uploads = preview(world_a, good_long(world_a), role="enablement_lead")
    assert lead_uploads.id not in [i["id"] for i in manager.get(f"{base}/kpi-imports/").json()["results"]]
