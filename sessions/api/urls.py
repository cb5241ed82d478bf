"""Sessions API routes (mounted under /api/v1/t/<tenant_slug>/)."""

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=True)
router.register("sessions", views.SessionViewSet, basename="api-session")
urlpatterns = router.urls
