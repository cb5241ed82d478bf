"""Scoring API routes (mounted under /api/v1/t/<tenant_slug>/)."""

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=True)
router.register("session-scores", views.SessionScoreViewSet, basename="api-session-score")
router.register("turn-comments", views.TurnCommentViewSet, basename="api-turn-comment")
router.register("disputes", views.DisputeViewSet, basename="api-dispute")

urlpatterns = router.urls
