"""KPI pages and API in the cross-tenant matrix. The seeded import was uploaded (and previewed) by
the world's manager; reps are refused everywhere."""

from tests.matrix import ADMIN, LEAD, MANAGER, REP, TENANT_API, TENANT_PAGE, Route, only
from tests.reports.factories import previewed_import

REVIEWERS = {MANAGER, LEAD, ADMIN}


def seed(world) -> None:
    from datetime import date

    from reports import services
    from reports.models import KpiValue

    manager = world.member(MANAGER)
    world.extra["kpi_import"] = previewed_import(world, manager)
    # A custom metric with a value: removing it is refused every time, so each role sees the same.
    metric = services.kpi_metric_create(
        tenant=world.tenant, actor=world.member(ADMIN).user, key="refund_rate", label=f"Refunds at {world.tenant.name}"
    )
    KpiValue.objects.for_tenant(world.tenant).create(
        tenant=world.tenant, membership=world.member(REP), metric=metric, period_start=date(2026, 3, 30), value=4.0
    )
    world.extra["custom_metric"] = metric


def _import(world) -> dict:
    return {"import_id": world.extra["kpi_import"].id}


ROUTES = {
    "kpi_home": Route(TENANT_PAGE, only(REVIEWERS)),
    "kpi_metrics": Route(TENANT_PAGE, only(REVIEWERS)),
    "kpi_metric_edit": Route(
        TENANT_PAGE, only({LEAD, ADMIN}), kwargs=lambda w: {"metric_id": w.extra["custom_metric"].id},
        has_object_ids=True,
    ),
    "kpi_metric_delete": Route(
        TENANT_PAGE, only({LEAD, ADMIN}, 302), method="POST",
        kwargs=lambda w: {"metric_id": w.extra["custom_metric"].id}, has_object_ids=True,
    ),
    "kpi_export": Route(TENANT_PAGE, only(REVIEWERS)),
    "kpi_import": Route(TENANT_PAGE, only(REVIEWERS)),
    "kpi_import_detail": Route(TENANT_PAGE, only(REVIEWERS), kwargs=_import, has_object_ids=True),
    "kpi_import_progress": Route(TENANT_PAGE, only(REVIEWERS), kwargs=_import, has_object_ids=True),
    "kpi_import_commit": Route(
        # The manager commits first; later reviewers are told it is already queued (a message, 302).
        TENANT_PAGE, only(REVIEWERS, 302), method="POST", kwargs=_import, has_object_ids=True
    ),
    "kpi_import_remap": Route(
        # The seeded import has no stored file: the settings are saved and the re-check reports that (302).
        TENANT_PAGE, only(REVIEWERS, 302), method="POST", kwargs=_import, has_object_ids=True,
        data=lambda w: {"format": "auto", "delimiter": "", "date_format": "dmy"},
    ),
    "kpi_import_agents": Route(
        # No unknown agents on the seeded import: nothing is chosen, a message says so (302).
        TENANT_PAGE, only(REVIEWERS, 302), method="POST", kwargs=_import, has_object_ids=True,
        data=lambda w: {"agent_0_name": "Riley", "agent_0": ""},
    ),
    "api-kpi-import-list": Route(TENANT_API, only(REVIEWERS)),
    "api-kpi-import-detail": Route(
        TENANT_API, only(REVIEWERS), kwargs=lambda w: {"pk": w.extra["kpi_import"].id}, has_object_ids=True
    ),
    "api-kpi-import-commit": Route(
        # The manager commits first (202); the lead and admin then get 409 "already committed".
        TENANT_API, {REP: 403, MANAGER: 202, LEAD: 409, ADMIN: 409}, method="POST",
        kwargs=lambda w: {"pk": w.extra["kpi_import"].id}, has_object_ids=True,
    ),
    "api-kpi-metric-list": Route(TENANT_API, only(REVIEWERS)),
    "api-kpi-metric-detail": Route(
        TENANT_API, only({LEAD, ADMIN}), method="PATCH", data=lambda w: {"label": "Refund rate"},
        kwargs=lambda w: {"pk": w.extra["custom_metric"].id}, has_object_ids=True,
    ),
}
