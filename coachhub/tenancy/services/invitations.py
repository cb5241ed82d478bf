"""Invitations: create, resend, revoke and accept; the link is e-mailed after commit and only its hash kept."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from coachhub.core.errors import ApplicationError, Conflict

from ..models import Invitation, Membership, Role, Team, TeamMembership, TeamRole, Tenant, User, hash_secret
from ..selectors import invitation_is_open
from .audit import audit_record


def _new_token() -> tuple[str, str]:
    raw = secrets.token_urlsafe(32)
    return raw, hash_secret(raw)


def _send_invitation_email(invitation: Invitation, raw_token: str) -> None:
    link = settings.SITE_URL.rstrip("/") + reverse("invitation_accept", kwargs={"token": raw_token})
    context = {"invitation": invitation, "tenant": invitation.tenant, "link": link}
    subject = f"You're invited to {invitation.tenant.name} on CoachHub"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("tenancy/email/invitation.txt", context),
        to=[invitation.email],
    )
    message.attach_alternative(render_to_string("tenancy/email/invitation.html", context), "text/html")
    message.send()


def _normalize_email(email: str, errors: dict, key: str = "email") -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        errors[key] = f"“{email or '(empty)'}” is not a valid email address."
    return email


@transaction.atomic
def invitation_create(
    *,
    tenant: Tenant,
    actor: User | None,
    email: str,
    full_name: str = "",
    role: str = Role.REP,
    team: Team | None = None,
) -> tuple[Invitation, str]:
    errors: dict[str, str] = {}
    email = _normalize_email(email, errors)
    if role not in Role.values:
        errors["role"] = f"Unknown role “{role}”. Use one of: {', '.join(Role.values)}."
    if team is not None and team.tenant_id != tenant.id:
        errors["team"] = "Unknown team."
    if not errors and Membership.objects.for_tenant(tenant).filter(user__email=email).exists():
        errors["email"] = f"{email} is already a member."
    if not errors and Invitation.objects.for_tenant(tenant).filter(
        email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).exists():
        errors["email"] = f"{email} already has an open invitation: resend or revoke it."
    if errors:
        raise ApplicationError("The invitation could not be created.", code="invalid_invitation", fields=errors)
    raw, hashed = _new_token()
    now = timezone.now()
    invitation = Invitation.objects.for_tenant(tenant).create(
        tenant=tenant,
        email=email,
        full_name=full_name.strip()[:150],
        role=role,
        team=team,
        token_hash=hashed,
        invited_by=actor if actor is not None and actor.is_authenticated else None,
        created_at=now,
        last_sent_at=now,
        expires_at=now + timedelta(days=settings.INVITATION_TTL_DAYS),
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="invitation.created",
        summary=f"Invited {email} as {Role(role).label}",
        target=invitation,
        data={"email": email, "role": role, "team": team.name if team else None},
    )
    transaction.on_commit(lambda: _send_invitation_email(invitation, raw))
    return invitation, raw


@transaction.atomic
def invitation_resend(*, tenant: Tenant, actor: User, invitation: Invitation) -> str:
    """Sends a fresh link with a renewed expiry; the old link stops working."""
    invitation = Invitation.objects.for_tenant(tenant).select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise Conflict(f"This invitation was already {invitation.status}.", code="invitation_closed")
    raw, hashed = _new_token()
    now = timezone.now()
    invitation.token_hash = hashed
    invitation.last_sent_at = now
    invitation.expires_at = now + timedelta(days=settings.INVITATION_TTL_DAYS)
    invitation.send_count += 1
    invitation.save(update_fields=["token_hash", "last_sent_at", "expires_at", "send_count"])
    audit_record(
        tenant=tenant, actor=actor, action="invitation.resent", summary=f"Resent invitation to {invitation.email}",
        target=invitation,
    )
    transaction.on_commit(lambda: _send_invitation_email(invitation, raw))
    return raw


@transaction.atomic
def invitation_revoke(*, tenant: Tenant, actor: User, invitation: Invitation) -> Invitation:
    invitation = Invitation.objects.for_tenant(tenant).select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise Conflict(f"This invitation was already {invitation.status}.", code="invitation_closed")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        tenant=tenant, actor=actor, action="invitation.revoked", summary=f"Revoked invitation to {invitation.email}",
        target=invitation,
    )
    return invitation


@transaction.atomic
def invitation_accept(
    *, invitation: Invitation, password: str, full_name: str = "", current_user: User | None = None
) -> Membership:
    """Turns an open invitation into a membership.

    A new person sets their password here. Someone who already has a CoachHub account proves it
    with their existing password (or by being logged in as that account).
    """
    tenant = invitation.tenant
    invitation = Invitation.objects.for_tenant(tenant).select_for_update().get(pk=invitation.pk)
    if not invitation_is_open(invitation):
        raise Conflict(
            f"This invitation is {invitation.status}. Ask your admin to send a new one.",
            code=f"invitation_{invitation.status}",
        )
    user = User.objects.filter(email=invitation.email).first()
    if user is None:
        user = User(email=invitation.email, full_name=(full_name or invitation.full_name).strip()[:150])
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ApplicationError(
                " ".join(exc.messages), code="weak_password", fields={"password": exc.messages}
            ) from exc
        user.set_password(password)
        user.save()
    else:
        logged_in_as_invitee = current_user is not None and current_user.pk == user.pk
        if not logged_in_as_invitee and not user.check_password(password):
            raise ApplicationError(
                "You already have a CoachHub account: enter its password to join.",
                code="wrong_password",
                fields={"password": ["That password doesn't match your existing account."]},
            )
    membership, _ = Membership.objects.for_tenant(tenant).get_or_create(
        tenant=tenant, user=user, defaults={"role": invitation.role, "started_on": timezone.localdate()}
    )
    if invitation.team_id:
        kind = TeamRole.COACH if invitation.role == Role.MANAGER else TeamRole.MEMBER
        TeamMembership.objects.for_tenant(tenant).get_or_create(
            tenant=tenant, team_id=invitation.team_id, membership=membership, kind=kind
        )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit_record(
        tenant=tenant, actor=user, action="invitation.accepted", summary=f"{user.email} joined as {membership.get_role_display()}",
        target=membership,
    )
    return membership
