"""SCIM 2.0 routes under /scim/v2/t/<slug>/ (RFC 7644 §3.2 endpoint names)."""

from django.urls import path, re_path

from . import views

urlpatterns = [
    path("", views.NotFoundView.as_view(), name="scim_root"),
    path("ServiceProviderConfig", views.ServiceProviderConfigView.as_view(), name="scim_service_provider_config"),
    path("Schemas", views.SchemasView.as_view(), name="scim_schemas"),
    path("Schemas/<str:schema_id>", views.SchemasView.as_view(), name="scim_schema"),
    path("ResourceTypes", views.ResourceTypesView.as_view(), name="scim_resource_types"),
    path("ResourceTypes/<str:type_id>", views.ResourceTypesView.as_view(), name="scim_resource_type"),
    path("Users", views.UsersView.as_view(), name="scim_users"),
    path("Users/<str:scim_id>", views.UserView.as_view(), name="scim_user"),
    path("Groups", views.GroupsView.as_view(), name="scim_groups"),
    path("Groups/<str:scim_id>", views.GroupView.as_view(), name="scim_group"),
    re_path(r"^(?P<rest>.+)$", views.NotFoundView.as_view(), name="scim_not_found"),
]
