"""URL map. Tenant pages live under /t/<tenant_slug>/, the tenant API under /api/v1/t/<tenant_slug>/."""

from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from coachhub.tenancy import views as tenancy_views
from coachhub.tenancy.api import urls as tenancy_api

from . import views

# Swagger UI and Redoc write their styles through the CSS object model into <style> elements they
# insert empty (styled-components' "speedy" mode): their pages allow exactly the empty inline style
# (its SHA-256), which can style nothing by itself. Everything else stays 'self'.
# Redoc also inserts perfect-scrollbar's fixed stylesheet as text: allowed by its hash (a Redoc
# upgrade that changes it shows up as a CSP violation in the browser tests).
EMPTY_STYLE_HASH = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
REDOC_SCROLLBAR_STYLE_HASH = "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='"


def api_reference(view, *style_hashes: str):
    return csp_update({"style-src": [EMPTY_STYLE_HASH, *style_hashes]})(view)


tenant_api_patterns = [
    *tenancy_api.tenant_urlpatterns,
    path("", include("scenarios.api.urls")),
    path("", include("sessions.api.urls")),
    path("", include("scoring.api.urls")),
    path("", include("reports.api.urls")),
    path("", include("reports.dashboards.api_urls")),
    path("", include("programs.api.urls")),
    path("", include("coachhub.identity.api_urls")),
]

tenant_page_patterns = [
    path("", include("coachhub.tenancy.urls")),
    path("", include("scenarios.urls")),
    path("", include("sessions.urls")),
    path("", include("scoring.urls")),
    path("", include("reports.urls")),
    path("", include("reports.dashboards.urls")),
    path("", include("programs.urls")),
    path("", include("coachhub.identity.urls")),
]

api_v1_patterns = [
    *tenancy_api.global_urlpatterns,
    path("t/<slug:tenant_slug>/", include(tenant_api_patterns)),
]

urlpatterns = [
    path("", tenancy_views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", tenancy_views.EmailLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password-reset/", tenancy_views.ThrottledPasswordResetView.as_view(), name="password_reset"),
    path("accounts/password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("invite/<str:token>/", tenancy_views.invitation_accept, name="invitation_accept"),
    path("platform/tenants/", tenancy_views.platform_tenants, name="platform_tenants"),
    path("t/<slug:tenant_slug>/", include(tenant_page_patterns)),
    path("lti/<slug:lti_tenant>/", include("programs.lti_urls")),
    path("api/v1/", include(api_v1_patterns)),
    path("scim/v2/t/<slug:scim_tenant>/", include("coachhub.identity.scim.urls")),
    path("sso/", include("coachhub.identity.sso_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_reference(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    path("api/redoc/", api_reference(SpectacularRedocView.as_view(url_name="api-schema"), REDOC_SCROLLBAR_STYLE_HASH), name="api-redoc"),
    path("admin/", admin.site.urls),
]

# API callers get JSON errors even where DRF isn't involved (unresolvable URLs, unknown tenants).
handler400 = "coachhub.core.errors.bad_request"
handler403 = "coachhub.core.errors.permission_denied"
handler404 = "coachhub.core.errors.page_not_found"
handler500 = "coachhub.core.errors.server_error"
