"""Tenant pages of the identity app under /t/<tenant_slug>/."""

from django.urls import path

from . import views

urlpatterns = [
    path("settings/identity/", views.identity_settings, name="identity_settings"),
]
