"""Tenant pages under /t/<tenant_slug>/."""

from django.urls import path

from . import views
from .retention import views as retention_views

urlpatterns = [
    path("", views.tenant_home, name="tenant_home"),
    path("people/", views.people, name="people"),
    path("people/import/", views.people_import, name="people_import"),
    path("people/<int:membership_id>/", views.member_detail, name="member_detail"),
    path("people/<int:membership_id>/erase/", retention_views.member_erase, name="member_erase"),
    path(
        "invitations/<int:invitation_id>/resend/",
        views.invitation_action,
        {"verb": "resend"},
        name="invitation_resend",
    ),
    path(
        "invitations/<int:invitation_id>/revoke/",
        views.invitation_action,
        {"verb": "revoke"},
        name="invitation_revoke",
    ),
    path("teams/", views.teams, name="teams"),
    path("teams/<int:team_id>/people/", views.team_link, name="team_link"),
    path("teams/<int:team_id>/edit/", views.team_edit, name="team_edit"),
    path("teams/<int:team_id>/delete/", views.team_delete, name="team_delete"),
    path("audit/", views.audit_log, name="audit_log"),
    path("tokens/", views.api_tokens, name="api_tokens"),
    path("settings/ai/", views.ai_settings, name="ai_settings"),
    path("settings/retention/", retention_views.retention_settings, name="retention_settings"),
]
