"""Tenant admin pages of the identity app: SCIM provisioning tokens and the endpoint to give the IdP."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from coachhub.tenancy.access import ADMIN, role_required

from . import selectors, services
from .services import ScimError


class ScimTokenForm(forms.Form):
    name = forms.CharField(label="Token name (which identity provider uses it)", max_length=100)


@role_required(ADMIN)
def identity_settings(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    form = ScimTokenForm(request.POST or None)
    new_key = None
    if request.method == "POST":
        revoke_id = request.POST.get("revoke")
        if revoke_id:
            token = selectors.scim_token_list(tenant=tenant).filter(pk=revoke_id).first() if revoke_id.isdigit() else None
            if token is not None:
                services.scim_token_revoke(tenant=tenant, actor=request.user, token=token)
                messages.success(request, f"SCIM token “{token.name}” revoked: the identity provider can no longer use it.")
            return redirect("identity_settings", tenant_slug=tenant.slug)
        if form.is_valid():
            try:
                _, new_key = services.scim_token_create(tenant=tenant, actor=request.user, name=form.cleaned_data["name"])
            except ScimError as exc:
                form.add_error("name", exc.detail)
            else:
                form = ScimTokenForm()
    scim_base = request.build_absolute_uri(reverse("scim_root", kwargs={"scim_tenant": tenant.slug}))
    return render(request, "identity/settings.html", {
        "tokens": selectors.scim_token_list(tenant=tenant), "form": form, "new_key": new_key, "scim_base": scim_base,
        "provisioned_count": selectors.scim_user_list(tenant=tenant).count(),
    })
