"""The realism check on the scenario page: "Check this scenario" (POST) starts it, and the panel
(GET) polls until the report is there. Authors only, like the rest of the scenario pages; the panel
itself is the scenarios app's (templates/scenarios/partials/_realism_check.html)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from coachhub.core.errors import ApplicationError
from coachhub.tenancy.access import AUTHORS, role_required
from coachhub.tenancy.selectors import ai_settings_get
from scenarios import selectors as scenario_selectors
from scenarios.models import Scenario
from scenarios.realism import realism_panel

from .services.realism import scenario_realism_check_request

PANEL = "scenarios/partials/_realism_check.html"


def _panel(request: HttpRequest, scenario: Scenario, *, problem: str = "") -> HttpResponse:
    # Read afresh: with no broker the check already ran inside the request that started it.
    scenario = scenario_selectors.scenario_get(tenant=request.tenant, scenario_id=scenario.id)
    blocking = ai_settings_get(tenant=request.tenant).block_publish_without_realism_check
    panel = realism_panel(scenario_selectors.scenario_working_version(scenario), blocking=blocking)
    return render(request, PANEL, {"scenario": scenario, "realism": {**panel, "problem": problem}})


@require_POST
@role_required(AUTHORS)
def scenario_realism_check(request: HttpRequest, tenant_slug: str, scenario_id: int) -> HttpResponse:
    scenario = scenario_selectors.scenario_get(tenant=request.tenant, scenario_id=scenario_id)
    try:
        version = scenario_realism_check_request(tenant=request.tenant, actor=request.user, scenario=scenario)
    except ApplicationError as exc:
        if request.htmx:  # HTMX swaps only 2xx answers: the refusal is shown inside the panel
            return _panel(request, scenario, problem=exc.message)
        messages.error(request, exc.message)
    else:
        if request.htmx:
            return _panel(request, scenario)
        messages.info(request, f"Realism check of v{version.number} started; its report appears below.")
    return redirect("scenario_detail", tenant_slug=request.tenant.slug, scenario_id=scenario.id)


@require_GET
@role_required(AUTHORS)
def scenario_realism_status(request: HttpRequest, tenant_slug: str, scenario_id: int) -> HttpResponse:
    """The panel as it stands: "checking…" (and polling) until the report is stored."""
    scenario = scenario_selectors.scenario_get(tenant=request.tenant, scenario_id=scenario_id)
    return _panel(request, scenario)
