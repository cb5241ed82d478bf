"""Matrix classification of the scenario pages and API, and the objects they point at."""

from __future__ import annotations

from coachhub.tenancy.models import Role
from scenarios import services
from tests.matrix import ADMIN, LEAD, MANAGER, REP, TENANT_API, TENANT_PAGE, Route, _obj, only

AUTHORS = {LEAD, ADMIN}
ASSIGNERS = {MANAGER, LEAD, ADMIN}


def seed(world) -> None:
    """A published scenario with a second (draft) version, and an assignment to the world's team."""
    from tests.scenarios.factories import spec_dict

    tenant, lead = world.tenant, world.member(Role.ENABLEMENT_LEAD)
    slug = f"seeded-{tenant.slug}"
    scenario = services.scenario_create(
        tenant=tenant, actor=lead.user, spec=spec_dict(slug=slug, title=f"Seeded scenario of {tenant.name}")
    )
    published = services.scenario_publish(tenant=tenant, actor=lead.user, scenario=scenario)
    draft = services.scenario_edit(
        tenant=tenant, actor=lead.user, scenario=scenario,
        spec=spec_dict(slug=slug, title=f"Seeded scenario of {tenant.name}", difficulty="hard"),
    )
    # Made by the team's manager, so every assigner (the manager too) may cancel it.
    assignment = services.assignment_create(
        tenant=tenant, assigned_by=world.member(Role.MANAGER), scenario=scenario, teams=[world.team]
    )
    world.extra.update(scenario=scenario, published=published, draft=draft, assignment=assignment)


def _scenario(w) -> dict:
    return {"scenario_id": w.extra["scenario"].id}


def _pk(key: str):
    return lambda w: {"pk": w.extra[key].id}


# Roles run in order rep, manager, lead, admin against the same seeded objects: a one-shot
# action succeeds for the lead and the admin then finds it already done.
ONCE = {REP: 403, MANAGER: 403, LEAD: 200, ADMIN: 409}

ROUTES: dict[str, Route] = {
    # --- pages -------------------------------------------------------------------------------
    "scenario_list": Route(TENANT_PAGE, only(AUTHORS)),
    "scenario_create": Route(TENANT_PAGE, only(AUTHORS)),
    "scenario_form_preview": Route(TENANT_PAGE, only(AUTHORS)),
    "scenario_import": Route(TENANT_PAGE, only(AUTHORS)),
    "scenario_export_all": Route(TENANT_PAGE, only(AUTHORS)),
    "scenario_library": Route(TENANT_PAGE, only(AUTHORS)),
    "scenario_library_install": Route(
        TENANT_PAGE, only(AUTHORS, 302), method="POST", kwargs=lambda w: {"library_slug": "meal-kit-cancellation"}
    ),
    "scenario_detail": Route(TENANT_PAGE, only(AUTHORS), **_obj(_scenario)),
    "scenario_edit": Route(TENANT_PAGE, only(AUTHORS), **_obj(_scenario)),
    "scenario_brief": Route(TENANT_PAGE, only(AUTHORS), **_obj(_scenario)),
    "scenario_diff": Route(TENANT_PAGE, only(AUTHORS), **_obj(_scenario)),
    "scenario_publish": Route(TENANT_PAGE, only(AUTHORS, 302), method="POST", **_obj(_scenario)),
    "scenario_archive": Route(TENANT_PAGE, only(AUTHORS, 302), method="POST", **_obj(_scenario)),
    "scenario_duplicate": Route(TENANT_PAGE, only(AUTHORS, 302), method="POST", **_obj(_scenario)),
    "scenario_export": Route(TENANT_PAGE, only(AUTHORS), **_obj(_scenario)),
    "assignment_list": Route(TENANT_PAGE, only(ASSIGNERS)),
    "assignment_create": Route(TENANT_PAGE, only(ASSIGNERS)),
    "assignment_focus_options": Route(TENANT_PAGE, only(ASSIGNERS)),
    "assignment_detail": Route(
        TENANT_PAGE, only(ASSIGNERS), **_obj(lambda w: {"assignment_id": w.extra["assignment"].id})
    ),
    "assignment_cancel": Route(
        TENANT_PAGE, only(ASSIGNERS, 302), method="POST", **_obj(lambda w: {"assignment_id": w.extra["assignment"].id})
    ),
    # --- API ---------------------------------------------------------------------------------
    "api-scenario-list": Route(TENANT_API, only(AUTHORS)),
    "api-scenario-detail": Route(TENANT_API, only(AUTHORS), **_obj(_pk("scenario"))),
    "api-scenario-publish": Route(TENANT_API, ONCE, method="POST", **_obj(_pk("scenario"))),
    "api-scenario-archive": Route(TENANT_API, ONCE, method="POST", **_obj(_pk("scenario"))),
    "api-scenario-duplicate": Route(TENANT_API, only(AUTHORS, 201), method="POST", **_obj(_pk("scenario"))),
    "api-scenario-export-yaml": Route(TENANT_API, only(AUTHORS)),
    "api-scenario-import-yaml": Route(TENANT_API, only(AUTHORS, 400), method="POST", data=lambda w: {}),
    "api-scenario-version-list": Route(TENANT_API, only(AUTHORS)),
    "api-scenario-version-detail": Route(TENANT_API, only(AUTHORS), **_obj(_pk("draft"))),
    "api-scenario-version-publish": Route(TENANT_API, ONCE, method="POST", **_obj(_pk("draft"))),
    "api-scenario-version-diff": Route(TENANT_API, only(AUTHORS, 404), **_obj(_pk("draft"))),
    "api-assignment-list": Route(TENANT_API, only(ASSIGNERS)),
    "api-assignment-detail": Route(TENANT_API, only(ASSIGNERS), **_obj(_pk("assignment"))),
    "api-assignment-cancel": Route(TENANT_API, only(ASSIGNERS), method="POST", **_obj(_pk("assignment"))),
}
