"""Pages (mounted under /t/<tenant_slug>/): scenario authoring, the starter library, assignments."""

from django.urls import path

from . import views

urlpatterns = [
    path("scenarios/", views.scenario_list, name="scenario_list"),
    path("scenarios/new/", views.scenario_create, name="scenario_create"),
    path("scenarios/preview/", views.scenario_form_preview, name="scenario_form_preview"),
    path("scenarios/import/", views.scenario_import, name="scenario_import"),
    path("scenarios/export/", views.scenario_export_all, name="scenario_export_all"),
    path("scenarios/library/", views.scenario_library, name="scenario_library"),
    path(
        "scenarios/library/<slug:library_slug>/install/",
        views.scenario_library_install,
        name="scenario_library_install",
    ),
    path("scenarios/<int:scenario_id>/", views.scenario_detail, name="scenario_detail"),
    path("scenarios/<int:scenario_id>/edit/", views.scenario_edit, name="scenario_edit"),
    path("scenarios/<int:scenario_id>/brief/", views.scenario_brief, name="scenario_brief"),
    path("scenarios/<int:scenario_id>/diff/", views.scenario_diff, name="scenario_diff"),
    path("scenarios/<int:scenario_id>/publish/", views.scenario_publish, name="scenario_publish"),
    path("scenarios/<int:scenario_id>/archive/", views.scenario_archive, name="scenario_archive"),
    path("scenarios/<int:scenario_id>/duplicate/", views.scenario_duplicate, name="scenario_duplicate"),
    path("scenarios/<int:scenario_id>/export/", views.scenario_export, name="scenario_export"),
    path("assignments/", views.assignment_list, name="assignment_list"),
    path("assignments/new/", views.assignment_create, name="assignment_create"),
    path("assignments/focus-options/", views.assignment_focus_options, name="assignment_focus_options"),
    path("assignments/<int:assignment_id>/", views.assignment_detail, name="assignment_detail"),
    path("assignments/<int:assignment_id>/cancel/", views.assignment_cancel, name="assignment_cancel"),
]
