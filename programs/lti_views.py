"""LTI 1.3 endpoints, one set per tenant under /lti/<tenant>/: OIDC login initiation, launch, the
Deep Linking picker, and the tool's JWKS. The LMS calls them without a CoachHub login; the
registration's signature is what authenticates a launch."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pylti1p3.contrib.django import DjangoMessageLaunch, DjangoOIDCLogin
from pylti1p3.contrib.django.launch_data_storage.cache import DjangoCacheDataStorage
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException

from coachhub.core.errors import ApplicationError
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Tenant
from scenarios import selectors as scenario_selectors
from scenarios.models import ScenarioVersion, VersionStatus

from . import lti
from .models import LTIPlatform

logger = logging.getLogger(__name__)


def _tenant(slug: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug, is_active=True).first()
    if tenant is None:
        raise Http404("No such workspace.")
    return tenant


def _refuse(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    return render(request, "programs/lti_error.html", {"message": message}, status=status)


def _storage() -> DjangoCacheDataStorage:
    return DjangoCacheDataStorage(cache_name="default")


@require_http_methods(["GET", "POST"])
@csrf_exempt
def lti_login(request: HttpRequest, lti_tenant: str) -> HttpResponse:
    tenant = _tenant(lti_tenant)
    with tenant_context(tenant):
        params = request.POST if request.method == "POST" else request.GET
        target = params.get("target_link_uri")
        if not target:
            return _refuse(request, "The LMS didn't say where to launch (target_link_uri is missing).")
        issuer, client_id = params.get("iss", ""), params.get("client_id", "")
        known = lti.platform_for(tenant, issuer=issuer, client_id=client_id) if client_id else (
            LTIPlatform.objects.for_tenant(tenant).filter(issuer=issuer).first())
        if known is None:
            return _refuse(request, "This LMS isn't registered with CoachHub for this workspace. Ask your CoachHub "
                                    "admin to register it.", 404)
        try:
            oidc = DjangoOIDCLogin(request, lti.tool_config(tenant), launch_data_storage=_storage())
            return oidc.redirect(target)
        except LtiException as exc:
            logger.info("LTI login for %s refused: %s", tenant.slug, exc)
            return _refuse(request, f"This LMS isn't registered with CoachHub for this workspace ({exc}).")


@require_POST
@csrf_exempt
def lti_launch(request: HttpRequest, lti_tenant: str) -> HttpResponse:
    tenant = _tenant(lti_tenant)
    with tenant_context(tenant):
        if not LTIPlatform.objects.for_tenant(tenant).exists():
            return _refuse(request, "This LMS isn't registered with CoachHub for this workspace.", 404)
        try:
            launch = DjangoMessageLaunch(request, lti.tool_config(tenant), launch_data_storage=_storage())
            claims = launch.get_launch_data()
        except LtiException as exc:
            logger.info("LTI launch for %s refused: %s", tenant.slug, exc)
            return _refuse(request, f"The launch couldn't be verified ({exc}).")
        platform = lti.platform_for(tenant, issuer=claims["iss"], client_id=_audience(claims))
        if platform is None:
            return _refuse(request, "This LMS isn't registered with CoachHub for this workspace.")
        try:
            person = lti.person_for_launch(tenant=tenant, platform=platform, claims=claims)
        except ApplicationError as exc:
            return _refuse(request, exc.message, exc.status_code)
        login(request, person.membership.user, backend=settings.AUTHENTICATION_BACKENDS[0])
        lti.course_record(tenant=tenant, platform=platform, claims=claims)
        if launch.is_deep_link_launch():
            return render(request, "programs/lti_pick.html", {
                "launch_id": launch.get_launch_id(), "lti_tenant": tenant.slug,
                "scenarios": scenario_selectors.assignable_scenarios(tenant=tenant),
            })
        return _start_scenario(request, tenant, platform, person.membership, claims)


def _audience(claims: dict) -> str:
    aud = claims.get("aud")
    return aud[0] if isinstance(aud, list) else aud


def _start_scenario(request, tenant, platform, membership, claims) -> HttpResponse:
    from sessions import services as session_services

    custom = claims.get("https://purl.imsglobal.org/spec/lti/claim/custom") or {}
    try:
        scenario_id = int(custom.get(lti.CUSTOM_SCENARIO, ""))
    except (TypeError, ValueError):
        return _refuse(request, "This LMS link doesn't name a CoachHub scenario. Ask the course designer to "
                                "add it again with “Select content”.")
    version = ScenarioVersion.objects.for_tenant(tenant).filter(
        scenario_id=scenario_id, status=VersionStatus.PUBLISHED, scenario__archived_at__isnull=True
    ).first()
    if version is None:
        return _refuse(request, "The scenario of this link is no longer published in CoachHub.", 404)
    try:
        session = session_services.session_start(tenant=tenant, rep=membership, version=version)
    except ApplicationError as exc:
        return _refuse(request, exc.message, exc.status_code)
    lti.grade_link_record(tenant=tenant, platform=platform, session_id=session.id, claims=claims)
    return redirect("session_detail", tenant_slug=tenant.slug, session_id=session.id)


@require_POST
@csrf_exempt
def lti_deep_link(request: HttpRequest, lti_tenant: str) -> HttpResponse:
    """The course designer picked a scenario: answer the LMS with a signed Deep Linking response."""
    tenant = _tenant(lti_tenant)
    with tenant_context(tenant):
        if not LTIPlatform.objects.for_tenant(tenant).exists():
            return _refuse(request, "This LMS isn't registered with CoachHub for this workspace.", 404)
        try:
            launch = DjangoMessageLaunch.from_cache(request.POST.get("launch_id", ""), request,
                                                    lti.tool_config(tenant), launch_data_storage=_storage())
        except LtiException:
            return _refuse(request, "This content selection expired; start it again from the LMS.")
        if not launch.is_deep_link_launch():
            return HttpResponseBadRequest("Not a deep linking launch.")
        try:
            scenario = scenario_selectors.assignable_scenarios(tenant=tenant).get(id=int(request.POST.get("scenario_id", 0)))
        except (ValueError, Exception):
            return _refuse(request, "Pick one of the published scenarios.")
        resource = (DeepLinkResource().set_url(request.build_absolute_uri(f"/lti/{tenant.slug}/launch/"))
                    .set_title(scenario.title).set_custom_params({lti.CUSTOM_SCENARIO: str(scenario.id)}))
        # Our own page rather than the library's form: its inline script would break the CSP.
        return_url = launch.get_launch_data()["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"][
            "deep_link_return_url"]
        response = render(request, "programs/lti_return.html", {
            "return_url": return_url, "jwt": launch.get_deep_link().get_response_jwt([resource]), "title": scenario.title,
        })
        # The form posts to the LMS that asked, so that one origin joins form-action for this page only.
        parts = urlsplit(return_url)
        response._csp_update = {"form-action": [f"{parts.scheme}://{parts.netloc}"]}
        return response


@require_GET
def lti_jwks(request: HttpRequest, lti_tenant: str) -> JsonResponse:
    tenant = _tenant(lti_tenant)
    with tenant_context(tenant):
        return JsonResponse(lti.jwks(tenant))
