"""Pages of retention and erasure, for tenant admins: the retention settings, and erasing one
person's practice data after a confirmation."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from coachhub.core.errors import ApplicationError, form_apply_errors
from coachhub.tenancy import selectors as tenancy_selectors
from coachhub.tenancy.access import ADMIN, role_required

from . import selectors, services
from .forms import ErasureConfirmForm, RetentionSettingsForm


@role_required(ADMIN)
def retention_settings(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    current = selectors.retention_settings_get(tenant=tenant)
    form = RetentionSettingsForm(
        request.POST or None,
        initial={
            "audio_retention_days": current.audio_retention_days,
            "transcript_retention_days": current.transcript_retention_days,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.retention_settings_update(tenant=tenant, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form_apply_errors(form, exc)
        else:
            messages.success(request, "Retention settings saved. The daily cleanup applies them.")
            return redirect("retention_settings", tenant_slug=tenant.slug)
    last_run = selectors.retention_last_run(tenant=tenant)
    return render(
        request, "tenancy/retention_settings.html",
        {
            "form": form, "current": current, "last_run": last_run,
            "members": tenancy_selectors.member_list(tenant=tenant).exclude(user=request.user),
        },
        status=400 if form.errors else 200,
    )


@role_required(ADMIN)
def member_erase(request: HttpRequest, tenant_slug: str, membership_id: int) -> HttpResponse:
    """Shows what erasing this person removes; a POST with their email typed in erases it."""
    tenant = request.tenant
    member = tenancy_selectors.membership_get(tenant=tenant, membership_id=membership_id)
    form = ErasureConfirmForm(request.POST or None, email=member.user.email)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                counts = services.person_erase(tenant=tenant, actor=request.user, membership=member, via="page")
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                messages.success(
                    request,
                    f"The practice data of {member.user.email} in {tenant.name} was erased "
                    f"({counts['sessions']} session(s)) and they were removed from the organization.",
                )
                return redirect("people", tenant_slug=tenant.slug)
        else:
            status = 400
    summary = selectors.person_data_summary(tenant=tenant, membership=member)
    return render(
        request, "tenancy/member_erase.html", {"member": member, "summary": summary, "form": form}, status=status
    )
