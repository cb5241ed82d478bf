"""xAPI 1.0.3 statements of practice sessions: what they say, and the specification's rules they
must meet before they are queued (an LRS would refuse a statement that breaks them, and a refused
statement is lost to the learning record).

Statements name people by an account (CoachHub's site and the membership id), never by email, and
the scenario *version* is the activity, so results stay comparable as a scenario is edited.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

XAPI_VERSION = "1.0.3"
ADL = "http://adlnet.gov/expapi/verbs/"
VERBS = {name: ADL + name for name in ("initialized", "completed", "passed", "failed", "scored", "terminated")}
SIMULATION = "http://adlnet.gov/expapi/activities/simulation"
COURSE = "http://adlnet.gov/expapi/activities/course"
NAMESPACE = uuid.UUID("0e5c6a5e-6f1c-4b7b-9a39-8f0f7d1f2a61")


def site() -> str:
    return settings.SITE_URL.rstrip("/")


def extension(name: str) -> str:
    return f"{site()}/xapi/extensions/{name}"


def registration_of(tenant_id: int, session_id: int) -> str:
    """One registration per practice session, stable across retries and rebuilds."""
    return str(uuid.uuid5(NAMESPACE, f"session:{tenant_id}:{session_id}"))


def statement_id_of(dedupe_key: str, tenant_id: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"statement:{tenant_id}:{dedupe_key}"))


def iso_duration(delta: timedelta) -> str:
    seconds = max(0.0, delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"PT{int(hours)}H{int(minutes)}M{secs:.2f}S"


def iso_timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def actor(*, tenant_slug: str, membership_id: int, name: str) -> dict:
    return {"objectType": "Agent", "name": name,
            "account": {"homePage": site(), "name": f"{tenant_slug}:{membership_id}"}}


def scenario_activity(*, tenant_slug: str, scenario_id: int, version_number: int, title: str) -> dict:
    return {
        "objectType": "Activity",
        "id": f"{site()}/xapi/activities/{tenant_slug}/scenarios/{scenario_id}/versions/{version_number}",
        "definition": {"type": SIMULATION, "name": {"en-US": title}},
    }


def program_activity(*, tenant_slug: str, program_id: int, title: str) -> dict:
    return {
        "objectType": "Activity",
        "id": f"{site()}/xapi/activities/{tenant_slug}/programs/{program_id}",
        "definition": {"type": COURSE, "name": {"en-US": title}},
    }


def statement(
    *, statement_id: str, verb: str, who: dict, what: dict, registration: str, timestamp: datetime,
    result: dict | None = None, grouping: list[dict] | None = None, context: dict | None = None,
) -> dict:
    """`context` replaces the context built here (a cmi5 launch brings the LMS's context template)."""
    if context is None:
        context = {"registration": registration, "platform": "CoachHub", "language": "en-US"}
        if grouping:
            context["contextActivities"] = {"grouping": grouping}
    body = {
        "id": statement_id,
        "actor": who,
        "verb": {"id": VERBS[verb], "display": {"en-US": verb}},
        "object": what,
        "context": context,
        "timestamp": iso_timestamp(timestamp),
    }
    if result is not None:
        body["result"] = result
    return body


# --- the specification's rules ------------------------------------------------------------------

_DURATION = re.compile(r"^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_TOP_LEVEL = {"id", "actor", "verb", "object", "result", "context", "timestamp", "stored", "authority", "version",
              "attachments"}
_IFIS = ("mbox", "mbox_sha1sum", "openid", "account")


def _is_iri(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.path)


def _is_uuid(value: Any) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _language_map(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(
        isinstance(k, str) and re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", k) and isinstance(v, str)
        for k, v in value.items()
    )


def _extensions(value: Any, where: str, problems: list[str]) -> None:
    if not isinstance(value, dict) or not all(_is_iri(key) for key in value):
        problems.append(f"{where}: extension keys must be IRIs")


def validate(stmt: dict) -> list[str]:
    """Problems with `stmt` under xAPI 1.0.3 (Data section 2.4); [] when it is valid."""
    problems: list[str] = []
    unknown = set(stmt) - _TOP_LEVEL
    if unknown:
        problems.append(f"unknown properties: {', '.join(sorted(unknown))}")
    if "id" in stmt and not _is_uuid(stmt["id"]):
        problems.append("id must be a UUID")
    who = stmt.get("actor")
    if not isinstance(who, dict):
        problems.append("actor is required")
    else:
        ifis = [key for key in _IFIS if key in who]
        if who.get("objectType", "Agent") == "Agent" and len(ifis) != 1:
            problems.append("an Agent has exactly one inverse functional identifier")
        account = who.get("account")
        if account is not None and (not _is_iri(account.get("homePage")) or not account.get("name")):
            problems.append("actor.account needs an IRL homePage and a name")
    verb = stmt.get("verb")
    if not isinstance(verb, dict) or not _is_iri(verb.get("id")):
        problems.append("verb.id must be an IRI")
    elif "display" in verb and not _language_map(verb["display"]):
        problems.append("verb.display must be a language map")
    what = stmt.get("object")
    if not isinstance(what, dict):
        problems.append("object is required")
    elif what.get("objectType", "Activity") == "Activity":
        if not _is_iri(what.get("id")):
            problems.append("object.id must be an IRI")
        definition = what.get("definition", {})
        if "name" in definition and not _language_map(definition["name"]):
            problems.append("object.definition.name must be a language map")
        if "type" in definition and not _is_iri(definition["type"]):
            problems.append("object.definition.type must be an IRI")
    result = stmt.get("result")
    if result is not None:
        score = result.get("score")
        if score is not None:
            scaled, raw, low, high = (score.get(k) for k in ("scaled", "raw", "min", "max"))
            if scaled is not None and not -1 <= scaled <= 1:
                problems.append("result.score.scaled must be between -1 and 1")
            if low is not None and high is not None and not low < high:
                problems.append("result.score.min must be less than max")
            if raw is not None and ((low is not None and raw < low) or (high is not None and raw > high)):
                problems.append("result.score.raw must be between min and max")
        for key in ("success", "completion"):
            if key in result and not isinstance(result[key], bool):
                problems.append(f"result.{key} must be true or false")
        if "duration" in result and not _DURATION.match(str(result["duration"])):
            problems.append("result.duration must be an ISO 8601 duration")
        if "extensions" in result:
            _extensions(result["extensions"], "result", problems)
    context = stmt.get("context")
    if context is not None:
        if "registration" in context and not _is_uuid(context["registration"]):
            problems.append("context.registration must be a UUID")
        for kind, activities in (context.get("contextActivities") or {}).items():
            if kind not in ("parent", "grouping", "category", "other"):
                problems.append(f"context.contextActivities.{kind} is not a context activity kind")
            for activity in activities if isinstance(activities, list) else [activities]:
                if not _is_iri(activity.get("id")):
                    problems.append(f"context.contextActivities.{kind} ids must be IRIs")
        if "extensions" in context:
            _extensions(context["extensions"], "context", problems)
    if "timestamp" in stmt and not _TIMESTAMP.match(str(stmt["timestamp"])):
        problems.append("timestamp must be an ISO 8601 date and time with its time zone")
    return problems
