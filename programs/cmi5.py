"""cmi5: CoachHub scenarios as assignable units (AUs) an LMS launches. The launch names the LMS's LRS
(`endpoint`), a one-time `fetch` URL for the session's auth token, the `actor`, the `registration`
and the AU's `activityId`; the AU reads the LMS's LaunchData state (context template, launch mode,
moveOn, mastery score), then sends the cmi5-defined statements of the session in order:
initialized → completed → passed/failed → terminated, each with the cmi5 category and the LMS's
context template, through the same outbox as every other statement (so an LRS outage loses none).

An AU's activity id is `<SITE_URL>/xapi/activities/<workspace>/scenarios/<scenario id>`; the LMS's
endpoint must be the workspace's own LRS, and its fetch URL on the same host, so a crafted launch
can't point statements or tokens anywhere else.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import transaction

from coachhub.core.crypto import decrypt_secret, encrypt_secret
from coachhub.core.errors import ApplicationError
from coachhub.core.llm import PublicAddressTransport
from coachhub.tenancy.models import Membership, Tenant

from . import xapi
from .models import Cmi5Launch, LRSSettings

CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/cmi5"
MOVEON = "https://w3id.org/xapi/cmi5/context/categories/moveon"
SESSION_EXTENSION = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
MASTERY_EXTENSION = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore"
LAUNCH_PARAMS = ("endpoint", "fetch", "actor", "registration", "activityId")
TIMEOUT_S = 10.0


def au_activity_id(*, tenant_slug: str, scenario_id: int) -> str:
    return f"{xapi.site()}/xapi/activities/{tenant_slug}/scenarios/{scenario_id}"


def _refuse(message: str, code: str, status: int = 400) -> ApplicationError:
    return ApplicationError(message, code=code, status_code=status)


def _client() -> httpx.Client:
    transport = None if settings.LLM_ALLOW_PRIVATE_ENDPOINTS else PublicAddressTransport()
    return httpx.Client(timeout=TIMEOUT_S, transport=transport)


@dataclass
class LaunchRequest:
    endpoint: str
    fetch: str
    actor: dict
    registration: str
    activity_id: str
    scenario_id: int


def launch_parse(*, tenant: Tenant, params) -> LaunchRequest:
    """Check a cmi5 launch URL's parameters against the workspace: what is missing or foreign is named."""
    missing = [name for name in LAUNCH_PARAMS if not params.get(name)]
    if missing:
        raise _refuse(f"This cmi5 launch is missing {', '.join(missing)}; start it again from your LMS.",
                      "cmi5_launch_incomplete")
    lrs = LRSSettings.objects.for_tenant(tenant).filter(is_enabled=True).first()
    endpoint = params["endpoint"] if params["endpoint"].endswith("/") else params["endpoint"] + "/"
    if lrs is None or endpoint != lrs.endpoint:
        raise _refuse("This launch names a Learning Record Store this workspace doesn't use. Ask your CoachHub "
                      "admin to set the LMS's LRS under Learning records.", "cmi5_foreign_endpoint")
    if urlsplit(params["fetch"]).netloc != urlsplit(lrs.endpoint).netloc:
        raise _refuse("This launch's fetch URL isn't on the workspace's LRS.", "cmi5_foreign_fetch")
    try:
        actor = json.loads(params["actor"])
    except ValueError:
        actor = None
    if not isinstance(actor, dict) or not any(key in actor for key in ("account", "mbox", "mbox_sha1sum", "openid")):
        raise _refuse("This launch's actor isn't an xAPI Agent.", "cmi5_bad_actor")
    if not xapi._is_uuid(params["registration"]):
        raise _refuse("This launch's registration isn't a UUID.", "cmi5_bad_registration")
    prefix = f"{xapi.site()}/xapi/activities/{tenant.slug}/scenarios/"
    match = re.fullmatch(re.escape(prefix) + r"(\d+)", params["activityId"])
    if match is None:
        raise _refuse("This launch's activity isn't a CoachHub scenario of this workspace.", "cmi5_foreign_activity",
                      404)
    return LaunchRequest(endpoint=endpoint, fetch=params["fetch"], actor=actor,
                         registration=params["registration"], activity_id=params["activityId"],
                         scenario_id=int(match.group(1)))


def _fetch_token(client: httpx.Client, fetch_url: str) -> str:
    try:
        response = client.post(fetch_url)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise _refuse(f"The LMS didn't give this launch its token ({exc}).", "cmi5_fetch_failed", 502) from exc
    token = body.get("auth-token") if isinstance(body, dict) else None
    if response.status_code != 200 or not token:
        error = body.get("error-text", "") if isinstance(body, dict) else ""
        raise _refuse(f"The LMS refused this launch's token ({error or response.status_code}); it can be used "
                      "once: start again from your LMS.", "cmi5_fetch_refused", 409)
    return token


def _launch_data(client: httpx.Client, request: LaunchRequest, token: str) -> dict:
    try:
        response = client.get(f"{request.endpoint}activities/state", params={
            "stateId": "LMS.LaunchData", "activityId": request.activity_id, "agent": json.dumps(request.actor),
            "registration": request.registration,
        }, headers={"Authorization": f"Basic {token}", "X-Experience-API-Version": xapi.XAPI_VERSION})
        data = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError) as exc:
        raise _refuse(f"The LMS's LaunchData couldn't be read ({exc}).", "cmi5_launch_data", 502) from exc
    if not isinstance(data, dict) or not isinstance(data.get("contextTemplate"), dict):
        raise _refuse("The LMS didn't provide this launch's LaunchData.", "cmi5_launch_data", 502)
    return data


def launch_start(*, tenant: Tenant, membership: Membership, request: LaunchRequest, version) -> Cmi5Launch:
    """Fetch the token, read LaunchData, start the session and keep the launch; one transaction, so the
    session's "started" event (after commit) finds the launch and records a cmi5 `initialized`."""
    from sessions import services as session_services

    with _client() as client:
        token = _fetch_token(client, request.fetch)
        data = _launch_data(client, request, token)
    mode = data.get("launchMode", "Normal")
    if mode != "Normal":
        raise _refuse(f"CoachHub opens scenarios for practice only (this launch is in {mode} mode).",
                      "cmi5_launch_mode")
    mastery = data.get("masteryScore")
    with transaction.atomic():
        session = session_services.session_start(tenant=tenant, rep=membership, version=version)
        return Cmi5Launch.objects.for_tenant(tenant).create(
            tenant=tenant, session_id=session.id, activity_id=request.activity_id,
            registration=request.registration, actor=request.actor, endpoint=request.endpoint,
            auth_token_encrypted=encrypt_secret(token), context_template=data["contextTemplate"],
            launch_mode=mode, move_on=data.get("moveOn", "") or "",
            mastery_score=float(mastery) if isinstance(mastery, int | float) else None,
        )


def launch_of(*, tenant: Tenant, session_id: int) -> Cmi5Launch | None:
    return Cmi5Launch.objects.for_tenant(tenant).filter(session_id=session_id).first()


def auth_header(launch: Cmi5Launch) -> str:
    return f"Basic {decrypt_secret(launch.auth_token_encrypted)}"


def context(launch: Cmi5Launch, *, defined: bool, moveon: bool = False) -> dict:
    """The statement context: the LMS's template (its activities and extensions, e.g. the session
    id), the registration, and for cmi5-defined statements the cmi5 (and moveOn) categories."""
    template = json.loads(json.dumps(launch.context_template or {}))
    template["registration"] = launch.registration
    activities = template.setdefault("contextActivities", {})
    if defined:
        categories = list(activities.get("category", []))
        for category in (CATEGORY, MOVEON) if moveon else (CATEGORY,):
            if all(item.get("id") != category for item in categories):
                categories.append({"id": category})
        activities["category"] = categories
    if not activities:
        template.pop("contextActivities")
    return template
