"""API routes (mounted under /api/v1/t/<tenant_slug>/)."""

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=True)
router.register("scenarios", views.ScenarioViewSet, basename="api-scenario")
router.register("scenario-versions", views.VersionViewSet, basename="api-scenario-version")
router.register("assignments", views.AssignmentViewSet, basename="api-assignment")

urlpatterns = router.urls
