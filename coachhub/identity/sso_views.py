"""Anonymous single sign-on pages: route an e-mail address to its tenant's identity provider, start
the OpenID Connect sign-in and finish it on the callback; publish each tenant's SAML service
provider metadata, start SAML sign-ins and consume the assertions."""

from __future__ import annotations

from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from coachhub.core.crypto import decrypt_secret
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Tenant

from . import saml, selectors, services
from .oidc import OidcError, authorization_request, discover, exchange_and_validate

SESSION_KEY = "identity_oidc_pending"


def _refused(request: HttpRequest, message: str, status: int = 403) -> HttpResponse:
    return render(request, "identity/sso_refused.html", {"message": message}, status=status)


def _safe_next(request: HttpRequest, value: str) -> str:
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()},
                                                 require_https=request.is_secure()):
        return value
    return ""


def _start_url(tenant: Tenant, protocol: str, *, email: str, next_url: str) -> str:
    url = reverse(f"sso_{protocol}_start", kwargs={"sso_tenant": tenant.slug})
    return f"{url}?{_query(email=email, next=next_url)}"


def sso_discover(request: HttpRequest) -> HttpResponse:
    """The login page's first step: an address of a verified SSO domain goes to its tenant's IdP
    (OpenID Connect or SAML), or — when several workspaces verified the domain — to a page where
    the person picks the workspace; any other address goes on to the password step."""
    email = request.GET.get("email", "").strip().lower()
    next_url = _safe_next(request, request.GET.get("next", ""))
    tenants = selectors.sso_tenants_for_email(email=email) if "@" in email else []
    choices = []
    for tenant in tenants:
        with tenant_context(tenant):
            protocol = selectors.sso_protocol_for(tenant=tenant)
        if protocol:
            choices.append({"tenant": tenant, "url": _start_url(tenant, protocol, email=email, next_url=next_url)})
    password_url = f"{reverse('login')}?{_query(email=email, next=next_url, method='password')}"
    if len(choices) > 1:
        return render(request, "identity/sso_choose.html", {"choices": choices, "email": email,
                                                             "password_url": password_url})
    if choices:
        # A page, not a redirect: the form's CSP (form-action 'self') also covers the redirects
        # that follow a submission, and the provider is another origin. The page moves on by
        # itself (meta refresh) and offers a link.
        return render(request, "identity/sso_continue.html", {"start_url": choices[0]["url"]})
    return redirect(password_url)


def _query(**params: str) -> str:
    from urllib.parse import urlencode

    return urlencode({key: value for key, value in params.items() if value})


def _tenant_and_provider(slug: str):
    tenant = Tenant.objects.filter(slug=slug, is_active=True).first()
    if tenant is None:
        return None, None
    with tenant_context(tenant):
        return tenant, selectors.oidc_provider_get(tenant=tenant)


def oidc_start(request: HttpRequest, sso_tenant: str) -> HttpResponse:
    tenant, provider = _tenant_and_provider(sso_tenant)
    if provider is None:
        return _refused(request, "This workspace has no single sign-on set up.", status=404)
    redirect_uri = request.build_absolute_uri(reverse("sso_oidc_callback", kwargs={"sso_tenant": tenant.slug}))
    try:
        url, pending = authorization_request(
            discovery=discover(provider.issuer), client_id=provider.client_id, redirect_uri=redirect_uri,
            login_hint=request.GET.get("email", ""),
        )
    except OidcError as exc:
        return _refused(request, str(exc), status=502)
    pending.update(tenant=tenant.pk, next=_safe_next(request, request.GET.get("next", "")))
    request.session[SESSION_KEY] = pending
    return redirect(url)


def oidc_callback(request: HttpRequest, sso_tenant: str) -> HttpResponse:
    tenant, provider = _tenant_and_provider(sso_tenant)
    pending = request.session.pop(SESSION_KEY, None)
    if provider is None:
        return _refused(request, "This workspace has no single sign-on set up.", status=404)
    if request.GET.get("error"):
        return _refused(request, f"The identity provider reported: {request.GET.get('error_description') or request.GET['error']}.")
    if not pending or pending.get("tenant") != tenant.pk or request.GET.get("state") != pending.get("state"):
        return _refused(request, "This sign-in link is stale or was not started here. Start again from the login page.",
                        status=400)
    code = request.GET.get("code", "")
    if not code:
        return _refused(request, "The identity provider sent no sign-in code.", status=400)
    redirect_uri = request.build_absolute_uri(reverse("sso_oidc_callback", kwargs={"sso_tenant": tenant.slug}))
    with tenant_context(tenant):
        try:
            identity = exchange_and_validate(
                discovery=discover(provider.issuer), client_id=provider.client_id,
                client_secret=decrypt_secret(provider.client_secret_encrypted), redirect_uri=redirect_uri,
                code=code, pending=pending,
            )
            user = services.oidc_sign_in(tenant=tenant, provider=provider, identity=identity)
        except OidcError as exc:
            return _refused(request, str(exc), status=502)
        except services.SsoRefused as exc:
            return _refused(request, str(exc))
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect(pending.get("next") or reverse("tenant_home", kwargs={"tenant_slug": tenant.slug}))


# --- SAML 2.0 -----------------------------------------------------------------------------------------


def _saml_urls(request: HttpRequest, tenant: Tenant) -> tuple[str, str]:
    """This tenant's entity ID (the URL of its metadata) and assertion consumer service."""
    entity_id = request.build_absolute_uri(reverse("sso_saml_metadata", kwargs={"sso_tenant": tenant.slug}))
    acs = request.build_absolute_uri(reverse("sso_saml_acs", kwargs={"sso_tenant": tenant.slug}))
    return entity_id, acs


def saml_metadata(request: HttpRequest, sso_tenant: str) -> HttpResponse:
    """The service provider metadata of this workspace, for its identity provider (public: it holds
    the entity ID and ACS URL only). Published before SAML is set up, so the IdP side can go first."""
    tenant = Tenant.objects.filter(slug=sso_tenant, is_active=True).first()
    if tenant is None:
        return _refused(request, "There is no such workspace.", status=404)
    entity_id, acs = _saml_urls(request, tenant)
    try:
        xml = saml.sp_metadata(entity_id=entity_id, acs_url=acs)
    except saml.SamlError as exc:
        return _refused(request, str(exc), status=503)
    response = HttpResponse(xml, content_type="application/samlmetadata+xml; charset=utf-8")
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="coachhub-{tenant.slug}-saml-metadata.xml"'
    return response


def _tenant_and_saml(slug: str):
    tenant = Tenant.objects.filter(slug=slug, is_active=True).first()
    if tenant is None:
        return None, None
    with tenant_context(tenant):
        return tenant, selectors.saml_provider_get(tenant=tenant)


def saml_start(request: HttpRequest, sso_tenant: str) -> HttpResponse:
    """SP-initiated sign-in: an AuthnRequest to the identity provider (HTTP-Redirect binding)."""
    tenant, provider = _tenant_and_saml(sso_tenant)
    if provider is None:
        return _refused(request, "This workspace has no SAML single sign-on set up.", status=404)
    entity_id, acs = _saml_urls(request, tenant)
    try:
        request_id, url = saml.authn_request(entity_id=entity_id, acs_url=acs, metadata_xml=provider.metadata_xml)
    except saml.SamlError as exc:
        return _refused(request, str(exc), status=502)
    with tenant_context(tenant):
        services.saml_request_remember(tenant=tenant, request_id=request_id,
                                       next_url=_safe_next(request, request.GET.get("next", "")))
    return redirect(url)


@csrf_exempt  # posted by the identity provider; the signed assertion is what authenticates it
@require_POST
def saml_acs(request: HttpRequest, sso_tenant: str) -> HttpResponse:
    """The assertion consumer service: checks the signed assertion, then signs the person in.
    Every refusal names its reason and is in the tenant's audit log."""
    tenant, provider = _tenant_and_saml(sso_tenant)
    if provider is None:
        return _refused(request, "This workspace has no SAML single sign-on set up.", status=404)
    entity_id, acs = _saml_urls(request, tenant)
    with tenant_context(tenant):
        in_response_to = saml.in_response_to(request.POST.get("SAMLResponse", ""))
        next_url = ""
        outstanding = {}
        if in_response_to:
            fresh, next_url = services.saml_request_claim(tenant=tenant, request_id=in_response_to)
            if not fresh:
                services.sso_refusal_record(
                    tenant=tenant, reason="The response answers a sign-in request this workspace didn't make, or one "
                                          "that has expired or was already answered. Start again from the login page.")
                return _refused(request, "This sign-in answers a request CoachHub didn't make, or one that expired or "
                                         "was already used. Start again from the login page.", status=400)
            outstanding = {in_response_to: next_url}
        elif not provider.allow_idp_initiated:
            reason = ("This workspace accepts only sign-ins started at CoachHub: use the login page rather than the "
                      "identity provider's dashboard.")
            services.sso_refusal_record(tenant=tenant, reason=reason)
            return _refused(request, reason)
        try:
            identity = saml.validate_response(entity_id=entity_id, acs_url=acs, metadata_xml=provider.metadata_xml,
                                              saml_response=request.POST.get("SAMLResponse", ""),
                                              outstanding=outstanding)
        except saml.SamlError as exc:
            services.sso_refusal_record(tenant=tenant, reason=str(exc))
            return _refused(request, str(exc))
        try:
            user = services.saml_sign_in(tenant=tenant, provider=provider, identity=identity)
        except services.SsoRefused as exc:
            return _refused(request, str(exc))
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    relay = _safe_next(request, request.POST.get("RelayState", "")) if not in_response_to else ""
    return redirect(next_url or relay or reverse("tenant_home", kwargs={"tenant_slug": tenant.slug}))
