"""Identity API routes (mounted under /api/v1/t/<tenant_slug>/)."""

from django.urls import path

from . import api

urlpatterns = [
    path("identity/oidc/", api.OidcProviderView.as_view(), name="api-identity-oidc"),
    path("identity/saml/", api.SamlProviderView.as_view(), name="api-identity-saml"),
]
