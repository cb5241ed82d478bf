"""KPI pages, mounted under /t/<tenant_slug>/."""

from django.urls import path

from . import views
from .views import helpdesk_pulls

urlpatterns = [
    path("kpis/", views.kpi_home, name="kpi_home"),
    path("kpis/export.csv", views.kpi_export, name="kpi_export"),
    path("kpis/import/", views.kpi_import, name="kpi_import"),
    path("kpis/metrics/", views.kpi_metrics, name="kpi_metrics"),
    path("kpis/metrics/<int:metric_id>/edit/", views.kpi_metric_edit, name="kpi_metric_edit"),
    path("kpis/metrics/<int:metric_id>/delete/", views.kpi_metric_delete, name="kpi_metric_delete"),
    path("kpis/imports/<int:import_id>/", views.kpi_import_detail, name="kpi_import_detail"),
    path("kpis/imports/<int:import_id>/progress/", views.kpi_import_progress, name="kpi_import_progress"),
    path("kpis/imports/<int:import_id>/commit/", views.kpi_import_commit, name="kpi_import_commit"),
    path("kpis/imports/<int:import_id>/mapping/", views.kpi_import_remap, name="kpi_import_remap"),
    path("kpis/imports/<int:import_id>/agents/", views.kpi_import_agents, name="kpi_import_agents"),
    path("kpis/helpdesks/", helpdesk_pulls.helpdesk_connections, name="helpdesk_connections"),
    path("kpis/helpdesks/<slug:vendor>/", helpdesk_pulls.helpdesk_connection, name="helpdesk_connection"),
    path("kpis/helpdesks/<slug:vendor>/disconnect/", helpdesk_pulls.helpdesk_disconnect, name="helpdesk_disconnect"),
    path("kpis/helpdesks/<slug:vendor>/sync/", helpdesk_pulls.helpdesk_sync, name="helpdesk_sync"),
    path("kpis/helpdesks/<slug:vendor>/agents/", helpdesk_pulls.helpdesk_agents, name="helpdesk_agents"),
]
