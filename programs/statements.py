"""Learning records: a tenant's LRS settings, xAPI statements recorded through a transactional
outbox, and their delivery in order.

Recording writes outbox rows in one transaction (a row per statement, keyed so recording the same
event again adds nothing); delivery sends the pending rows oldest first with PUT ?statementId=, which
an LRS stores once however often it arrives, and stops at the first temporary failure so later
statements never overtake earlier ones. An LRS outage therefore loses nothing and slows no practice:
rows wait, and the task's retries or the sweeper send them once the LRS is back.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from coachhub.core.crypto import decrypt_secret, encrypt_secret
from coachhub.core.errors import ApplicationError
from coachhub.core.llm import PublicAddressTransport, endpoint_problem
from coachhub.tenancy.models import Membership, Role, Tenant, User
from coachhub.tenancy.services import audit_record
from sessions.models import PracticeSession, SessionStatus

from . import cmi5, xapi
from .models import Cmi5Launch, LRSSettings, ProgramEnrollment, ProgramStep, StatementOutbox, StatementStatus

logger = logging.getLogger(__name__)

BATCH = 100
TIMEOUT_S = 10.0


class LRSUnavailable(Exception):
    """The LRS could not take a statement right now (network, 5xx, 408, 429): try again later."""


# --- settings -----------------------------------------------------------------------------------


def lrs_settings_get(*, tenant: Tenant) -> LRSSettings | None:
    return LRSSettings.objects.for_tenant(tenant).first()


@transaction.atomic
def lrs_settings_update(
    *, tenant: Tenant, actor: Membership, endpoint: str, username: str, secret: str = "", is_enabled: bool = True
) -> LRSSettings:
    """An admin points the tenant at its LRS. A new secret replaces the stored one (encrypted); an
    empty secret keeps it."""
    if actor.role != Role.TENANT_ADMIN:
        raise ApplicationError("Only a tenant admin can change the LRS.", code="forbidden", status_code=403)
    endpoint, username = (endpoint or "").strip(), (username or "").strip()
    errors = {}
    if not endpoint:
        errors["endpoint"] = "Enter the LRS's xAPI endpoint, starting with https://."
    else:
        # The same fence as the AI endpoint: no loopback, private or metadata addresses.
        problem = endpoint_problem(endpoint, allow_private=settings.LLM_ALLOW_PRIVATE_ENDPOINTS)
        if problem:
            errors["endpoint"] = problem.replace("base URL", "LRS endpoint").replace("API key", "secret")
    if not username:
        errors["username"] = "Enter the LRS key (the user name it gave you)."
    row = LRSSettings.objects.for_tenant(tenant).select_for_update().first()
    if not secret and not (row and row.secret_encrypted):
        errors["secret"] = "Enter the LRS secret."
    if errors:
        raise ApplicationError("The LRS settings could not be saved.", code="invalid_lrs", fields=errors)
    if not endpoint.endswith("/"):
        endpoint += "/"
    row = row or LRSSettings(tenant=tenant)
    row.endpoint, row.username, row.is_enabled, row.updated_at = endpoint, username, is_enabled, timezone.now()
    if secret:
        row.secret_encrypted = encrypt_secret(secret)
    row.save()
    audit_record(tenant=tenant, actor=actor.user, action="lrs.updated", target=row,
                 summary=f"LRS set to {endpoint} ({'on' if is_enabled else 'off'})",
                 data={"endpoint": endpoint, "username": username, "secret_changed": bool(secret)})
    return row


# --- recording ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Session:
    session: PracticeSession
    who: dict
    what: dict
    registration: str
    grouping: list[dict]
    launch: Cmi5Launch | None = None  # launched as a cmi5 AU: the LMS's actor, activity and context


def _load(tenant: Tenant, session_id: int) -> _Session | None:
    session = (
        PracticeSession.objects.for_tenant(tenant).filter(id=session_id, is_trial=False)
        .select_related("membership__user", "scenario", "version").first()
    )
    if session is None:
        return None
    user: User = session.membership.user
    enrollments = ProgramEnrollment.objects.for_tenant(tenant).filter(
        membership_id=session.membership_id,
        program_id__in=ProgramStep.objects.for_tenant(tenant).filter(scenario_id=session.scenario_id).values("program_id"),
    ).select_related("program")
    launch = cmi5.launch_of(tenant=tenant, session_id=session.id)
    if launch is not None:
        return _Session(session=session, who=launch.actor, what={"objectType": "Activity", "id": launch.activity_id},
                        registration=launch.registration, grouping=[], launch=launch)
    return _Session(
        session=session,
        who=xapi.actor(tenant_slug=tenant.slug, membership_id=session.membership_id, name=user.display_name),
        what=xapi.scenario_activity(tenant_slug=tenant.slug, scenario_id=session.scenario_id,
                                    version_number=session.version.number, title=session.version.spec.get("title", session.scenario.title)),
        registration=xapi.registration_of(tenant.id, session.id),
        grouping=[xapi.program_activity(tenant_slug=tenant.slug, program_id=e.program_id, title=e.program.title)
                  for e in enrollments],
    )


def _entry(tenant: Tenant, loaded: _Session, verb: str, key: str, *, timestamp, result=None,
           context: dict | None = None) -> StatementOutbox:
    dedupe_key = f"{loaded.session.id}:{key}"
    body = xapi.statement(
        statement_id=xapi.statement_id_of(dedupe_key, tenant.id), verb=verb, who=loaded.who, what=loaded.what,
        registration=loaded.registration, timestamp=timestamp, result=result, grouping=loaded.grouping,
        context=context,
    )
    problems = xapi.validate(body)
    if problems:  # a bug in how we build statements: refuse to queue what the LRS would refuse
        raise ValueError(f"Invalid xAPI statement for session {loaded.session.id}: {'; '.join(problems)}")
    return StatementOutbox(tenant=tenant, statement_id=body["id"], dedupe_key=dedupe_key, session_id=loaded.session.id,
                           verb=verb, statement=body, cmi5_launch=loaded.launch)


def _scored_entries(tenant: Tenant, loaded: _Session) -> list[StatementOutbox]:
    from .selectors import readiness_score_of

    counted = readiness_score_of(tenant=tenant, session=loaded.session)
    if counted is None:
        return []
    score, behaviors = counted
    # A reviewer's change gives a new result and so a new "scored" statement; the same result twice adds nothing.
    digest = hashlib.sha256(json.dumps([score.overall, behaviors], sort_keys=True).encode()).hexdigest()[:16]
    result = {
        "score": {"scaled": round(score.overall / 100, 4), "raw": score.overall, "min": 0, "max": 100},
        "completion": True,
        "extensions": {xapi.extension("behavior-scores"): behaviors,
                       xapi.extension("adjusted-by-reviewer"): score.adjusted},
    }
    moment = timezone.now()
    entries = [_entry(tenant, loaded, "scored", f"scored:{digest}", timestamp=moment, result=result)]
    marks = _program_marks(tenant, loaded.session)
    if marks is not None:
        success = not marks.failures(score.overall, behaviors)
        verb = "passed" if success else "failed"
        entries.append(_entry(tenant, loaded, verb, f"{verb}:{digest}", timestamp=moment,
                              result={**result, "success": success}))
    return entries


def _program_marks(tenant: Tenant, session: PracticeSession):
    """The pass marks of the first program the rep is enrolled in that holds this scenario."""
    from .selectors import _step_marks

    enrolled = ProgramEnrollment.objects.for_tenant(tenant).filter(membership_id=session.membership_id).values("program_id")
    step = (ProgramStep.objects.for_tenant(tenant).filter(scenario_id=session.scenario_id, program_id__in=enrolled)
            .select_related("scenario").order_by("program_id").first())
    return _step_marks(step) if step else None


def _cmi5_entries(tenant: Tenant, loaded: _Session, event: str) -> list[StatementOutbox]:
    """A cmi5 AU's statements, in the order cmi5 requires: initialized (start), completed (end), then on
    scoring our `scored` (a cmi5-allowed statement), passed or failed (once per registration) and
    terminated. Nothing follows terminated, so a reviewer's later change stays in CoachHub."""
    launch, session = loaded.launch, loaded.session
    if event not in ("started", "ended", "scored"):
        raise ValueError(f"Unknown session event {event!r}.")
    if event == "scored" and StatementOutbox.objects.for_tenant(tenant).filter(
            dedupe_key=f"{session.id}:cmi5:terminated").exists():
        return []
    # Each event also (re)states the cmi5 statements that must precede it; recording one again adds
    # nothing. So the order holds even when the scorer's job finishes before the "ended" listener runs.
    entries = [_entry(tenant, loaded, "initialized", "cmi5:initialized", timestamp=session.started_at,
                      context=cmi5.context(launch, defined=True))]
    ended = session.status == SessionStatus.ENDED and session.ended_at is not None
    if event in ("ended", "scored") and ended:
        result = {"completion": True, "duration": xapi.iso_duration(session.ended_at - session.started_at)}
        entries.append(_entry(tenant, loaded, "completed", "cmi5:completed", timestamp=session.ended_at,
                              result=result, context=cmi5.context(launch, defined=True, moveon=True)))
    if event != "scored" or not ended:
        return entries
    from .selectors import readiness_score_of

    counted = readiness_score_of(tenant=tenant, session=session)
    if counted is None:
        return entries
    score, behaviors = counted
    scaled = round(score.overall / 100, 4)
    duration = xapi.iso_duration((session.ended_at or session.started_at) - session.started_at)
    moment = timezone.now()
    entries.append(_entry(tenant, loaded, "scored", "cmi5:scored", timestamp=moment,
                          context=cmi5.context(launch, defined=False),
                          result={"score": {"scaled": scaled, "raw": score.overall, "min": 0, "max": 100},
                                  "extensions": {xapi.extension("behavior-scores"): behaviors}}))
    if launch.mastery_score is not None:
        success = scaled >= launch.mastery_score
    else:
        marks = _program_marks(tenant, session)
        success = None if marks is None else not marks.failures(score.overall, behaviors)
    if success is not None:
        verdict = cmi5.context(launch, defined=True, moveon=True)
        if launch.mastery_score is not None:
            verdict.setdefault("extensions", {})[cmi5.MASTERY_EXTENSION] = launch.mastery_score
        entries.append(_entry(tenant, loaded, "passed" if success else "failed", "cmi5:verdict", timestamp=moment,
                              context=verdict, result={"score": {"scaled": scaled, "raw": score.overall, "min": 0,
                                                                 "max": 100}, "success": success,
                                                       "duration": duration}))
    entries.append(_entry(tenant, loaded, "terminated", "cmi5:terminated", timestamp=moment,
                          context=cmi5.context(launch, defined=True), result={"duration": duration}))
    return entries


def _lrs_enabled(tenant: Tenant) -> bool:
    return LRSSettings.objects.for_tenant(tenant).filter(is_enabled=True).exists()


@transaction.atomic
def statements_record(*, tenant: Tenant, session_id: int, event: str) -> int:
    """Queue the statements of one session event ("started", "ended", "scored"); returns how many
    were new. Nothing is queued while the tenant has no enabled LRS."""
    if not _lrs_enabled(tenant):
        return 0
    loaded = _load(tenant, session_id)
    if loaded is None:
        return 0
    session = loaded.session
    if loaded.launch is not None:
        entries = _cmi5_entries(tenant, loaded, event)
    elif event == "started":
        entries = [_entry(tenant, loaded, "initialized", "initialized", timestamp=session.started_at)]
    elif event == "ended":
        if session.status != SessionStatus.ENDED or session.ended_at is None:
            return 0
        result = {"completion": True, "duration": xapi.iso_duration(session.ended_at - session.started_at),
                  "extensions": {xapi.extension("end-reason"): session.end_reason}}
        entries = [_entry(tenant, loaded, "completed", "completed", timestamp=session.ended_at, result=result)]
    elif event == "scored":
        entries = _scored_entries(tenant, loaded)
    else:
        raise ValueError(f"Unknown session event {event!r}.")
    keys = [entry.dedupe_key for entry in entries]
    existing = set(StatementOutbox.objects.for_tenant(tenant).filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    new = [entry for entry in entries if entry.dedupe_key not in existing]
    StatementOutbox.objects.for_tenant(tenant).bulk_create(new, ignore_conflicts=True)
    if new:
        tenant_id = tenant.id
        transaction.on_commit(lambda: _publish_delivery(tenant_id), robust=True)
    return len(new)


def _publish_delivery(tenant_id: int) -> None:
    from .tasks import deliver_statements

    try:
        deliver_statements.delay(tenant_id=tenant_id)
    except Exception:  # a broker outage must not break practice; the sweeper sends them later
        logger.exception("Could not enqueue statement delivery for tenant %s.", tenant_id)


# --- delivery -----------------------------------------------------------------------------------


@dataclass
class Delivery:
    sent: int = 0
    rejected: int = 0
    pending: int = 0
    error: str = ""


def _send(client: httpx.Client, lrs: LRSSettings, secret: str, row: StatementOutbox) -> None:
    headers = {"X-Experience-API-Version": xapi.XAPI_VERSION}
    auth = (lrs.username, secret)
    if row.cmi5_launch is not None:  # a cmi5 AU's statement goes with its launch's token
        headers["Authorization"], auth = cmi5.auth_header(row.cmi5_launch), None
    try:
        response = client.put(
            f"{lrs.endpoint}statements", params={"statementId": str(row.statement_id)},
            json=row.statement, auth=auth, headers=headers,
        )
    except httpx.HTTPError as exc:
        raise LRSUnavailable(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code in (200, 204):
        return
    if response.status_code in (408, 429) or response.status_code >= 500:
        raise LRSUnavailable(f"LRS answered {response.status_code}")
    raise ApplicationError(f"LRS refused the statement ({response.status_code}): {response.text[:300]}",
                           code="statement_refused")


def statements_deliver(*, tenant: Tenant, batch: int = BATCH) -> Delivery:
    """Send the pending statements oldest first. One deliverer per tenant at a time (a row lock on
    its LRS settings), so statements leave in the order they were recorded."""
    outcome = Delivery()
    with transaction.atomic():
        lrs = LRSSettings.objects.for_tenant(tenant).select_for_update(skip_locked=True).filter(is_enabled=True).first()
        rows = StatementOutbox.objects.for_tenant(tenant).filter(status=StatementStatus.PENDING)
        if lrs is None:
            outcome.pending = rows.count()
            return outcome
        secret = decrypt_secret(lrs.secret_encrypted)
        transport = None if settings.LLM_ALLOW_PRIVATE_ENDPOINTS else PublicAddressTransport()
        with httpx.Client(timeout=TIMEOUT_S, transport=transport) as client:
            for row in rows.select_related("cmi5_launch").order_by("id")[:batch]:
                row.attempts += 1
                try:
                    _send(client, lrs, secret, row)
                except LRSUnavailable as exc:
                    row.last_error = str(exc)[:500]
                    row.save(update_fields=["attempts", "last_error"])
                    outcome.error = row.last_error
                    break
                except ApplicationError as exc:
                    row.status, row.last_error = StatementStatus.REJECTED, exc.message[:500]
                    row.save(update_fields=["status", "attempts", "last_error"])
                    logger.error("LRS of tenant %s refused statement %s: %s", tenant.id, row.statement_id, exc.message)
                    outcome.rejected += 1
                    continue
                row.status, row.sent_at, row.last_error = StatementStatus.SENT, timezone.now(), ""
                row.save(update_fields=["status", "sent_at", "attempts", "last_error"])
                outcome.sent += 1
        outcome.pending = rows.count()
    return outcome


def tenants_with_pending_statements() -> list[Tenant]:
    """For the sweeper: active tenants with statements still waiting."""
    return [
        tenant for tenant in Tenant.objects.filter(is_active=True).order_by("id")
        if StatementOutbox.objects.for_tenant(tenant).filter(status=StatementStatus.PENDING).exists()
    ]


# --- session-event listeners (registered in apps.py) -------------------------------------------


def on_started(*, tenant: Tenant, session_id: int) -> None:
    statements_record(tenant=tenant, session_id=session_id, event="started")


def on_ended(*, tenant: Tenant, session_id: int) -> None:
    statements_record(tenant=tenant, session_id=session_id, event="ended")


def on_scored(*, tenant: Tenant, session_id: int) -> None:
    statements_record(tenant=tenant, session_id=session_id, event="scored")
