"""YAML import/export pages and the starter library."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from coachhub.core.errors import ApplicationError
from coachhub.tenancy.access import AUTHORS, role_required

from .. import selectors, services
from ..forms import ImportForm
from ..library import library_specs
from ..models import MOMENT_LABELS


def _yaml_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@role_required(AUTHORS)
def scenario_export_all(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """Every scenario that isn't archived, or the ones named by ?slug=…, as one YAML file."""
    try:
        text = services.scenarios_export_yaml(tenant=request.tenant, slugs=request.GET.getlist("slug") or None)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("scenario_list", tenant_slug=request.tenant.slug)
    return _yaml_response(text, f"{request.tenant.slug}-scenarios.yaml")


@role_required(AUTHORS)
def scenario_export(request: HttpRequest, tenant_slug: str, scenario_id: int) -> HttpResponse:
    scenario = selectors.scenario_get(tenant=request.tenant, scenario_id=scenario_id)
    text = services.scenarios_export_yaml(tenant=request.tenant, slugs=[scenario.slug])
    return _yaml_response(text, f"{scenario.slug}.yaml")


@role_required(AUTHORS)
def scenario_import(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """Upload or paste YAML. Every scenario is checked first; one problem and nothing is saved."""
    form = ImportForm(request.POST or None, request.FILES or None)
    problems: dict[str, str] = {}
    if request.method == "POST" and form.is_valid():
        try:
            summary = services.scenarios_import_yaml(
                tenant=request.tenant, actor=request.user, text=form.cleaned_data["yaml"],
                publish=form.cleaned_data["publish"],
            )
        except ApplicationError as exc:
            problems = {str(path): str(message) for path, message in exc.fields.items()}
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Import done: {summary.describe()}.")
            return redirect("scenario_list", tenant_slug=request.tenant.slug)
    return render(
        request, "scenarios/import.html", {"form": form, "problems": problems},
        status=400 if form.errors else 200,
    )


@role_required(AUTHORS)
def scenario_library(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    installed = selectors.library_installed(tenant=request.tenant)
    entries = [
        {
            "spec": spec,
            "moment": MOMENT_LABELS.get(spec.moment, spec.moment),
            "installed": installed.get(spec.slug),
        }
        for spec in library_specs()
    ]
    return render(request, "scenarios/library.html", {"entries": entries})


@require_POST
@role_required(AUTHORS)
def scenario_library_install(request: HttpRequest, tenant_slug: str, library_slug: str) -> HttpResponse:
    try:
        scenario, created = services.library_install(tenant=request.tenant, actor=request.user, slug=library_slug)
    except ApplicationError as exc:
        if exc.status_code == 404:
            raise Http404(exc.message) from None
        messages.error(request, exc.message)
        return redirect("scenario_library", tenant_slug=request.tenant.slug)
    if created:
        messages.success(request, f"“{scenario.title}” is installed and published. Assign it whenever you like.")
    else:
        messages.info(request, f"“{scenario.title}” is already installed.")
    return redirect("scenario_detail", tenant_slug=request.tenant.slug, scenario_id=scenario.id)
