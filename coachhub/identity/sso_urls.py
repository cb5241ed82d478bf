"""Anonymous single sign-on routes under /sso/."""

from django.urls import path

from . import sso_views

urlpatterns = [
    path("discover/", sso_views.sso_discover, name="sso_discover"),
    path("<slug:sso_tenant>/oidc/start/", sso_views.oidc_start, name="sso_oidc_start"),
    path("<slug:sso_tenant>/oidc/callback/", sso_views.oidc_callback, name="sso_oidc_callback"),
    path("<slug:sso_tenant>/saml/metadata/", sso_views.saml_metadata, name="sso_saml_metadata"),
    path("<slug:sso_tenant>/saml/start/", sso_views.saml_start, name="sso_saml_start"),
    path("<slug:sso_tenant>/saml/acs/", sso_views.saml_acs, name="sso_saml_acs"),
]
