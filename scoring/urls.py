"""Score pages, mounted under /t/<tenant_slug>/ (the session results page loads `session_scores`)."""

from django.urls import path

from . import views

urlpatterns = [
    path("sessions/<int:session_id>/scores/", views.session_scores, name="session_scores"),
    path(
        "sessions/<int:session_id>/scores/behaviors/<int:behavior_score_id>/adjust/",
        views.score_adjust,
        name="score_adjust",
    ),
    path(
        "sessions/<int:session_id>/scores/behaviors/<int:behavior_score_id>/dispute/",
        views.dispute_open,
        name="score_dispute_open",
    ),
    path(
        "sessions/<int:session_id>/scores/disputes/<int:dispute_id>/resolve/",
        views.dispute_resolve,
        name="score_dispute_resolve",
    ),
    path("sessions/<int:session_id>/scores/comments/", views.turn_comment_add, name="turn_comment_add"),
]
