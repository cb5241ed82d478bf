"""Program pages (mounted under /t/<tenant_slug>/): leads build and assign programs, managers follow
readiness and decide "ready for live", reps see their progress."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from coachhub.core.errors import ApplicationError, form_apply_errors
from coachhub.tenancy.access import ADMIN, ALL_ROLES, ASSIGNERS, AUTHORS, REVIEWERS, role_required
from scenarios import selectors as scenario_selectors
from scenarios.models import ScenarioVersion, VersionStatus

from . import lti, selectors, services, statements
from .forms import (
    LiveDecisionForm,
    LRSSettingsForm,
    LTIPlatformForm,
    ProgramAssignForm,
    ProgramForm,
    StepForm,
)
from .models import LiveStatus, LTICourse, LTIPlatform, LTIToolKey, StatementOutbox


def _step_form(request: HttpRequest, data=None) -> StepForm:
    return StepForm(data, scenarios=scenario_selectors.assignable_scenarios(tenant=request.tenant))


@role_required(REVIEWERS)
def program_list(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    programs = selectors.program_list(membership=request.membership)
    return render(request, "programs/list.html", {
        "programs": programs, "can_author": request.membership.role in AUTHORS,
    })


@role_required(AUTHORS)
def program_create(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    form = ProgramForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            program = services.program_create(tenant=request.tenant, actor=request.membership, **form.cleaned_data)
        except ApplicationError as exc:
            form_apply_errors(form, exc)
        else:
            messages.success(request, f"Program “{program.title}” created. Now add its scenarios and pass marks.")
            return redirect("program_detail", tenant_slug=request.tenant.slug, program_id=program.id)
    return render(request, "programs/form.html", {"form": form}, status=400 if form.errors else 200)


@role_required(AUTHORS)
def program_edit(request: HttpRequest, tenant_slug: str, program_id: int) -> HttpResponse:
    program = selectors.program_get(membership=request.membership, program_id=program_id)
    initial = {"title": program.title, "description": program.description, "is_ordered": program.is_ordered,
               "due_on": program.due_on, "max_attempts": program.max_attempts}
    form = ProgramForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.program_update(tenant=request.tenant, actor=request.membership, program=program,
                                    **form.cleaned_data)
        except ApplicationError as exc:
            form_apply_errors(form, exc)
        else:
            messages.success(request, "Program saved.")
            return redirect("program_detail", tenant_slug=request.tenant.slug, program_id=program.id)
    return render(request, "programs/form.html", {"form": form, "program": program},
                  status=400 if form.errors else 200)


def _detail_context(request: HttpRequest, program, step_form: StepForm | None = None) -> dict:
    membership = request.membership
    steps = selectors.program_steps(program=program)
    rows = selectors.readiness_rows(
        tenant=request.tenant, enrollments=selectors.enrollment_list(membership=membership, program=program)
    )
    return {
        "program": program,
        "steps": steps,
        "rows": rows,
        "can_author": membership.role in AUTHORS and program.archived_at is None,
        "can_assign": membership.role in ASSIGNERS and program.archived_at is None and bool(steps),
        "step_form": step_form or _step_form(request),
        "behavior_label": selectors.behavior_label,
    }


@role_required(REVIEWERS)
def program_detail(request: HttpRequest, tenant_slug: str, program_id: int) -> HttpResponse:
    program = selectors.program_get(membership=request.membership, program_id=program_id)
    return render(request, "programs/detail.html", _detail_context(request, program))


@require_POST
@role_required(AUTHORS)
def program_step_add(request: HttpRequest, tenant_slug: str, program_id: int) -> HttpResponse:
    program = selectors.program_get(membership=request.membership, program_id=program_id)
    form = _step_form(request, request.POST)
    if form.is_valid():
        try:
            step = services.program_step_add(
                tenant=request.tenant, actor=request.membership, program=program,
                scenario=form.cleaned_data["scenario"], pass_overall=form.cleaned_data["pass_overall"],
                behavior_minimums=form.minimums(),
            )
        except ApplicationError as exc:
            minimums = exc.fields.pop("behavior_minimums", None)
            if minimums:
                form.add_error(None, minimums)
            if exc.fields or not minimums:
                form_apply_errors(form, exc)
        else:
            messages.success(request, f"“{step.scenario.title}” added with a pass mark of {step.pass_overall}.")
            return redirect("program_detail", tenant_slug=request.tenant.slug, program_id=program.id)
    return render(request, "programs/detail.html", _detail_context(request, program, form), status=400)


@require_POST
@role_required(AUTHORS)
def program_step_remove(request: HttpRequest, tenant_slug: str, program_id: int, step_id: int) -> HttpResponse:
    program = selectors.program_get(membership=request.membership, program_id=program_id)
    step = selectors.step_get(program=program, step_id=step_id)
    try:
        services.program_step_remove(tenant=request.tenant, actor=request.membership, step=step)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Scenario removed from the program.")
    return redirect("program_detail", tenant_slug=request.tenant.slug, program_id=program.id)


@require_POST
@role_required(AUTHORS)
def program_archive(request: HttpRequest, tenant_slug: str, program_id: int) -> HttpResponse:
    program = selectors.program_get(membership=request.membership, program_id=program_id)
    try:
        services.program_archive(tenant=request.tenant, actor=request.membership, program=program)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Program archived; reps no longer see it.")
    return redirect("program_detail", tenant_slug=request.tenant.slug, program_id=program.id)


@role_required(ASSIGNERS)
def program_assign(request: HttpRequest, tenant_slug: str, program_id: int) -> HttpResponse:
    membership = request.membership
    program = selectors.program_get(membership=membership, program_id=program_id)
    form = ProgramAssignForm(
        request.POST if request.method == "POST" else None,
        teams=scenario_selectors.assignable_teams(membership=membership),
        reps=scenario_selectors.assignable_reps(membership=membership),
    )
    if request.method == "POST" and form.is_valid():
        try:
            enrolled = services.program_assign(
                tenant=request.tenant, actor=membership, program=program,
                reps=list(form.cleaned_data["reps"]), teams=list(form.cleaned_data["teams"]),
            )
        except ApplicationError as exc:
            form_apply_errors(form, exc)
        else:
            messages.success(request, f"“{program.title}” assigned: {len(enrolled)} rep(s) newly enrolled.")
            return redirect("program_detail", tenant_slug=request.tenant.slug, program_id=program.id)
    return render(request, "programs/assign.html", {"form": form, "program": program},
                  status=400 if form.errors else 200)


def _readiness_context(request: HttpRequest, program, enrollment, form=None) -> dict:
    readiness = selectors.readiness_for(tenant=request.tenant, enrollments=[enrollment])[enrollment.id]
    return {
        "program": program, "enrollment": enrollment, "readiness": readiness,
        "behavior_label": selectors.behavior_label, "form": form or LiveDecisionForm(),
        "can_confirm": enrollment.live_status != LiveStatus.CONFIRMED and readiness.state == "ready",
        "can_withdraw": enrollment.live_status == LiveStatus.CONFIRMED,
    }


@role_required(REVIEWERS)
def program_readiness(request: HttpRequest, tenant_slug: str, program_id: int, rep_id: int) -> HttpResponse:
    program = selectors.program_get(membership=request.membership, program_id=program_id)
    enrollment = selectors.enrollment_get(membership=request.membership, program=program, rep_id=rep_id)
    return render(request, "programs/readiness.html", _readiness_context(request, program, enrollment))


@require_POST
@role_required(REVIEWERS)
def program_live_decision(request: HttpRequest, tenant_slug: str, program_id: int, rep_id: int) -> HttpResponse:
    program = selectors.program_get(membership=request.membership, program_id=program_id)
    enrollment = selectors.enrollment_get(membership=request.membership, program=program, rep_id=rep_id)
    form = LiveDecisionForm(request.POST)
    if form.is_valid():
        try:
            services.live_decide(tenant=request.tenant, actor=request.membership, enrollment=enrollment,
                                 decision=form.cleaned_data["decision"], reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            form_apply_errors(form, exc)
            status = exc.status_code
        else:
            decided = "confirmed ready for live" if form.cleaned_data["decision"] == LiveStatus.CONFIRMED else "withdrawn from live work"
            messages.success(request, f"{enrollment.membership.user.display_name} {decided}.")
            return redirect("program_readiness", tenant_slug=request.tenant.slug, program_id=program.id,
                            rep_id=enrollment.membership_id)
    else:
        status = 400
    enrollment.refresh_from_db()
    return render(request, "programs/readiness.html", _readiness_context(request, program, enrollment, form),
                  status=status)


@role_required(REVIEWERS)
def readiness_overview(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    groups = selectors.readiness_overview(membership=request.membership)
    return render(request, "programs/overview.html", {"groups": groups, "behavior_label": selectors.behavior_label})


def _published_versions(tenant, scenario_ids) -> dict[int, ScenarioVersion]:
    versions = ScenarioVersion.objects.for_tenant(tenant).filter(scenario_id__in=scenario_ids, status=VersionStatus.PUBLISHED)
    return {version.scenario_id: version for version in versions}


@role_required(ALL_ROLES)
def my_programs(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    rows = selectors.readiness_rows(tenant=request.tenant, enrollments=selectors.my_enrollments(membership=request.membership))
    scenario_ids = {step.marks.scenario_id for row in rows for step in row["readiness"].steps}
    return render(request, "programs/mine.html", {
        "rows": rows, "versions": _published_versions(request.tenant, scenario_ids),
        "behavior_label": selectors.behavior_label,
    })


@role_required(ADMIN)
def lrs_settings(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """The tenant admin points CoachHub at the tenant's Learning Record Store."""
    tenant = request.tenant
    current = statements.lrs_settings_get(tenant=tenant)
    initial = {"endpoint": current.endpoint, "username": current.username, "is_enabled": current.is_enabled} if current else {}
    form = LRSSettingsForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            statements.lrs_settings_update(tenant=tenant, actor=request.membership, **form.cleaned_data)
        except ApplicationError as exc:
            form_apply_errors(form, exc)
        else:
            messages.success(request, "LRS settings saved.")
            return redirect("lrs_settings", tenant_slug=tenant.slug)
    outbox = StatementOutbox.objects.for_tenant(tenant)
    counts = {status: outbox.filter(status=status).count() for status in ("pending", "sent", "rejected")}
    recent_error = outbox.exclude(last_error="").order_by("-id").values_list("last_error", flat=True).first()
    return render(request, "programs/lrs_settings.html",
                  {"form": form, "current": current, "counts": counts, "recent_error": recent_error},
                  status=400 if form.errors else 200)


@role_required(ADMIN)
def lti_settings(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """The tenant admin registers LMSs (LTI 1.3 platforms) and sees what to enter in them."""
    tenant = request.tenant
    form = LTIPlatformForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            platform = lti.platform_register(tenant=tenant, actor=request.membership, **form.cleaned_platform())
        except ApplicationError as exc:
            form_apply_errors(form, exc)
        else:
            messages.success(request, f"“{platform.name}” registered.")
            return redirect("lti_settings", tenant_slug=tenant.slug)
    base = request.build_absolute_uri(f"/lti/{tenant.slug}/")
    return render(request, "programs/lti_settings.html", {
        "form": form, "platforms": LTIPlatform.objects.for_tenant(tenant).order_by("name"),
        "keys": LTIToolKey.objects.for_tenant(tenant).filter(retired_at__isnull=True),
        "courses": LTICourse.objects.for_tenant(tenant).select_related("platform").order_by("title", "id"),
        "tool": {"login": f"{base}login/", "launch": f"{base}launch/", "jwks": f"{base}jwks/"},
    }, status=400 if form.errors else 200)


@require_POST
@role_required(ADMIN)
def lti_key_rotate(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    lti.tool_key_rotate(tenant=request.tenant, actor=request.user)
    messages.success(request, "A new signing key is in use. Retire the old one once your LMSs have fetched the new "
                              "key set (they do on their next launch or grade).")
    return redirect("lti_settings", tenant_slug=request.tenant.slug)


@require_POST
@role_required(ADMIN)
def lti_key_retire(request: HttpRequest, tenant_slug: str, key_id: int) -> HttpResponse:
    from django.shortcuts import get_object_or_404

    keys = LTIToolKey.objects.for_tenant(request.tenant).filter(retired_at__isnull=True)
    key = get_object_or_404(keys, id=key_id)
    if keys.count() <= 1:
        messages.error(request, "This is the only signing key: rotate first, then retire the old one.")
    else:
        lti.tool_key_retire(tenant=request.tenant, key=key, actor=request.user)
        messages.success(request, "Key retired; it is no longer published.")
    return redirect("lti_settings", tenant_slug=request.tenant.slug)


@require_POST
@role_required(ADMIN)
def lti_course_sync(request: HttpRequest, tenant_slug: str, course_id: int) -> HttpResponse:
    """Bring a course's learners in from the LMS roster (Names and Role Provisioning Services)."""
    from django.shortcuts import get_object_or_404

    course = get_object_or_404(LTICourse.objects.for_tenant(request.tenant), id=course_id)
    try:
        summary = lti.course_members_sync(tenant=request.tenant, actor=request.membership, course=course)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Roster of “{course}” synced: {summary.added} added as reps, {summary.matched} "
                                  f"already members, {summary.skipped_not_learner} not learners (invite them), "
                                  f"{summary.skipped_no_email} without an email.")
    return redirect("lti_settings", tenant_slug=request.tenant.slug)


@role_required(ALL_ROLES)
def cmi5_launch(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """An LMS launches a scenario as a cmi5 assignable unit for the signed-in member."""
    from . import cmi5

    try:
        launch = cmi5.launch_parse(tenant=request.tenant, params=request.GET)
        version = ScenarioVersion.objects.for_tenant(request.tenant).filter(
            scenario_id=launch.scenario_id, status=VersionStatus.PUBLISHED, scenario__archived_at__isnull=True).first()
        if version is None:
            raise ApplicationError("The scenario of this launch is no longer published in CoachHub.",
                                   code="scenario_not_published", status_code=404)
        started = cmi5.launch_start(tenant=request.tenant, membership=request.membership, request=launch,
                                    version=version)
    except ApplicationError as exc:
        return render(request, "programs/lti_error.html", {"message": exc.message}, status=exc.status_code)
    return redirect("session_detail", tenant_slug=request.tenant.slug, session_id=started.session_id)
