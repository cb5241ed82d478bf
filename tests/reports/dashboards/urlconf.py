"""The project's URLs with the dashboard pages and API mounted, for tests that run before (or after)
coachhub/urls.py includes them: mounting twice is avoided by checking first."""

from django.urls import NoReverseMatch, include, path, reverse

from tests.reports import urlconf as reports_urlconf


def _mounted() -> bool:
    try:
        reverse("scorecard", kwargs={"tenant_slug": "x"}, urlconf=reports_urlconf)
    except NoReverseMatch:
        return False
    return True


if _mounted():
    urlpatterns = reports_urlconf.urlpatterns
else:
    urlpatterns = [
        path("t/<slug:tenant_slug>/", include("reports.dashboards.urls")),
        path("api/v1/t/<slug:tenant_slug>/", include("reports.dashboards.api_urls")),
        *reports_urlconf.urlpatterns,
    ]
