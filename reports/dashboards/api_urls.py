"""Dashboard API, mounted under /api/v1/t/<tenant_slug>/."""

from django.urls import path

from .api import ScorecardViewSet

urlpatterns = [
    path("scorecard/", ScorecardViewSet.as_view({"get": "list"}), name="api-scorecard"),
]
