"""Authoring pages for enablement leads and admins: list, create, edit, preview, diff and the
version actions (publish, duplicate, archive)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from coachhub.core.errors import ApplicationError
from coachhub.tenancy.access import AUTHORS, role_required
from coachhub.tenancy.selectors import ai_settings_get

from .. import selectors, services
from ..brief import behavior_label, rep_brief
from ..diff import spec_diff
from ..forms import ScenarioFilterForm, ScenarioForm
from ..models import MOMENT_LABELS, Scenario, ScenarioVersion
from ..realism import realism_panel


def _form_page(request: HttpRequest, form: ScenarioForm, *, scenario: Scenario | None, base_version_id, status=200):
    return render(
        request,
        "scenarios/form.html",
        {"form": form, "scenario": scenario, "base_version_id": base_version_id or ""},
        status=status,
    )


def _apply_service_errors(form: ScenarioForm, exc: ApplicationError) -> None:
    if exc.fields:
        form.apply_spec_errors({path: str(message) for path, message in exc.fields.items()})
    else:
        form.add_error(None, exc.message)


@role_required(AUTHORS)
def scenario_list(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    filters = ScenarioFilterForm(request.GET or None, tenant=tenant)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    team = chosen.get("team")
    scenarios = selectors.scenario_list(
        tenant=tenant, moment=chosen.get("moment", ""), status=chosen.get("status", ""),
        team_id=team.id if team else None,
    )
    rows = [
        {
            "scenario": s,
            "moment": MOMENT_LABELS.get(s.moment, s.moment),
            "published": selectors.scenario_published_version(s),
            "draft": selectors.scenario_draft_version(s),
        }
        for s in scenarios
    ]
    template = "scenarios/partials/_scenario_rows.html" if request.htmx else "scenarios/list.html"
    return render(request, template, {"rows": rows, "filters": filters, "filtered": bool(chosen and any(chosen.values()))})


@role_required(AUTHORS)
def scenario_create(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    form = ScenarioForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            scenario = services.scenario_create(tenant=request.tenant, actor=request.user, spec=form.spec)
        except ApplicationError as exc:
            _apply_service_errors(form, exc)
        else:
            messages.success(request, f"“{scenario.title}” saved as draft version 1. Preview it, then publish.")
            return redirect("scenario_detail", tenant_slug=request.tenant.slug, scenario_id=scenario.id)
    return _form_page(request, form, scenario=None, base_version_id=None, status=400 if form.errors else 200)


@role_required(AUTHORS)
def scenario_edit(request: HttpRequest, tenant_slug: str, scenario_id: int) -> HttpResponse:
    """Edits go to the open draft; with none (or only a used one) saving starts a new draft, and the
    published version stays as it is until the draft is published."""
    tenant = request.tenant
    scenario = selectors.scenario_get(tenant=tenant, scenario_id=scenario_id)
    draft = selectors.scenario_draft_version(scenario)
    editable_draft = draft if draft is not None and not draft.is_locked else None
    if request.method != "POST":
        working = selectors.scenario_working_version(scenario)
        form = ScenarioForm(initial=ScenarioForm.initial_from_spec(working.spec) if working else None)
        return _form_page(request, form, scenario=scenario, base_version_id=editable_draft and editable_draft.id)

    form = ScenarioForm(request.POST)
    base_version_id = request.POST.get("version_id", "")
    if form.is_valid():
        try:
            if base_version_id:
                # The author was editing this draft: if a session used it meanwhile, say so
                # rather than quietly forking.
                base = selectors.version_get(tenant=tenant, version_id=_int(base_version_id))
                if base.scenario_id != scenario.id:
                    raise Http404
                version = services.version_update(tenant=tenant, actor=request.user, version=base, spec=form.spec)
            else:
                version = services.scenario_edit(tenant=tenant, actor=request.user, scenario=scenario, spec=form.spec)
        except ApplicationError as exc:
            _apply_service_errors(form, exc)
            if exc.code in ("version_locked", "version_not_draft"):
                base_version_id = ""
        else:
            messages.success(request, f"Draft version {version.number} saved. The published version is unchanged.")
            return redirect("scenario_detail", tenant_slug=tenant.slug, scenario_id=scenario.id)
    return _form_page(request, form, scenario=scenario, base_version_id=base_version_id, status=400)


def _int(raw: str) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise Http404 from None


@role_required(AUTHORS)
def scenario_form_preview(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """HTMX: the brief for what's in the form right now, or what still needs fixing."""
    form = ScenarioForm(request.POST or None)
    valid = request.method == "POST" and form.is_valid()
    return render(
        request,
        "scenarios/partials/_form_preview.html",
        {"form": form, "brief": rep_brief(form.spec.to_dict()) if valid else None},
    )


@role_required(AUTHORS)
def scenario_detail(request: HttpRequest, tenant_slug: str, scenario_id: int) -> HttpResponse:
    scenario = selectors.scenario_get(tenant=request.tenant, scenario_id=scenario_id)
    versions = list(scenario.versions.all())
    working = selectors.scenario_working_version(scenario)
    published = selectors.scenario_published_version(scenario)
    draft = selectors.scenario_draft_version(scenario)
    spec = working.spec if working else None
    return render(
        request,
        "scenarios/detail.html",
        {
            "scenario": scenario,
            "versions": versions,
            "working": working,
            "published": published,
            "draft": draft,
            "spec": spec,
            "brief": rep_brief(spec) if spec else None,
            "behaviors": [
                {**b, "label": behavior_label(b["key"])} for b in (spec["rubric"]["behaviors"] if spec else [])
            ],
            "diff_from": versions[1] if len(versions) > 1 else None,
            # The publish step shows the latest realism check of what would be published.
            "realism": realism_panel(
                working, blocking=ai_settings_get(tenant=request.tenant).block_publish_without_realism_check
            ),
        },
    )


@role_required(AUTHORS)
def scenario_brief(request: HttpRequest, tenant_slug: str, scenario_id: int) -> HttpResponse:
    """The brief exactly as a rep will see it, for any version (?version=<id>), default the working one."""
    scenario = selectors.scenario_get(tenant=request.tenant, scenario_id=scenario_id)
    version = _version_of(request, scenario, request.GET.get("version"))
    if version is None:
        raise Http404
    return render(request, "scenarios/brief.html", {"scenario": scenario, "version": version, "brief": rep_brief(version.spec)})


def _version_of(request: HttpRequest, scenario: Scenario, raw_id: str | None) -> ScenarioVersion | None:
    if not raw_id:
        return selectors.scenario_working_version(scenario)
    version = selectors.version_get(tenant=request.tenant, version_id=_int(raw_id))
    if version.scenario_id != scenario.id:
        raise Http404
    return version


@role_required(AUTHORS)
def scenario_diff(request: HttpRequest, tenant_slug: str, scenario_id: int) -> HttpResponse:
    """What changed between two versions (?a=<older id>&b=<newer id>), field by field."""
    scenario = selectors.scenario_get(tenant=request.tenant, scenario_id=scenario_id)
    versions = list(scenario.versions.all())
    if len(versions) < 2 and not (request.GET.get("a") and request.GET.get("b")):
        messages.info(request, "There is only one version so far: nothing to compare.")
        return redirect("scenario_detail", tenant_slug=request.tenant.slug, scenario_id=scenario.id)
    before = _version_of(request, scenario, request.GET.get("a")) if request.GET.get("a") else versions[1]
    after = _version_of(request, scenario, request.GET.get("b")) if request.GET.get("b") else versions[0]
    context = {
        "scenario": scenario,
        "versions": versions,
        "before": before,
        "after": after,
        "changes": spec_diff(before.spec, after.spec),
    }
    template = "scenarios/partials/_diff.html" if request.htmx else "scenarios/diff.html"
    return render(request, template, context)


def _action(request: HttpRequest, scenario_id: int, do, success: str) -> HttpResponse:
    scenario = selectors.scenario_get(tenant=request.tenant, scenario_id=scenario_id)
    try:
        result = do(scenario)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("scenario_detail", tenant_slug=request.tenant.slug, scenario_id=scenario.id)
    messages.success(request, success.format(result=result, scenario=scenario))
    target = result if isinstance(result, Scenario) else scenario
    return redirect("scenario_detail", tenant_slug=request.tenant.slug, scenario_id=target.id)


@require_POST
@role_required(AUTHORS)
def scenario_publish(request: HttpRequest, tenant_slug: str, scenario_id: int) -> HttpResponse:
    return _action(
        request, scenario_id,
        lambda s: services.scenario_publish(tenant=request.tenant, actor=request.user, scenario=s),
        "Version {result.number} is published. Reps assigned from now on get it.",
    )


@require_POST
@role_required(AUTHORS)
def scenario_archive(request: HttpRequest, tenant_slug: str, scenario_id: int) -> HttpResponse:
    return _action(
        request, scenario_id,
        lambda s: services.scenario_archive(tenant=request.tenant, actor=request.user, scenario=s),
        "“{scenario.title}” is archived. Publish a draft to bring it back.",
    )


@require_POST
@role_required(AUTHORS)
def scenario_duplicate(request: HttpRequest, tenant_slug: str, scenario_id: int) -> HttpResponse:
    return _action(
        request, scenario_id,
        lambda s: services.scenario_duplicate(tenant=request.tenant, actor=request.user, scenario=s),
        "Copied as “{result.title}” ({result.slug}), a draft you can edit.",
    )
