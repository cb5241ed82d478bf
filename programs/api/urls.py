"""API routes (mounted under /api/v1/t/<tenant_slug>/)."""

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=True)
router.register("programs", views.ProgramViewSet, basename="api-program")
router.register("my-readiness", views.MyReadinessViewSet, basename="api-my-readiness")

urlpatterns = router.urls
