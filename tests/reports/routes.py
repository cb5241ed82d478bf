"""KPI pages and API in the cross-tenant matrix. The seeded import was uploaded (and previewed) by
the world's manager; reps are refused everywhere."""

from tests.matrix import ADMIN, LEAD, MANAGER, REP, TENANT_API, TENANT_PAGE, Route, only
from tests.reports.factories import previewed_import

REVIEWERS = {MANAGER, LEAD, ADMIN}


def seed(world) -> None:
    manager = world.member(MANAGER)
    world.extra["kpi_import"] = previewed_import(world, manager)


def _import(world) -> dict:
    return {"import_id": world.extra["kpi_import"].id}


ROUTES = {
    "kpi_home": Route(TENANT_PAGE, only(REVIEWERS)),
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
}
