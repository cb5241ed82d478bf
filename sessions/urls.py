"""Role-play pages, mounted under /t/<tenant_slug>/."""

from django.urls import path

from . import realism_views, views

urlpatterns = [
    path("practice/", views.practice, name="practice"),
    path("sessions/", views.session_list, name="session_list"),
    path("sessions/start/", views.session_start, name="session_start"),
    path("sessions/<int:session_id>/", views.session_detail, name="session_detail"),
    path("sessions/<int:session_id>/turns/", views.session_turn, name="session_turn"),
    path("sessions/<int:session_id>/voice/", views.session_voice_turn, name="session_voice_turn"),
    path("sessions/<int:session_id>/reply/", views.session_reply_retry, name="session_reply_retry"),
    path("sessions/<int:session_id>/end/", views.session_end, name="session_end"),
    # The realism check lives with the runner (scenarios may not import sessions); its panel is on the scenario page.
    path("scenarios/<int:scenario_id>/check/", realism_views.scenario_realism_check, name="scenario_realism_check"),
    path(
        "scenarios/<int:scenario_id>/check/status/",
        realism_views.scenario_realism_status,
        name="scenario_realism_status",
    ),
]
