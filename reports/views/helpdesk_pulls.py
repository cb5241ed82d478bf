"""Help-desk API connections (tenant admins): connect Zendesk, Freshdesk or Intercom with an API
token (never shown again), replace it, disconnect, sync now, and see how the last sync went."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from coachhub.core.errors import ApplicationError, form_apply_errors
from coachhub.tenancy.access import ADMIN, role_required
from coachhub.tenancy.selectors import visible_rep_memberships

from ..helpdesk.pulls import selectors, services
from ..helpdesk.pulls.vendors import VENDORS


class ConnectionForm(forms.Form):
    subdomain = forms.CharField(label="Subdomain", max_length=100, required=False)
    login_email = forms.CharField(label="Agent e-mail", max_length=254, required=False,
                                  widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    token = forms.CharField(label="API token", max_length=2000, strip=True,
                            widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False))

    def __init__(self, *args, vendor, connection=None, **kwargs):
        super().__init__(*args, **kwargs)
        if vendor.needs_subdomain:
            self.fields["subdomain"].required = True
            self.fields["subdomain"].help_text = f"Only the subdomain: {vendor.subdomain_hint}."
            if connection is not None:
                self.fields["subdomain"].initial = connection.subdomain
        else:
            del self.fields["subdomain"]
        if vendor.needs_login_email:
            self.fields["login_email"].required = True
            self.fields["login_email"].help_text = "The agent whose API token this is (Zendesk signs in as them)."
            if connection is not None:
                self.fields["login_email"].initial = connection.login_email
        else:
            del self.fields["login_email"]
        self.fields["token"].help_text = vendor.token_hint + (
            " The stored token is never shown; paste a new one to replace it." if connection is not None
            else " It is stored encrypted and never shown again.")


def _vendor(key: str):
    vendor = VENDORS.get(key)
    if vendor is None:
        raise Http404("No such help desk.")
    return vendor


@role_required(ADMIN)
def helpdesk_connections(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    views = selectors.helpdesk_vendor_list(tenant=request.tenant)
    return render(request, "reports/helpdesk/connections.html", {"views": views})


@role_required(ADMIN)
def helpdesk_connection(request: HttpRequest, tenant_slug: str, vendor: str) -> HttpResponse:
    """The source's page: connect or replace the token (POST), and the last sync."""
    chosen = _vendor(vendor)
    connection = selectors.helpdesk_connection_get(tenant=request.tenant, vendor_key=chosen.key)
    form = ConnectionForm(request.POST or None, vendor=chosen, connection=connection)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.helpdesk_connect(
                    tenant=request.tenant, actor=request.user, vendor_key=chosen.key,
                    token=form.cleaned_data["token"], subdomain=form.cleaned_data.get("subdomain", ""),
                    login_email=form.cleaned_data.get("login_email", ""),
                )
            except ApplicationError as exc:
                form_apply_errors(form, exc)
            else:
                messages.success(request, f"{chosen.label} {'token replaced' if connection else 'connected'}. "
                                 "It syncs every night; use Sync now to pull right away.")
                return redirect("helpdesk_connection", tenant_slug=request.tenant.slug, vendor=chosen.key)
        status = 400
    agent_choices = []
    if connection is not None and connection.unknown_agents:
        agent_choices = [
            (m.id, m.user.display_name, m.user.email)
            for m in visible_rep_memberships(membership=request.membership).select_related("user").order_by("user__email")
        ]
    return render(request, "reports/helpdesk/connection.html", {
        "vendor": chosen, "connection": connection, "form": form, "agent_choices": agent_choices,
        "errors": (connection.last_counts or {}).get("errors", []) if connection else [],
    }, status=status)


@require_POST
@role_required(ADMIN)
def helpdesk_disconnect(request: HttpRequest, tenant_slug: str, vendor: str) -> HttpResponse:
    chosen = _vendor(vendor)
    try:
        services.helpdesk_disconnect(tenant=request.tenant, actor=request.user, vendor_key=chosen.key)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{chosen.label} disconnected. Its token and pulled tickets are deleted; the KPI "
                         "values already imported stay.")
    return redirect("helpdesk_connection", tenant_slug=request.tenant.slug, vendor=chosen.key)


@require_POST
@role_required(ADMIN)
def helpdesk_sync(request: HttpRequest, tenant_slug: str, vendor: str) -> HttpResponse:
    chosen = _vendor(vendor)
    try:
        services.helpdesk_sync_request(tenant=request.tenant, actor=request.user, vendor_key=chosen.key)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.info(request, f"{chosen.label} sync started; the result shows here when it is done.")
    return redirect("helpdesk_connection", tenant_slug=request.tenant.slug, vendor=chosen.key)


@require_POST
@role_required(ADMIN)
def helpdesk_agents(request: HttpRequest, tenant_slug: str, vendor: str) -> HttpResponse:
    """Maps (or ignores) the agents that held the last sync back, on the connection's source."""
    chosen = _vendor(vendor)
    connection = selectors.helpdesk_connection_get(tenant=request.tenant, vendor_key=chosen.key)
    unknown = (connection.unknown_agents or []) if connection else []
    choices = [(request.POST.get(f"agent_{i}_name", ""), request.POST.get(f"agent_{i}", "")) for i in range(len(unknown))]
    try:
        saved = services.helpdesk_agents_map(tenant=request.tenant, actor=request.user, membership=request.membership,
                                             vendor_key=chosen.key, choices=choices)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if saved:
            messages.success(request, f"Saved {saved} agent{'s' if saved != 1 else ''}. Use Sync now to pull again.")
        else:
            messages.info(request, "No agent was chosen; nothing changed.")
    return redirect("helpdesk_connection", tenant_slug=request.tenant.slug, vendor=chosen.key)
