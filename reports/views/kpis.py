"""KPI pages: recent imports and the latest values per rep, CSV export, upload → dry-run preview →
commit, and the progress of background imports (polled by HTMX)."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from coachhub.core.errors import ApplicationError, form_apply_errors
from coachhub.core.limits import KPI_UPLOAD_LIMITED, RateLimited, enforce
from coachhub.tenancy.access import AUTHORS, REVIEWERS, require_role, role_required
from coachhub.tenancy.selectors import visible_rep_memberships

from .. import selectors, services
from ..helpdesk.services import agent_mappings_save
from ..kpi.importing import ensure_builtin_metrics
from ..models import KpiImportStatus
from .forms import KpiMetricEditForm, KpiMetricForm, KpiReadingForm, KpiUploadForm


@role_required(REVIEWERS)
def kpi_home(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    table = selectors.kpi_latest_table(membership=request.membership)
    page = Paginator(table.rows, 50).get_page(request.GET.get("page"))
    imports = selectors.kpi_import_list(tenant=request.tenant, membership=request.membership)[:10]
    return render(request, "reports/kpi_home.html", {"table": table, "page": page, "imports": imports})


@role_required(REVIEWERS)
def kpi_export(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """The latest-KPIs table as CSV (same people as the page shows)."""
    table = selectors.kpi_latest_table(membership=request.membership)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{request.tenant.slug}-latest-kpis.csv"'
    writer = csv.writer(response)
    writer.writerow(["rep_email", "name", "period_start", *(metric.key for metric in table.metrics)])
    for row in table.rows:
        writer.writerow([
            _safe_cell(row.email), _safe_cell(row.name), row.period_start.isoformat(),
            *("" if value is None else f"{value:g}" for value in row.values),
        ])
    return response


def _safe_cell(text: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; a leading quote keeps them text."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


@role_required(REVIEWERS)
def kpi_import(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """Upload: small files are previewed while you wait; big ones are checked and imported in the background."""
    tenant = request.tenant
    sources = selectors.kpi_source_list(tenant=tenant)
    form = KpiUploadForm(request.POST or None, request.FILES or None)
    refused_status = 400
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        name = form.cleaned_data["source"]
        try:
            # Counted before anything is written: a refused upload leaves no source or import behind.
            enforce(action="kpi_upload", user_id=request.user.id, message=KPI_UPLOAD_LIMITED)
            source = selectors.kpi_source_get_by_name(tenant=tenant, name=name) or services.kpi_source_save(
                tenant=tenant, actor=request.user, name=name
            )
            dry_run = (upload.size or 0) <= services.max_preview_bytes()
            kpi_import = services.kpi_import_upload(
                tenant=tenant, actor=request.user, membership=request.membership, source=source, upload=upload,
                dry_run=dry_run, ratings=form.cleaned_data.get("ratings"),
            )
        except ApplicationError as exc:
            form.add_error("file", exc.message)
            refused_status = 429 if isinstance(exc, RateLimited) else 400
        else:
            if not dry_run:
                messages.info(
                    request, "This file is large, so it is checked and imported in the background. If any row is "
                    "bad, nothing is imported and the problems are listed here.",
                )
            return redirect("kpi_import_detail", tenant_slug=tenant.slug, import_id=kpi_import.id)
    return render(
        request, "reports/kpi_import.html",
        {"form": form, "sources": sources, "preview_limit": services.max_preview_bytes(),
         "max_bytes": services.max_upload_bytes()},
        status=refused_status if form.errors else 200,
    )


@role_required(REVIEWERS)
def kpi_import_detail(request: HttpRequest, tenant_slug: str, import_id: int) -> HttpResponse:
    kpi_import = selectors.kpi_import_get(tenant=request.tenant, membership=request.membership, import_id=import_id)
    reading_form = KpiReadingForm(initial=KpiReadingForm.initial_for(kpi_import.source))
    return render(request, "reports/kpi_import_detail.html", _detail_context(kpi_import, reading_form, request.membership))


def _detail_context(kpi_import, reading_form, membership=None) -> dict:
    agent_choices = []
    if kpi_import.unknown_agents and membership is not None:
        agent_choices = [
            (m.id, m.user.display_name, m.user.email)
            for m in visible_rep_memberships(membership=membership).select_related("user").order_by("user__email")
        ]
    return {
        "agent_choices": agent_choices,
        "can_map_agents": bool(agent_choices) and kpi_import.status in (KpiImportStatus.PREVIEWED, KpiImportStatus.FAILED)
        and bool(kpi_import.stored_path),
        "kpi_import": kpi_import,
        "reading_form": reading_form,
        "can_commit": kpi_import.status == KpiImportStatus.PREVIEWED and not kpi_import.error_count
        and kpi_import.total_rows > 0,
        "can_remap": kpi_import.status in (KpiImportStatus.PREVIEWED, KpiImportStatus.FAILED)
        and bool(kpi_import.stored_path),
        "more_errors": max(0, kpi_import.error_count - len(kpi_import.errors)),
    }


@role_required(REVIEWERS)
def kpi_import_progress(request: HttpRequest, tenant_slug: str, import_id: int) -> HttpResponse:
    """The progress fragment. When the import is done, HTMX reloads the page to show the result."""
    kpi_import = selectors.kpi_import_get(tenant=request.tenant, membership=request.membership, import_id=import_id)
    response = render(request, "reports/partials/_kpi_progress.html", {"kpi_import": kpi_import})
    if kpi_import.is_done and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@require_POST
@role_required(REVIEWERS)
def kpi_import_commit(request: HttpRequest, tenant_slug: str, import_id: int) -> HttpResponse:
    kpi_import = selectors.kpi_import_get(tenant=request.tenant, membership=request.membership, import_id=import_id)
    try:
        services.kpi_import_commit(tenant=request.tenant, actor=request.user, kpi_import=kpi_import)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("kpi_import_detail", tenant_slug=request.tenant.slug, import_id=kpi_import.id)


@require_POST
@role_required(REVIEWERS)
def kpi_import_remap(request: HttpRequest, tenant_slug: str, import_id: int) -> HttpResponse:
    """Saves new reading settings on the import's source and previews the same file again."""
    kpi_import = selectors.kpi_import_get(tenant=request.tenant, membership=request.membership, import_id=import_id)
    form = KpiReadingForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            mapping = {key: data[key] for key in ("rep", "rep_key", "period", "metric", "value", "preset", "timezone")}
            mapping["metrics"] = services.parse_metric_mapping(data["metrics"])
            services.kpi_import_remap(
                tenant=request.tenant, actor=request.user, membership=request.membership, kpi_import=kpi_import,
                settings_={"format": data["format"], "delimiter": data["delimiter"] or "",
                           "date_format": data["date_format"], "column_mapping": mapping},
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Saved the reading settings of “{kpi_import.source.name}” and checked the file again.")
            return redirect("kpi_import_detail", tenant_slug=request.tenant.slug, import_id=kpi_import.id)
    return render(request, "reports/kpi_import_detail.html", _detail_context(kpi_import, form, request.membership),
                  status=400)


@require_POST
@role_required(REVIEWERS)
def kpi_import_agents(request: HttpRequest, tenant_slug: str, import_id: int) -> HttpResponse:
    """Saves the unknown agents' members (or “ignore”) on the import's source and previews again."""
    kpi_import = selectors.kpi_import_get(tenant=request.tenant, membership=request.membership, import_id=import_id)
    choices = []
    for index in range(len(kpi_import.unknown_agents or [])):
        agent = request.POST.get(f"agent_{index}_name", "")
        choices.append((agent, request.POST.get(f"agent_{index}", "")))
    try:
        saved = agent_mappings_save(tenant=request.tenant, actor=request.user, membership=request.membership,
                                    source=kpi_import.source, choices=choices)
        if saved and kpi_import.stored_path:
            services.kpi_import_preview(tenant=request.tenant, membership=request.membership, kpi_import=kpi_import)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if saved:
            messages.success(request, f"Saved {saved} agent{'s' if saved != 1 else ''} on “{kpi_import.source.name}” "
                             "and checked the file again.")
        else:
            messages.info(request, "No agent was chosen; nothing changed.")
    return redirect("kpi_import_detail", tenant_slug=request.tenant.slug, import_id=kpi_import.id)


@role_required(REVIEWERS)
def kpi_metrics(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """The tenant's KPIs; enablement leads and admins add their own."""
    tenant = request.tenant
    can_edit = request.membership.role in AUTHORS
    form = KpiMetricForm(request.POST or None)
    status = 200
    if request.method == "POST":
        require_role(request.membership, AUTHORS)  # managers read the list; leads and admins add
        if form.is_valid():
            try:
                metric = services.kpi_metric_create(tenant=tenant, actor=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                form_apply_errors(form, exc)
            else:
                messages.success(request, f"Added “{metric.label}”. Import files can now carry “{metric.key}”.")
                return redirect("kpi_metrics", tenant_slug=tenant.slug)
        status = 400
    ensure_builtin_metrics(tenant=tenant)
    metrics = selectors.kpi_metric_list(tenant=tenant)
    return render(
        request, "reports/kpi_metrics.html", {"metrics": metrics, "form": form, "can_edit": can_edit}, status=status
    )


@role_required(AUTHORS)
def kpi_metric_edit(request: HttpRequest, tenant_slug: str, metric_id: int) -> HttpResponse:
    """Change a custom KPI's name, unit, direction, accepted range or other names (not its key)."""
    metric = selectors.kpi_metric_get(tenant=request.tenant, metric_id=metric_id)
    if metric.is_builtin:
        messages.error(request, f"“{metric.label}” is built in and can't be changed.")
        return redirect("kpi_metrics", tenant_slug=tenant_slug)
    form = KpiMetricEditForm.for_metric(metric, request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                metric = services.kpi_metric_update(
                    tenant=request.tenant, actor=request.user, metric=metric, **form.cleaned_data
                )
            except ApplicationError as exc:
                form_apply_errors(form, exc)
            else:
                messages.success(request, f"Saved “{metric.label}”.")
                return redirect("kpi_metrics", tenant_slug=tenant_slug)
        status = 400
    return render(request, "reports/kpi_metric_edit.html", {"metric": metric, "form": form}, status=status)


@require_POST
@role_required(AUTHORS)
def kpi_metric_delete(request: HttpRequest, tenant_slug: str, metric_id: int) -> HttpResponse:
    metric = selectors.kpi_metric_get(tenant=request.tenant, metric_id=metric_id)
    try:
        services.kpi_metric_delete(tenant=request.tenant, actor=request.user, metric=metric)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Removed “{metric.label}”.")
    return redirect("kpi_metrics", tenant_slug=tenant_slug)
