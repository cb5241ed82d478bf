"""Anonymous single sign-on pages: route an e-mail address to its tenant's identity provider, start
the OpenID Connect sign-in and finish it on the callback."""

from __future__ import annotations

from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from coachhub.core.crypto import decrypt_secret
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Tenant

from . import selectors, services
from .oidc import OidcError, authorization_request, discover, exchange_and_validate

SESSION_KEY = "identity_oidc_pending"


def _refused(request: HttpRequest, message: str, status: int = 403) -> HttpResponse:
    return render(request, "identity/sso_refused.html", {"message": message}, status=status)


def _safe_next(request: HttpRequest, value: str) -> str:
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()},
                                                 require_https=request.is_secure()):
        return value
    return ""


def sso_discover(request: HttpRequest) -> HttpResponse:
    """The login page's first step: an address of a verified SSO domain goes to its IdP; any other
    address goes on to the password form."""
    email = request.GET.get("email", "").strip().lower()
    next_url = _safe_next(request, request.GET.get("next", ""))
    tenant = selectors.sso_tenant_for_email(email=email) if "@" in email else None
    if tenant is not None:
        with tenant_context(tenant):
            provider = selectors.oidc_provider_get(tenant=tenant)
        if provider is not None:
            url = reverse("sso_oidc_start", kwargs={"sso_tenant": tenant.slug})
            # A page, not a redirect: the form's CSP (form-action 'self') also covers the redirects
            # that follow a submission, and the provider is another origin. The page moves on by
            # itself (meta refresh) and offers a link.
            return render(request, "identity/sso_continue.html",
                          {"start_url": f"{url}?{_query(email=email, next=next_url)}"})
    return redirect(f"{reverse('login')}?{_query(email=email, next=next_url)}")


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
