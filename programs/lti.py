"""LTI 1.3 tool (on pylti1p3): per-tenant platform registrations and signing keys, OIDC login,
resource-link launches into a scenario, Deep Linking so a course designer picks a scenario, and
Assignment and Grade Services passback of the session score (FullyGraded), again whenever a
reviewer changes it.

Each tenant has its own URLs (/lti/<tenant>/…), registrations and keys: a launch signed for one
tenant's registration can't be validated against another's, and the person launched becomes (or is
matched to) a member of that tenant only.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from jwcrypto.jwk import JWK
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.grade import Grade
from pylti1p3.names_roles import NamesRolesProvisioningService
from pylti1p3.registration import Registration
from pylti1p3.service_connector import ServiceConnector
from pylti1p3.tool_config.dict import ToolConfDict

from coachhub.core.crypto import decrypt_secret, encrypt_secret
from coachhub.core.errors import ApplicationError
from coachhub.tenancy.models import Membership, Role, Tenant, User
from coachhub.tenancy.services import audit_record

from .models import LTICourse, LTIGradeLink, LTIPlatform, LTIToolKey

logger = logging.getLogger(__name__)

CUSTOM_SCENARIO = "coachhub_scenario_id"


# --- keys ---------------------------------------------------------------------------------------


def tool_key_rotate(*, tenant: Tenant, actor: User | None = None) -> LTIToolKey:
    """A new signing key becomes current; earlier ones stay published until retired."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    kid = JWK.from_pem(public_pem.encode()).thumbprint()
    key = LTIToolKey.objects.for_tenant(tenant).create(
        tenant=tenant, kid=kid, private_key_encrypted=encrypt_secret(private_pem), public_key_pem=public_pem
    )
    audit_record(tenant=tenant, actor=actor, action="lti.key_rotated", summary=f"LTI signing key {kid[:12]}… created",
                 target=key)
    return key


def tool_key_retire(*, tenant: Tenant, key: LTIToolKey, actor: User | None = None) -> None:
    LTIToolKey.objects.for_tenant(tenant).filter(id=key.id).update(retired_at=timezone.now())
    audit_record(tenant=tenant, actor=actor, action="lti.key_retired", summary=f"LTI signing key {key.kid[:12]}… retired",
                 target=key)


def current_key(tenant: Tenant) -> LTIToolKey:
    key = LTIToolKey.objects.for_tenant(tenant).filter(retired_at__isnull=True).order_by("-created_at", "-id").first()
    return key or tool_key_rotate(tenant=tenant)


def jwks(tenant: Tenant) -> dict:
    keys = []
    for key in LTIToolKey.objects.for_tenant(tenant).filter(retired_at__isnull=True):
        keys.append({**Registration.get_jwk(key.public_key_pem), "kid": key.kid})
    return {"keys": keys}


# --- registrations ------------------------------------------------------------------------------


@transaction.atomic
def platform_register(
    *, tenant: Tenant, actor: Membership, name: str, issuer: str, client_id: str, deployment_ids: list[str],
    auth_login_url: str, auth_token_url: str, key_set_url: str,
) -> LTIPlatform:
    if actor.role != Role.TENANT_ADMIN:
        raise ApplicationError("Only a tenant admin can register an LMS.", code="forbidden", status_code=403)
    errors = {}
    for field, value in (("issuer", issuer), ("client_id", client_id), ("auth_login_url", auth_login_url),
                         ("auth_token_url", auth_token_url), ("key_set_url", key_set_url)):
        if not (value or "").strip():
            errors[field] = "This is required; the LMS shows it where you registered CoachHub."
    deployment_ids = [d.strip() for d in deployment_ids if d and d.strip()]
    if not deployment_ids:
        errors["deployment_ids"] = "Enter at least one deployment id."
    if errors:
        raise ApplicationError("The LMS could not be registered.", code="invalid_platform", fields=errors)
    platform, _ = LTIPlatform.objects.for_tenant(tenant).update_or_create(
        tenant=tenant, issuer=issuer.strip(), client_id=client_id.strip(),
        defaults={"name": name.strip() or issuer.strip(), "deployment_ids": deployment_ids,
                  "auth_login_url": auth_login_url.strip(), "auth_token_url": auth_token_url.strip(),
                  "key_set_url": key_set_url.strip()},
    )
    current_key(tenant)
    audit_record(tenant=tenant, actor=actor.user, action="lti.platform_registered",
                 summary=f"LMS “{platform.name}” registered ({platform.issuer})", target=platform)
    return platform


def tool_config(tenant: Tenant) -> ToolConfDict:
    """pylti1p3's view of this tenant's registrations, signing with the tenant's current key."""
    platforms = list(LTIPlatform.objects.for_tenant(tenant))
    config: dict[str, list[dict]] = {}
    for platform in platforms:
        config.setdefault(platform.issuer, []).append({
            "default": len(config.get(platform.issuer, [])) == 0,
            "client_id": platform.client_id, "auth_login_url": platform.auth_login_url,
            "auth_token_url": platform.auth_token_url, "key_set_url": platform.key_set_url, "key_set": None,
            "deployment_ids": list(platform.deployment_ids),
        })
    conf = ToolConfDict(config)
    if platforms:
        key = current_key(tenant)
        private_pem = decrypt_secret(key.private_key_encrypted)
        for platform in platforms:
            conf.set_private_key(platform.issuer, private_pem, client_id=platform.client_id)
            conf.set_public_key(platform.issuer, key.public_key_pem, client_id=platform.client_id)
    return conf


def platform_for(tenant: Tenant, *, issuer: str, client_id: str) -> LTIPlatform | None:
    return LTIPlatform.objects.for_tenant(tenant).filter(issuer=issuer, client_id=client_id).first()


# --- launch -------------------------------------------------------------------------------------


@dataclass
class LaunchedPerson:
    membership: Membership
    provisioned: bool


@transaction.atomic
def person_for_launch(*, tenant: Tenant, platform: LTIPlatform, claims: dict[str, Any]) -> LaunchedPerson:
    """The launching user as a member of the tenant: matched by email, or provisioned as a rep."""
    email = (claims.get("email") or "").strip().lower()
    if not email:
        raise ApplicationError(
            "The LMS didn't send the person's email address. Ask the LMS admin to share it with CoachHub "
            "(Canvas: privacy level Public; Moodle: share launcher's email).", code="lti_email_missing",
        )
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, full_name=(claims.get("name") or "")[:150])
        user.set_unusable_password()
        user.save(update_fields=["password"])
    membership = Membership.objects.for_tenant(tenant).filter(user=user).first()
    provisioned = membership is None
    if provisioned:
        membership = Membership.objects.for_tenant(tenant).create(
            tenant=tenant, user=user, role=Role.REP, started_on=timezone.localdate()
        )
        audit_record(tenant=tenant, actor=None, action="lti.member_provisioned",
                     summary=f"{email} joined as a rep through an LTI launch from {platform.name}", target=membership,
                     data={"platform_id": platform.id, "sub": claims.get("sub", "")})
    elif not membership.is_active:
        raise ApplicationError("Your CoachHub membership is deactivated; ask your admin.", code="member_inactive",
                               status_code=403)
    membership.tenant = tenant
    return LaunchedPerson(membership=membership, provisioned=provisioned)


def grade_link_record(*, tenant: Tenant, platform: LTIPlatform, session_id: int, claims: dict) -> LTIGradeLink | None:
    ags = claims.get("https://purl.imsglobal.org/spec/lti-ags/claim/endpoint")
    if not ags or not claims.get("sub"):
        return None
    link, _ = LTIGradeLink.objects.for_tenant(tenant).update_or_create(
        tenant=tenant, session_id=session_id,
        defaults={"platform": platform, "user_sub": claims["sub"], "ags": ags},
    )
    return link


# --- grade passback -----------------------------------------------------------------------------
# A score waits on its grade link (`pending_since`) until the LMS has the latest one. A task sends
# it; when the LMS is down (5xx, 408, 429, a timeout, no connection) the task retries with backoff
# and a sweeper catches any link whose job was lost. Each send reads the counting score at that
# moment, under a row lock, so a reviewer's adjustment made during an outage is what arrives, once.


class PlatformUnavailable(Exception):
    """The LMS can't take the score right now: try again later."""


class _TimeoutSession(requests.Session):
    """pylti1p3 calls the LMS with no timeout; a hung LMS must not hold a worker forever."""

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", getattr(settings, "LTI_SERVICE_TIMEOUT_S", 10.0))
        return super().request(method, url, **kwargs)


def _transient(exc: Exception) -> bool:
    if isinstance(exc, requests.RequestException):
        return True  # connection refused, reset, timed out
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status is not None and (status >= 500 or status in (408, 429))


def service_connector(tenant: Tenant, platform: LTIPlatform) -> ServiceConnector:
    session = _TimeoutSession()
    session.headers["User-Agent"] = "CoachHub LTI tool"
    return ServiceConnector(_registration(tenant, platform), requests_session=session)


def _registration(tenant: Tenant, platform: LTIPlatform) -> Registration:
    return tool_config(tenant).find_registration_by_params(platform.issuer, platform.client_id)


def _grade_to_send(tenant: Tenant, link: LTIGradeLink) -> tuple[int, str] | None:
    """(score out of 100, comment) the gradebook should show now, or None while nothing is scored."""
    from scoring.models import ScoreStatus, SessionScore

    from .selectors import behavior_label, readiness_score_of

    session = link_session(tenant, link.session_id)
    if session is None:
        return None
    counted = readiness_score_of(tenant=tenant, session=session)
    if counted is None:
        return None
    score, _ = counted
    current = SessionScore.objects.for_tenant(tenant).filter(session_id=link.session_id, is_current=True,
                                                             status=ScoreStatus.DONE).first()
    focus = current.focus_behavior if current else ""
    comment = f"Focus next on: {behavior_label(focus)}." if focus else "Scored by CoachHub."
    if score.adjusted:
        comment += " Reviewed by a coach."
    return score.overall, comment


def grade_send(*, tenant: Tenant, session_id: int) -> LTIGradeLink | None:
    """Send the session's counting score to the LMS gradebook as FullyGraded, with the focus
    behavior as the comment; nothing when the gradebook already has it. Raises PlatformUnavailable
    when the LMS can't take it now (the link stays pending, with the reason); an LMS that refuses
    the score outright (4xx) is recorded and not retried until the score changes."""
    unavailable = None
    with transaction.atomic():
        link = (LTIGradeLink.objects.for_tenant(tenant).select_for_update(of=("self",)).select_related("platform")
                .filter(session_id=session_id).first())
        if link is None:
            return None
        wanted = _grade_to_send(tenant, link)
        if wanted is None or (link.last_score_sent, link.last_comment_sent) == wanted:
            # Already in the gradebook, or nothing scored to send (the next "scored" marks it again):
            # either way nothing waits, so the sweeper stops asking.
            if link.pending_since is not None:
                link.pending_since, link.attempts = None, 0
                link.save(update_fields=["pending_since", "attempts"])
            return link
        overall, comment = wanted
        grade = (Grade().set_score_given(overall).set_score_maximum(100)
                 .set_timestamp(timezone.now().isoformat()).set_activity_progress("Completed")
                 .set_grading_progress("FullyGraded").set_user_id(link.user_sub).set_comment(comment))
        try:
            AssignmentsGradesService(service_connector(tenant, link.platform), link.ags).put_grade(grade)
        except Exception as exc:  # the LMS is outside: record why
            link.last_error = f"{type(exc).__name__}: {exc}"[:500]
            link.attempts += 1
            if _transient(exc):
                link.pending_since = link.pending_since or timezone.now()
                unavailable = PlatformUnavailable(link.last_error)
            else:
                link.pending_since = None
            link.save(update_fields=["last_error", "attempts", "pending_since"])
            logger.warning("Grade passback of session %s failed (attempt %s): %s", session_id, link.attempts,
                           link.last_error)
        else:
            link.last_score_sent, link.last_comment_sent = overall, comment
            link.last_sent_at, link.last_error, link.pending_since, link.attempts = timezone.now(), "", None, 0
            link.save(update_fields=["last_score_sent", "last_comment_sent", "last_sent_at", "last_error",
                                     "pending_since", "attempts"])
    if unavailable is not None:
        raise unavailable
    return link


def grades_pending(*, tenant: Tenant, older_than_s: int = 0) -> list[int]:
    """Session ids whose score still waits for the gradebook (for the sweeper)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    return list(LTIGradeLink.objects.for_tenant(tenant).filter(pending_since__lte=cutoff)
                .order_by("pending_since", "id").values_list("session_id", flat=True))


# --- Names and Role Provisioning Services (course rosters) ----------------------------------------

NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
CONTEXT_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/context"
LEARNER_ROLES = ("#Learner", "#Student")  # membership and institution vocabularies both end so


def course_record(*, tenant: Tenant, platform: LTIPlatform, claims: dict) -> LTICourse | None:
    """The course a launch came from, and its roster URL when the LMS offers NRPS."""
    context = claims.get(CONTEXT_CLAIM) or {}
    if not context.get("id"):
        return None
    nrps = claims.get(NRPS_CLAIM) or {}
    course, _ = LTICourse.objects.for_tenant(tenant).update_or_create(
        tenant=tenant, platform=platform, context_id=str(context["id"])[:255],
        defaults={"title": (context.get("title") or context.get("label") or "")[:255],
                  "memberships_url": (nrps.get("context_memberships_url") or "")[:500],
                  "last_launch_at": timezone.now()},
    )
    return course


@dataclass
class RosterSync:
    matched: int = 0  # already members of the tenant
    added: int = 0  # learners provisioned as reps
    skipped_no_email: int = 0
    skipped_not_learner: int = 0  # instructors and others without a CoachHub membership: invite them
    inactive: int = 0  # the LMS lists them as inactive or deleted: left as they are

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _is_learner(roles: list[str]) -> bool:
    return any(role.endswith(LEARNER_ROLES) for role in roles or [])


def course_members_sync(*, tenant: Tenant, actor: Membership, course: LTICourse) -> RosterSync:
    """Fetch the course roster through NRPS and bring its learners into the tenant: members matched
    by email stay as they are, new learners become reps (as a launch would make them). Nobody gets
    a role above rep this way, and nobody is removed or deactivated."""
    if actor.role != Role.TENANT_ADMIN:
        raise ApplicationError("Only a tenant admin can sync course members.", code="forbidden", status_code=403)
    if not course.memberships_url:
        raise ApplicationError("This LMS didn't offer its course roster (Names and Role Provisioning Services). "
                               "Turn the service on for CoachHub in the LMS, then launch from the course again.",
                               code="nrps_unavailable", status_code=409)
    platform = LTIPlatform.objects.for_tenant(tenant).get(id=course.platform_id)
    service = NamesRolesProvisioningService(service_connector(tenant, platform),
                                            {"context_memberships_url": course.memberships_url})
    try:
        members = service.get_members()
    except Exception as exc:  # the LMS is outside: say what it answered
        LTICourse.objects.for_tenant(tenant).filter(id=course.id).update(last_error=f"{type(exc).__name__}: {exc}"[:500])
        raise ApplicationError(f"The LMS didn't give the course roster: {exc}"[:400], code="nrps_failed",
                               status_code=502) from exc
    summary = RosterSync()
    with transaction.atomic():
        for member in members:
            if member.get("status", "Active") != "Active":
                summary.inactive += 1
                continue
            email = (member.get("email") or "").strip().lower()
            if not email:
                summary.skipped_no_email += 1
                continue
            user = User.objects.filter(email=email).first()
            if user and Membership.objects.for_tenant(tenant).filter(user=user).exists():
                summary.matched += 1
                continue
            if not _is_learner(member.get("roles", [])):
                summary.skipped_not_learner += 1
                continue
            if user is None:
                user = User.objects.create_user(email=email, full_name=(member.get("name") or "")[:150])
                user.set_unusable_password()
                user.save(update_fields=["password"])
            membership = Membership.objects.for_tenant(tenant).create(
                tenant=tenant, user=user, role=Role.REP, started_on=timezone.localdate())
            summary.added += 1
            audit_record(tenant=tenant, actor=actor.user, action="lti.member_provisioned",
                         summary=f"{email} joined as a rep from the roster of “{course}” ({platform.name})",
                         target=membership, data={"platform_id": platform.id, "course_id": course.id,
                                                  "sub": member.get("user_id", "")})
        LTICourse.objects.for_tenant(tenant).filter(id=course.id).update(
            last_synced_at=timezone.now(), last_sync=summary.as_dict(), last_error="")
        audit_record(tenant=tenant, actor=actor.user, action="lti.roster_synced",
                     summary=f"Roster of “{course}” synced: {summary.added} added, {summary.matched} already members",
                     target=course, data=summary.as_dict())
    return summary


def link_session(tenant: Tenant, session_id: int):
    from sessions.models import PracticeSession

    return PracticeSession.objects.for_tenant(tenant).filter(id=session_id).first()


def on_scored(*, tenant: Tenant, session_id: int) -> None:
    """Scored or re-scored: the score waits on its link until a task has it in the gradebook."""
    from django.db.models.functions import Coalesce

    from .tasks import send_grade

    marked = LTIGradeLink.objects.for_tenant(tenant).filter(session_id=session_id).update(
        pending_since=Coalesce("pending_since", timezone.now()))
    if marked:
        try:
            send_grade.delay(tenant_id=tenant.id, session_id=session_id)
        except Exception:  # a broker outage must not break scoring; the sweeper sends it later
            logger.exception("Could not enqueue grade passback of session %s.", session_id)


def new_state() -> str:
    return uuid.uuid4().hex
