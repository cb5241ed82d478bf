"""Program pages, mounted under /t/<tenant_slug>/."""

from django.urls import path

from . import views

urlpatterns = [
    path("programs/", views.program_list, name="program_list"),
    path("programs/new/", views.program_create, name="program_create"),
    path("programs/readiness/", views.readiness_overview, name="readiness_overview"),
    path("programs/mine/", views.my_programs, name="my_programs"),
    path("programs/<int:program_id>/", views.program_detail, name="program_detail"),
    path("programs/<int:program_id>/edit/", views.program_edit, name="program_edit"),
    path("programs/<int:program_id>/archive/", views.program_archive, name="program_archive"),
    path("programs/<int:program_id>/steps/", views.program_step_add, name="program_step_add"),
    path("programs/<int:program_id>/steps/<int:step_id>/remove/", views.program_step_remove,
         name="program_step_remove"),
    path("programs/<int:program_id>/assign/", views.program_assign, name="program_assign"),
    path("programs/<int:program_id>/people/<int:rep_id>/", views.program_readiness, name="program_readiness"),
    path("programs/<int:program_id>/people/<int:rep_id>/live/", views.program_live_decision,
         name="program_live_decision"),
    path("settings/lrs/", views.lrs_settings, name="lrs_settings"),
    path("settings/lti/", views.lti_settings, name="lti_settings"),
    path("settings/lti/rotate-key/", views.lti_key_rotate, name="lti_key_rotate"),
    path("settings/lti/keys/<int:key_id>/retire/", views.lti_key_retire, name="lti_key_retire"),
    path("settings/lti/courses/<int:course_id>/sync/", views.lti_course_sync, name="lti_course_sync"),
    path("cmi5/launch/", views.cmi5_launch, name="cmi5_launch"),
]
