"""LTI 1.3 endpoints, mounted at /lti/<lti_tenant>/ (not /t/…: the LMS calls them without a
CoachHub login, so the tenant middleware's login check must not apply)."""

from django.urls import path

from . import lti_views

urlpatterns = [
    path("login/", lti_views.lti_login, name="lti_login"),
    path("launch/", lti_views.lti_launch, name="lti_launch"),
    path("deep-link/", lti_views.lti_deep_link, name="lti_deep_link"),
    path("jwks/", lti_views.lti_jwks, name="lti_jwks"),
]
