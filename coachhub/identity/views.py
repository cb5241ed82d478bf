"""Tenant admin page of the identity app: single sign-on (OpenID Connect or SAML), e-mail domains
and their DNS verification, group mappings, SCIM provisioning tokens."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from coachhub.tenancy.access import ADMIN, role_required
from coachhub.tenancy.models import Membership, Role

from . import selectors, services
from .services import ScimError


class ScimTokenForm(forms.Form):
    name = forms.CharField(label="Token name (which identity provider uses it)", max_length=100)


class SsoAccessForm(forms.Form):
    """What every identity provider's form asks besides the protocol: who gets created, and who may
    still use a password."""

    default_role = forms.ChoiceField(label="Role of people created on first sign-in", choices=Role.choices)
    jit_enabled = forms.BooleanField(label="Create members on their first sign-in", required=False)
    enforce_sso = forms.BooleanField(label="Require single sign-on (no password sign-in)", required=False)
    break_glass = forms.ModelMultipleChoiceField(
        label="Break-glass admins (may still sign in with a password)", queryset=Membership.objects.none(),
        required=False, widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["break_glass"].queryset = (
            Membership.objects.for_tenant(tenant).filter(role=Role.TENANT_ADMIN, is_active=True).select_related("user")
        )
        self.fields["break_glass"].label_from_instance = lambda membership: membership.user.email


class OidcForm(SsoAccessForm):
    field_order = ["issuer", "client_id", "client_secret", "default_role", "jit_enabled", "enforce_sso", "break_glass"]
    issuer = forms.URLField(label="Issuer URL", max_length=200, assume_scheme="https")
    client_id = forms.CharField(label="Client ID", max_length=255)
    client_secret = forms.CharField(label="Client secret (leave empty to keep the saved one)", required=False,
                                    widget=forms.PasswordInput(render_value=False))


class SamlForm(SsoAccessForm):
    field_order = ["metadata_url", "metadata_file", "default_role", "jit_enabled", "allow_idp_initiated",
                   "enforce_sso", "break_glass"]
    metadata_url = forms.URLField(label="Identity provider metadata URL", max_length=1000, required=False,
                                  assume_scheme="https", help_text="CoachHub reads it from the server.")
    metadata_file = forms.FileField(label="…or upload the metadata XML file", required=False)
    allow_idp_initiated = forms.BooleanField(label="Allow sign-in from the identity provider's app dashboard "
                                                   "(IdP-initiated)", required=False)

    def clean_metadata_file(self):
        upload = self.cleaned_data.get("metadata_file")
        if upload is None:
            return ""
        if upload.size > 1_000_000:
            raise forms.ValidationError("The metadata file is larger than 1 MB.")
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise forms.ValidationError("The metadata file isn't UTF-8 XML.") from None


class GroupMappingForm(forms.Form):
    mappings = forms.CharField(
        label="IdP groups (one per line: “group: role, team Team name”)", required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class DomainForm(forms.Form):
    domain = forms.CharField(label="E-mail domain", max_length=253)


@role_required(ADMIN)
def identity_settings(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    provider = selectors.oidc_provider_get(tenant=tenant)
    saml = selectors.saml_provider_get(tenant=tenant)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    saml_form = SamlForm(request.POST if action == "saml" else None, request.FILES if action == "saml" else None,
                         tenant=tenant, prefix="saml", initial={
        "metadata_url": getattr(saml, "metadata_url", ""), "default_role": getattr(saml, "default_role", Role.REP),
        "jit_enabled": getattr(saml, "jit_enabled", True), "enforce_sso": getattr(saml, "enforce_sso", False),
        "allow_idp_initiated": getattr(saml, "allow_idp_initiated", True),
        "break_glass": [row.membership_id for row in selectors.break_glass_list(tenant=tenant)],
    })
    form = ScimTokenForm(request.POST if action == "scim" else None)
    oidc_form = OidcForm(request.POST if action == "oidc" else None, tenant=tenant, initial={
        "issuer": getattr(provider, "issuer", ""), "client_id": getattr(provider, "client_id", ""),
        "default_role": getattr(provider, "default_role", Role.REP), "jit_enabled": getattr(provider, "jit_enabled", True),
        "enforce_sso": getattr(provider, "enforce_sso", False),
        "break_glass": [row.membership_id for row in selectors.break_glass_list(tenant=tenant)],
    })
    domain_form = DomainForm(request.POST if action == "domain" else None)
    mapping_form = GroupMappingForm(request.POST if action == "groups" else None,
                                    initial={"mappings": services.group_mappings_text(tenant=tenant)})
    new_key = None
    if request.method == "POST":
        revoke_id = request.POST.get("revoke")
        if revoke_id:
            token = selectors.scim_token_list(tenant=tenant).filter(pk=revoke_id).first() if revoke_id.isdigit() else None
            if token is not None:
                services.scim_token_revoke(tenant=tenant, actor=request.user, token=token)
                messages.success(request, f"SCIM token “{token.name}” revoked: the identity provider can no longer use it.")
            return redirect("identity_settings", tenant_slug=tenant.slug)
        if action == "oidc" and oidc_form.is_valid():
            try:
                services.oidc_provider_save(tenant=tenant, actor=request.user, **{
                    **oidc_form.cleaned_data, "break_glass": list(oidc_form.cleaned_data["break_glass"]),
                })
            except ScimError as exc:
                oidc_form.add_error("break_glass" if "break-glass" in exc.detail else "issuer", exc.detail)
            else:
                messages.success(request, "OpenID Connect settings saved.")
                return redirect("identity_settings", tenant_slug=tenant.slug)
        if action == "saml" and saml_form.is_valid():
            data = saml_form.cleaned_data
            try:
                services.saml_provider_save(
                    tenant=tenant, actor=request.user, metadata_xml=data["metadata_file"],
                    metadata_url=data["metadata_url"], default_role=data["default_role"],
                    jit_enabled=data["jit_enabled"], enforce_sso=data["enforce_sso"],
                    allow_idp_initiated=data["allow_idp_initiated"], break_glass=list(data["break_glass"]),
                )
            except ScimError as exc:
                field = ("break_glass" if "break-glass" in exc.detail
                         else "metadata_file" if data["metadata_file"] else "metadata_url")
                saml_form.add_error(field, exc.detail)
            else:
                messages.success(request, "SAML settings saved.")
                return redirect("identity_settings", tenant_slug=tenant.slug)
        if action == "verify_domain":
            domain_id = request.POST.get("domain", "")
            row = selectors.sso_domain_list(tenant=tenant).filter(pk=domain_id).first() if domain_id.isdigit() else None
            if row is not None:
                try:
                    services.sso_domain_verify_dns(tenant=tenant, actor=request.user, domain=row)
                except ScimError as exc:
                    messages.error(request, exc.detail)
                else:
                    messages.success(request, f"{row.domain} is verified: its people now sign in through your "
                                              "identity provider.")
            return redirect("identity_settings", tenant_slug=tenant.slug)
        if action == "groups" and mapping_form.is_valid():
            try:
                count = services.group_mappings_replace(tenant=tenant, actor=request.user,
                                                        text=mapping_form.cleaned_data["mappings"])
            except ScimError as exc:
                mapping_form.add_error("mappings", exc.detail)
            else:
                messages.success(request, f"{count} group mapping(s) saved.")
                return redirect("identity_settings", tenant_slug=tenant.slug)
        if action == "domain" and domain_form.is_valid():
            try:
                services.sso_domain_add(tenant=tenant, actor=request.user, domain=domain_form.cleaned_data["domain"])
            except ScimError as exc:
                domain_form.add_error("domain", exc.detail)
            else:
                return redirect("identity_settings", tenant_slug=tenant.slug)
        if action == "scim" and form.is_valid():
            try:
                _, new_key = services.scim_token_create(tenant=tenant, actor=request.user, name=form.cleaned_data["name"])
            except ScimError as exc:
                form.add_error("name", exc.detail)
            else:
                form = ScimTokenForm()
    scim_base = request.build_absolute_uri(reverse("scim_root", kwargs={"scim_tenant": tenant.slug}))
    redirect_uri = request.build_absolute_uri(reverse("sso_oidc_callback", kwargs={"sso_tenant": tenant.slug}))
    saml_urls = {
        "entity_id": request.build_absolute_uri(reverse("sso_saml_metadata", kwargs={"sso_tenant": tenant.slug})),
        "acs": request.build_absolute_uri(reverse("sso_saml_acs", kwargs={"sso_tenant": tenant.slug})),
    }
    return render(request, "identity/settings.html", {
        "tokens": selectors.scim_token_list(tenant=tenant), "form": form, "new_key": new_key, "scim_base": scim_base,
        "provisioned_count": selectors.scim_user_list(tenant=tenant).count(), "oidc_form": oidc_form,
        "provider": provider, "redirect_uri": redirect_uri, "domain_form": domain_form,
        "domains": selectors.sso_domain_list(tenant=tenant), "mapping_form": mapping_form,
        "saml_form": saml_form, "saml": saml, "saml_urls": saml_urls,
    })
