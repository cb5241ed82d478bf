"""A tenant's own KPIs: leads and admins add them (page and API), imports then accept them by key
or alias, and bad definitions are refused field by field with nothing saved."""

import json

import pytest

from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AuditEvent
from reports.models import KpiMetric, KpiValue

pytestmark = pytest.mark.django_db

REFUND_RATE = {
    "label": "Refund rate", "key": "refund_rate", "unit": "percent", "higher_is_better": "false",
    "min_value": "0", "max_value": "100", "aliases": "Refund %, refunds issued",
}


def _custom(world):
    with tenant_context(world.tenant):
        return list(KpiMetric.objects.filter(is_builtin=False).values_list("key", flat=True))


def test_a_lead_adds_a_metric_and_an_import_accepts_it_by_alias(
    world_a, world_b, client_for, django_capture_on_commit_callbacks
):
    lead = client_for(world_a.member("enablement_lead"))
    response = lead.post("/t/acme/kpis/metrics/", REFUND_RATE)
    assert response.status_code == 302
    page = lead.get("/t/acme/kpis/metrics/").content.decode()
    assert "Refund rate" in page and "refund_rate" in page and "Refund %, refunds issued" in page
    assert _custom(world_a) == ["refund_rate"] and _custom(world_b) == []
    with tenant_context(world_a.tenant):
        assert AuditEvent.objects.filter(action="kpi_metric.created").count() == 1

    # A help-desk export with a "Refund %" column imports into the new metric.
    manager = client_for(world_a.member("manager"))
    rep = world_a.member("rep")
    csv = f"agent_email,week,Refund %\n{rep.user.email},2026-03-30,3.5%\n".encode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = manager.post("/t/acme/kpis/import/", {"file": SimpleUploadedFile("r.csv", csv), "source": "Desk"})
    assert upload.status_code == 302, upload.content.decode()[:2000]
    import_id = int(upload["Location"].rstrip("/").split("/")[-1])
    with django_capture_on_commit_callbacks(execute=True):  # the import job leaves after commit
        assert manager.post(f"/t/acme/kpis/imports/{import_id}/commit/").status_code == 302
    with tenant_context(world_a.tenant):
        stored = KpiValue.objects.select_related("metric").get(membership=rep)
    assert stored.metric.key == "refund_rate" and stored.value == 3.5


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"key": "csat"}, "key", "already names the metric"),
        ({"key": "Refund Rate!"}, "key", "lowercase letters"),
        ({"aliases": "AHT"}, "aliases", "already names the metric"),
        ({"min_value": "50", "max_value": "10"}, "max_value", "above the lowest"),
        ({"label": "   "}, "label", "required"),
    ],
)
def test_bad_definitions_are_refused_by_field_and_nothing_is_saved(world_a, client_for, change, field, words):
    lead = client_for(world_a.member("enablement_lead"))
    response = lead.post("/t/acme/kpis/metrics/", {**REFUND_RATE, **change})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and words in " ".join(errors[field]), errors
    assert _custom(world_a) == []


def test_managers_read_the_list_but_cannot_add_and_reps_see_nothing(world_a, client_for):
    manager = client_for(world_a.member("manager"))
    page = manager.get("/t/acme/kpis/metrics/")
    assert page.status_code == 200 and "CSAT" in page.content.decode() and "Add a metric" not in page.content.decode()
    assert manager.post("/t/acme/kpis/metrics/", REFUND_RATE).status_code == 403
    assert client_for(world_a.member("rep")).get("/t/acme/kpis/metrics/").status_code == 403
    assert _custom(world_a) == []


def test_unused_custom_metrics_can_be_removed_built_in_and_used_ones_stay(world_a, client_for):
    admin = client_for(world_a.member("tenant_admin"))
    admin.post("/t/acme/kpis/metrics/", REFUND_RATE)
    with tenant_context(world_a.tenant):
        custom = KpiMetric.objects.get(key="refund_rate")
        csat = KpiMetric.objects.get(key="csat")
    refused = admin.post(f"/t/acme/kpis/metrics/{csat.id}/delete/", follow=True)
    assert "is built in and can&#x27;t be removed" in refused.content.decode()
    removed = admin.post(f"/t/acme/kpis/metrics/{custom.id}/delete/", follow=True)
    assert "Removed “Refund rate”" in removed.content.decode()
    assert _custom(world_a) == []
    with tenant_context(world_a.tenant):
        assert KpiMetric.objects.filter(key="csat").exists()


def test_the_api_adds_metrics_for_leads_with_the_one_error_shape(world_a):
    from django.test import Client

    def api(role):
        _, raw = tenancy_services.api_token_create(tenant=world_a.tenant, user=world_a.member(role).user, name="t")
        return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    body = {"key": "refund_rate", "label": "Refund rate", "unit": "percent", "higher_is_better": False,
            "aliases": ["Refund %"]}
    created = api("enablement_lead").post("/api/v1/t/acme/kpi-metrics/", json.dumps(body),
                                          content_type="application/json")
    assert created.status_code == 201 and created.json()["key"] == "refund_rate"
    again = api("tenant_admin").post("/api/v1/t/acme/kpi-metrics/", json.dumps(body), content_type="application/json")
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_metric"
    assert "key" in again.json()["error"]["fields"]
    denied = api("manager").post("/api/v1/t/acme/kpi-metrics/", json.dumps({**body, "key": "x_rate"}),
                                 content_type="application/json")
    assert denied.status_code == 403
    assert _custom(world_a) == ["refund_rate"]


def _refund_rate(world, client):
    assert client.post("/t/acme/kpis/metrics/", REFUND_RATE).status_code == 302
    with tenant_context(world.tenant):
        return KpiMetric.objects.get(key="refund_rate")


def test_a_lead_renames_a_metric_and_gives_it_another_file_name_that_imports_then_accept(
    world_a, client_for, django_capture_on_commit_callbacks
):
    lead = client_for(world_a.member("enablement_lead"))
    metric = _refund_rate(world_a, lead)
    form = lead.get(f"/t/acme/kpis/metrics/{metric.id}/edit/").content.decode()
    assert 'value="Refund rate"' in form and "refund_rate" in form
    response = lead.post(
        f"/t/acme/kpis/metrics/{metric.id}/edit/",
        {**REFUND_RATE, "label": "Refunds issued (%)", "aliases": "Refund %, refunds issued, Refund pct"},
    )
    assert response.status_code == 302
    page = lead.get("/t/acme/kpis/metrics/").content.decode()
    assert "Refunds issued (%)" in page and "Refund pct" in page
    with tenant_context(world_a.tenant):
        metric.refresh_from_db()
        assert (metric.key, metric.label) == ("refund_rate", "Refunds issued (%)")
        event = AuditEvent.objects.get(action="kpi_metric.updated")
        assert event.data["changed"]["label"] == ["Refund rate", "Refunds issued (%)"]
    # A long file naming the metric by its new other name imports into it.
    from django.core.files.uploadedfile import SimpleUploadedFile

    rep = world_a.member("rep")
    csv = f"rep_email,period_start,metric,value\n{rep.user.email},2026-03-30,Refund pct,4\n".encode()
    upload = lead.post("/t/acme/kpis/import/", {"file": SimpleUploadedFile("r.csv", csv), "source": "Desk"})
    assert upload.status_code == 302, upload.content.decode()[:2000]
    import_id = int(upload["Location"].rstrip("/").split("/")[-1])
    with django_capture_on_commit_callbacks(execute=True):
        assert lead.post(f"/t/acme/kpis/imports/{import_id}/commit/").status_code == 302
    with tenant_context(world_a.tenant):
        assert KpiValue.objects.get(membership=rep, metric=metric).value == 4.0


def test_an_edit_that_would_strand_imported_values_is_refused_field_by_field(world_a, client_for):
    admin = client_for(world_a.member("tenant_admin"))
    metric = _refund_rate(world_a, admin)
    with tenant_context(world_a.tenant):
        KpiValue.objects.create(
            tenant=world_a.tenant, membership=world_a.member("rep"), metric=metric, period_start="2026-03-30", value=42.0
        )
    response = admin.post(
        f"/t/acme/kpis/metrics/{metric.id}/edit/",
        {**REFUND_RATE, "unit": "seconds", "max_value": "40", "aliases": "CSAT"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "1 imported value was measured in %: the unit stays." in page
    assert "Imported values go up to 42: allow at least that." in page
    assert "already names the metric" in page
    with tenant_context(world_a.tenant):
        metric.refresh_from_db()
        assert (metric.unit, metric.max_value, metric.aliases) == ("percent", 100.0, ["Refund %", "refunds issued"])
        assert not AuditEvent.objects.filter(action="kpi_metric.updated").exists()


def test_built_in_metrics_cant_be_edited(world_a, client_for):
    admin = client_for(world_a.member("tenant_admin"))
    admin.get("/t/acme/kpis/metrics/")  # creates the built-in metrics
    with tenant_context(world_a.tenant):
        csat = KpiMetric.objects.get(key="csat")
    refused = admin.get(f"/t/acme/kpis/metrics/{csat.id}/edit/", follow=True)
    assert "is built in and can&#x27;t be changed" in refused.content.decode()
    api = admin.patch(f"/api/v1/t/acme/kpi-metrics/{csat.id}/", {"label": "Happiness"}, content_type="application/json")
    assert api.status_code == 409 and api.json()["error"]["code"] == "metric_builtin"


def test_the_api_changes_only_the_fields_it_is_sent(world_a, client_for):
    lead = client_for(world_a.member("enablement_lead"))
    metric = _refund_rate(world_a, lead)
    response = lead.patch(
        f"/api/v1/t/acme/kpi-metrics/{metric.id}/", {"higher_is_better": True, "max_value": 150},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["label"], body["higher_is_better"], body["max_value"], body["min_value"]) == ("Refund rate", True, 150.0, 0.0)
    bad = lead.patch(f"/api/v1/t/acme/kpi-metrics/{metric.id}/", {"min_value": 200}, content_type="application/json")
    assert bad.status_code == 400 and "max_value" in bad.json()["error"]["fields"]
