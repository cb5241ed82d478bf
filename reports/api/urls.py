"""KPI API routes (mounted under /api/v1/t/<tenant_slug>/)."""

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=True)
router.register("kpi-imports", views.KpiImportViewSet, basename="api-kpi-import")
router.register("kpi-metrics", views.KpiMetricViewSet, basename="api-kpi-metric")

urlpatterns = router.urls
