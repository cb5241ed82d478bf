"""Resolves the tenant named in the URL and holds it in context for exactly one request.

Pages (`/t/<slug>/…`) also require a logged-in member here: anyone else gets the login page or a
404 that doesn't confirm the tenant exists. API routes (`/api/v1/t/<slug>/…`) check membership in
the tenant API base (`coachhub.tenancy.api.base.TenantAPIMixin`), after DRF has authenticated the session or token.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from coachhub.core.db import release_connections

from .context import tenant_context
from .models import Tenant
from .selectors import membership_by_tenant_slug


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None
        request.membership = None
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        slug = match.kwargs.get("tenant_slug")
        if slug is None:
            return self.get_response(request)

        is_api = request.path_info.startswith("/api/")
        if not is_api and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if is_api:  # the tenant API base checks membership once DRF has authenticated the caller
            tenant = Tenant.objects.filter(slug=slug, is_active=True).first()
        else:
            request.membership = membership_by_tenant_slug(slug=slug, user=request.user)
            tenant = request.membership.tenant if request.membership is not None else None
        if tenant is None:  # no such tenant, or not a member: the same 404
            raise Http404("No such workspace.")
        request.tenant = tenant
        with tenant_context(tenant):
            response = self.get_response(request)
        if getattr(response, "streaming", False):
            # A streamed reply can last seconds (an LLM customer): don't pin this thread's database
            # connection to it. The stream's own database work takes connections briefly.
            release_connections()
        return response
