from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=True)
router.register("members", views.MemberViewSet, basename="api-member")
router.register("teams", views.TeamViewSet, basename="api-team")
router.register("invitations", views.InvitationViewSet, basename="api-invitation")
router.register("audit-events", views.AuditEventViewSet, basename="api-audit-event")
router.register("tokens", views.ApiTokenViewSet, basename="api-token")

global_urlpatterns = [
    path("me/", views.MeView.as_view(), name="api-me"),
    path("platform/tenants/", views.PlatformTenantView.as_view(), name="api-platform-tenants"),
]
tenant_urlpatterns = router.urls
