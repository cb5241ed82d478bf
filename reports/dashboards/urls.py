"""Dashboard pages, mounted under /t/<tenant_slug>/."""

from django.urls import path

from . import views

urlpatterns = [
    path("scorecard/", views.scorecard, name="scorecard"),
    path("reps/<int:membership_id>/", views.rep_detail, name="rep_detail"),
    path("progress/", views.my_progress, name="my_progress"),
    path("insights/", views.insights, name="insights"),
    path("insights/settings/", views.report_settings, name="report_settings"),
]
