"""The project's URLs with the reports pages and API mounted, for tests that run before (or after)
coachhub/urls.py includes them: mounting twice is avoided by checking first."""

from django.urls import NoReverseMatch, include, path, reverse

from coachhub import urls as project


def _mounted() -> bool:
    try:
        reverse("kpi_home", kwargs={"tenant_slug": "x"}, urlconf=project)
    except NoReverseMatch:
        return False
    return True


if _mounted():
    urlpatterns = project.urlpatterns
else:
    urlpatterns = [
        path("t/<slug:tenant_slug>/", include("reports.urls")),
        path("api/v1/t/<slug:tenant_slug>/", include("reports.api.urls")),
        *project.urlpatterns,
    ]
