"""Assignment pages for managers (their teams' reps), enablement leads and admins (anyone)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from coachhub.core.errors import ApplicationError
from coachhub.tenancy.access import ASSIGNERS, role_required

from .. import selectors, services
from ..brief import behavior_label
from ..forms import AssignmentForm

_FIELD_OF = {"rep_ids": "reps", "team_ids": "teams", "recipients": None, "scenario": "scenario"}


@role_required(ASSIGNERS)
def assignment_list(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    assignments = selectors.assignment_list(membership=request.membership)[:100]
    rows = [
        {"assignment": a, "progress": selectors.assignment_progress(a), "focus": behavior_label(a.focus_behavior)}
        for a in assignments
    ]
    return render(request, "scenarios/assignments/list.html", {"rows": rows})


def _form(request: HttpRequest, data=None) -> AssignmentForm:
    membership = request.membership
    scenario_id = (data or {}).get("scenario") or request.GET.get("scenario")
    return AssignmentForm(
        data,
        scenarios=selectors.assignable_scenarios(tenant=request.tenant),
        teams=selectors.assignable_teams(membership=membership),
        reps=selectors.assignable_reps(membership=membership),
        behaviors=selectors.published_behaviors(tenant=request.tenant, scenario_id=scenario_id),
        initial={"scenario": request.GET.get("scenario")},
    )


@role_required(ASSIGNERS)
def assignment_create(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    form = _form(request, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            assignment = services.assignment_create(
                tenant=request.tenant,
                assigned_by=request.membership,
                scenario=data["scenario"],
                reps=list(data["reps"]),
                teams=list(data["teams"]),
                due_on=data["due_on"],
                focus_behavior=data["focus_behavior"],
                max_attempts=data["max_attempts"],
                note=data["note"],
            )
        except ApplicationError as exc:
            for name, problem in exc.fields.items():
                field = _FIELD_OF.get(name, name)
                form.add_error(field if field in form.fields else None, f"{problem[0].upper()}{problem[1:]}.")
            if not exc.fields:
                form.add_error(None, exc.message)
        else:
            count = assignment.recipients.count()
            messages.success(request, f"Assigned “{assignment.scenario.title}” to {count} rep(s).")
            return redirect("assignment_detail", tenant_slug=request.tenant.slug, assignment_id=assignment.id)
    return render(
        request, "scenarios/assignments/form.html", {"form": form}, status=400 if form.errors else 200
    )


@role_required(ASSIGNERS)
def assignment_focus_options(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """HTMX: the focus-behavior choices of the scenario just picked."""
    form = _form(request)
    return render(request, "scenarios/assignments/_focus_field.html", {"field": form["focus_behavior"]})


@role_required(ASSIGNERS)
def assignment_detail(request: HttpRequest, tenant_slug: str, assignment_id: int) -> HttpResponse:
    membership = request.membership
    assignment = selectors.assignment_get(membership=membership, assignment_id=assignment_id)
    recipients = selectors.assignment_recipients(membership=membership, assignment=assignment)
    return render(
        request,
        "scenarios/assignments/detail.html",
        {
            "assignment": assignment,
            "recipients": recipients,
            "progress": selectors.assignment_progress(assignment),
            "focus": behavior_label(assignment.focus_behavior) if assignment.focus_behavior else "",
            "can_cancel": assignment.cancelled_at is None
            and (membership.role != "manager" or assignment.assigned_by_id == request.user.id),
        },
    )


@require_POST
@role_required(ASSIGNERS)
def assignment_cancel(request: HttpRequest, tenant_slug: str, assignment_id: int) -> HttpResponse:
    assignment = selectors.assignment_get(membership=request.membership, assignment_id=assignment_id)
    try:
        services.assignment_cancel(tenant=request.tenant, cancelled_by=request.membership, assignment=assignment)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The assignment is cancelled; reps no longer see it.")
    return redirect("assignment_detail", tenant_slug=request.tenant.slug, assignment_id=assignment.id)
