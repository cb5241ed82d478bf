"""Pages of the role-play runner: pick a scenario, practice (text or voice, streamed replies),
end, and read the results."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.files.base import ContentFile
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from coachhub.core.charts import Plot, polyline
from coachhub.core.errors import ApplicationError
from coachhub.tenancy.access import ALL_ROLES, role_required
from scenarios import selectors as scenario_selectors
from scenarios.models import ScenarioVersion, VersionStatus

from . import selectors, services
from .models import SessionStatus
from .streaming import in_tenant, reply_stream, sse, turn_response


@role_required(ALL_ROLES)
def practice(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant, rep = request.tenant, request.membership
    recipients = scenario_selectors.open_recipients_for(tenant=tenant, membership=rep)
    published = (
        ScenarioVersion.objects.for_tenant(tenant)
        .filter(status=VersionStatus.PUBLISHED, scenario__archived_at__isnull=True)
        .select_related("scenario")
        .order_by("scenario__title")
    )
    recent = selectors.session_list_visible(tenant=tenant, viewer=rep).filter(membership=rep)[:10]
    return render(
        request, "sessions/practice.html", {"recipients": recipients, "published": published, "recent": recent}
    )


@require_POST
@role_required(ALL_ROLES)
def session_start(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant, rep = request.tenant, request.membership
    version = recipient = None
    try:
        # The selectors 404 for another tenant's ids; session_start 404s for another rep's assignment.
        if request.POST.get("recipient_id"):
            recipient = scenario_selectors.recipient_get(tenant=tenant, recipient_id=_int(request.POST["recipient_id"]))
        elif request.POST.get("version_id"):
            version = scenario_selectors.version_get(tenant=tenant, version_id=_int(request.POST["version_id"]))
        session = services.session_start(
            tenant=tenant, rep=rep, version=version, recipient=recipient, mode=request.POST.get("mode", "text")
        )
    except ApplicationError as exc:
        if exc.status_code == 404:
            return render(request, "404.html", status=404)
        messages.error(request, exc.message)
        return redirect("practice", tenant_slug=tenant.slug)
    return redirect("session_detail", tenant_slug=tenant.slug, session_id=session.id)


def _int(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


@role_required(ALL_ROLES)
def session_list(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    sessions = selectors.session_list_visible(tenant=request.tenant, viewer=request.membership)
    page = Paginator(sessions, 25).get_page(request.GET.get("page"))
    return render(request, "sessions/list.html", {"page": page})


@role_required(ALL_ROLES)
def session_detail(request: HttpRequest, tenant_slug: str, session_id: int) -> HttpResponse:
    tenant, viewer = request.tenant, request.membership
    session = selectors.session_get_visible(tenant=tenant, viewer=viewer, session_id=session_id)
    turns = list(selectors.turn_list(tenant=tenant, session=session))
    spec = session.version.as_spec()
    context = {"session": session, "turns": turns, "spec": spec}
    if session.status == SessionStatus.ACTIVE and session.membership_id == viewer.id:
        context["pending_reply"] = bool(turns) and turns[-1].speaker == "rep"
        return render(request, "sessions/runner.html", context)
    curve = selectors.frustration_curve(turns)
    context.update(curve=curve, chart=_chart(curve), scores_url=_scores_url(tenant.slug, session.id))
    return render(request, "sessions/results.html", context)


def _scores_url(slug: str, session_id: int) -> str | None:
    try:
        return reverse("session_scores", kwargs={"tenant_slug": slug, "session_id": session_id})
    except NoReverseMatch:  # scoring pages not installed
        return None


# Frustration 0–100 over the conversation, which starts at the left edge (a lone reading sits there).
FRUSTRATION_PLOT = Plot.padded(width=640, height=180, pad=24, lone_point="start")


def _chart(curve: list[dict], plot: Plot = FRUSTRATION_PLOT) -> dict:
    """The frustration curve's points, line and grid for the results page's SVG."""
    if not curve:
        return {}
    points = [
        {**point, "x": plot.x_at(i, len(curve)), "y": plot.y_at(point["frustration"])} for i, point in enumerate(curve)
    ]
    return {
        "width": plot.width, "height": plot.height, "left": plot.left, "right": plot.right, "points": points,
        "polyline": polyline((p["x"], p["y"]) for p in points),
        "grid": [{"y": plot.y_at(v), "label": v} for v in (0, 50, 100)],
    }


@require_POST
@role_required(ALL_ROLES)
def session_end(request: HttpRequest, tenant_slug: str, session_id: int) -> HttpResponse:
    try:
        services.session_end(tenant=request.tenant, rep=request.membership, session_id=session_id)
    except ApplicationError as exc:
        if exc.status_code == 404:
            return render(request, "404.html", status=404)
        messages.error(request, exc.message)
    return redirect("session_detail", tenant_slug=tenant_slug, session_id=session_id)


# The turn and retry views are sync on purpose. The middleware in front of them (tenancy, WhiteNoise,
# ratelimit) is sync-only, so under ASGI the request already runs in its own thread when it reaches
# the view: saving the rep's line right there, inside the request's tenant context, costs no thread
# hops, where an async view would hop back to the event loop and out to a thread again. The reply
# itself is still an async generator, streamed from the event loop without holding a thread.


@require_POST
@role_required(ALL_ROLES)
def session_turn(request: HttpRequest, tenant_slug: str, session_id: int) -> HttpResponse:
    """Saves the rep's line, then streams the customer's reply."""
    tenant, rep = request.tenant, request.membership
    try:
        taken = services.session_turn_take(
            tenant=tenant, rep=rep, session_id=session_id, text=request.POST.get("text", "")
        )
    except ApplicationError as exc:
        return _stream_error(exc)
    return turn_response(tenant=tenant, rep=rep, taken=taken, arrived_at=getattr(request, "arrived_at", None))


@require_POST
@role_required(ALL_ROLES)
def session_reply_retry(request: HttpRequest, tenant_slug: str, session_id: int) -> HttpResponse:
    """Streams the customer's reply to a saved rep line whose reply failed earlier."""
    tenant, rep = request.tenant, request.membership
    selectors.session_get_own(tenant=tenant, rep=rep, session_id=session_id)
    try:
        # Read (and refuse: rate limit, a reply already in flight, nothing to retry) before streaming.
        context = services.reply_context(tenant=tenant, rep=rep, session_id=session_id)
    except ApplicationError as exc:
        return _stream_error(exc)
    return reply_stream(
        tenant=tenant, rep=rep, session_id=session_id, context=context, arrived_at=getattr(request, "arrived_at", None)
    )


@require_POST
@role_required(ALL_ROLES)
async def session_voice_turn(request: HttpRequest, tenant_slug: str, session_id: int) -> HttpResponse:
    """Transcribes the rep's recording (faster-whisper), saves it as their turn with its delivery
    figures, then streams the customer's reply. Bad audio is refused with the session intact."""
    tenant, rep = request.tenant, request.membership
    await in_tenant(tenant, selectors.session_get_own, tenant=tenant, rep=rep, session_id=session_id)
    try:
        # CPU-bound and thread-safe: run it off the request thread so other streams keep flowing.
        text, delivery, raw = await sync_to_async(services.voice_turn_transcribe, thread_sensitive=False)(
            rep=rep, upload=request.FILES.get("audio")
        )
        taken = await in_tenant(
            tenant, services.session_turn_take, tenant=tenant, rep=rep, session_id=session_id,
            text=text, delivery=delivery, audio=ContentFile(raw, name=f"s{session_id}.audio"),
        )
    except ApplicationError as exc:
        return _stream_error(exc)
    return turn_response(
        tenant=tenant, rep=rep, taken=taken, arrived_at=getattr(request, "arrived_at", None),
        first=[sse("transcript", {"text": text, "delivery": delivery})],
    )


def _stream_error(exc: ApplicationError) -> HttpResponse:
    # The status tells fetch() the turn was refused; the body still speaks SSE for one code path.
    response = HttpResponse(sse("error", {"code": exc.code, "message": exc.message}), content_type="text/event-stream")
    response.status_code = exc.status_code if exc.status_code != 400 else 422
    return response
