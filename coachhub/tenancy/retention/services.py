"""Writes for retention and erasure: the settings, the scheduled cleanup of one tenant, and erasing
one member's practice data from one tenant.

Callers enter `tenant_context(tenant)` first (the Celery task, the command and page requests do), so
every statement runs as that tenant under row-level security; the querysets also name the tenant.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from coachhub.core.errors import ApplicationError, Conflict, NotFound
from coachhub.tenancy.models import (
    ApiToken,
    Invitation,
    Membership,
    RetentionSettings,
    Role,
    TeamMembership,
    Tenant,
    User,
)
from coachhub.tenancy.services import audit_record

from .registry import BATCH_SIZE, Erasure, TranscriptWords, erasure_order, personal_data
from .selectors import retention_cutoffs, retention_settings_get

logger = logging.getLogger(__name__)

MAX_RETENTION_DAYS = 3650


# --- settings -----------------------------------------------------------------------------------


def _check_days(value: int | None, field: str, errors: dict[str, list[str]]) -> None:
    if value is not None and not 1 <= value <= MAX_RETENTION_DAYS:
        errors[field] = [f"Enter a number of days from 1 to {MAX_RETENTION_DAYS}, or leave it empty to keep forever."]


@transaction.atomic
def retention_settings_update(
    *, tenant: Tenant, actor: User, audio_retention_days: int | None, transcript_retention_days: int | None
) -> RetentionSettings:
    """Saves how long recordings and transcripts are kept (None = forever); the audit entry records
    what changed."""
    errors: dict[str, list[str]] = {}
    _check_days(audio_retention_days, "audio_retention_days", errors)
    _check_days(transcript_retention_days, "transcript_retention_days", errors)
    if not errors and transcript_retention_days is not None and (
        audio_retention_days is None or audio_retention_days > transcript_retention_days
    ):
        errors["audio_retention_days"] = [
            "A recording holds the same words as its transcript, so it can't be kept longer: "
            f"choose at most {transcript_retention_days} days, or keep transcripts longer."
        ]
    if errors:
        raise ApplicationError("The retention settings were not saved.", code="invalid_retention", fields=errors)
    row = RetentionSettings.objects.for_tenant(tenant).select_for_update().first() or RetentionSettings(tenant=tenant)
    before = {"audio_retention_days": row.audio_retention_days, "transcript_retention_days": row.transcript_retention_days}
    row.audio_retention_days = audio_retention_days
    row.transcript_retention_days = transcript_retention_days
    row.updated_at = timezone.now()
    row.save()
    after = {"audio_retention_days": row.audio_retention_days, "transcript_retention_days": row.transcript_retention_days}
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if changes:
        audit_record(
            tenant=tenant, actor=actor, action="settings.retention_changed",
            summary="Retention changed: " + ", ".join(
                f"{'recordings' if key.startswith('audio') else 'transcripts'} "
                f"{'kept forever' if new is None else f'{new} days'}"
                for key, (_, new) in changes.items()
            ),
            target=row, data=changes,
        )
    return row


# --- the scheduled cleanup ----------------------------------------------------------------------


@dataclass
class RetentionRun:
    """What one cleanup of one tenant removed."""

    recordings: int = 0  # audio files deleted (one per voice turn)
    transcripts: int = 0  # sessions whose transcript text was removed
    # Rows whose words were removed, per registered counter: turns, score runs (their quoted
    # evidence and example line).
    removed: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.recordings or self.transcripts or any(self.removed.values()))

    def as_dict(self) -> dict[str, int]:
        return {"recordings": self.recordings, "transcripts": self.transcripts, **self.removed}


def retention_apply(*, tenant: Tenant, now: datetime | None = None) -> RetentionRun:
    """Deletes the recordings and transcripts that are older than the tenant's retention allows.

    Scores, their rationale and the weekly aggregates stay, so dashboards don't change; quotes of
    the removed lines (behavior evidence, the focus example) go with them. Running it again finds
    nothing left to do and records nothing.
    """
    settings = retention_settings_get(tenant=tenant)
    cutoffs = retention_cutoffs(settings=settings, now=now)
    registrations = personal_data()
    words = [item.transcript_words for item in registrations if item.transcript_words is not None]
    run = RetentionRun(removed={part.counter: 0 for part in words})
    if cutoffs.audio is not None:
        for item in registrations:
            if item.delete_recordings is not None:
                run.recordings += item.delete_recordings(tenant=tenant, cutoff=cutoffs.audio)
    if cutoffs.transcript is not None:
        _remove_transcripts(tenant=tenant, cutoff=cutoffs.transcript, words=words, run=run)
    if run.changed:
        audit_record(
            tenant=tenant, actor=None, action="retention.applied",
            summary=(
                f"Retention: deleted {run.recordings} recording(s); removed the transcripts of "
                f"{run.transcripts} session(s)"
            ),
            data={
                **run.as_dict(),
                "audio_retention_days": settings.audio_retention_days,
                "transcript_retention_days": settings.transcript_retention_days,
            },
        )
    logger.info("retention tenant=%s %s", tenant.pk, run.as_dict())
    return run


def _remove_transcripts(*, tenant: Tenant, cutoff: datetime, words: list[TranscriptWords], run: RetentionRun) -> None:
    """Removes the words of sessions that ended before `cutoff`, one batch of sessions per
    transaction: every registered holder of words (the turns, the quotes in their scores) of the
    same sessions at once. A score written after its session's lines were removed (a late scoring
    job) is pending on its own, so it still gets its quotes removed."""
    while True:
        with transaction.atomic():
            pending = [part.pending(tenant=tenant, cutoff=cutoff, limit=BATCH_SIZE) for part in words]
            session_ids = sorted(set().union(*pending))[:BATCH_SIZE]
            if not session_ids:
                return
            changed = [part.remove(tenant=tenant, session_ids=session_ids) for part in words]
        if not any(changed):
            return  # nothing changed: don't spin on rows we can't update
        for part, rows, ids in zip(words, changed, pending, strict=True):
            run.removed[part.counter] += rows
            if part.is_transcript:
                run.transcripts += len(ids.intersection(session_ids))


# --- erasure of one person ----------------------------------------------------------------------


def email_fingerprint(email: str) -> str:
    """What the audit log keeps of an erased person's email: enough to answer "was this address
    erased?", not to read it back."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def person_erase(*, tenant: Tenant, actor: User | None, membership: Membership, via: str) -> dict[str, int]:
    """Erases one member's practice data in this tenant and removes their membership, all or
    nothing: sessions, turns and recordings, scores, comments, disputes, KPI values, weekly
    aggregates, assignment copies (whatever the apps registered), team places, API tokens and
    invitations. Their account and their data in other tenants stay. References to them elsewhere
    in this tenant (a scenario they wrote, a score they adjusted) lose their name; the audit log
    keeps who did what.

    Recordings are deleted from storage only after the transaction commits. Returns the counts,
    which the audit entry also records.
    """
    with transaction.atomic():
        counts, callbacks = _erase_rows(tenant=tenant, actor=actor, membership=membership, via=via)
        for callback in callbacks:
            transaction.on_commit(callback)
    return counts


def _erase_rows(
    *, tenant: Tenant, actor: User | None, membership: Membership, via: str
) -> tuple[dict[str, int], list]:
    # Locked first: a session being started for this person waits for us, then finds no membership.
    member = Membership.objects.for_tenant(tenant).select_for_update().filter(pk=membership.pk).first()
    if member is None:
        raise NotFound("This person's data was already erased.", code="already_erased")
    user = User.objects.get(pk=member.user_id)
    if actor is not None and actor.pk == user.pk:
        raise Conflict("You can't erase your own data: ask another admin.", code="erase_self")
    if member.role == Role.TENANT_ADMIN and not (
        Membership.objects.for_tenant(tenant).filter(role=Role.TENANT_ADMIN, is_active=True).exclude(pk=member.pk).exists()
    ):
        raise Conflict("A tenant needs at least one admin: promote someone else first.", code="last_admin")

    erasure = Erasure(tenant=tenant, member=member, user=user)
    rows = erasure.rows
    for registration in erasure_order():
        if registration.erase is not None:
            registration.erase(erasure)
    erasure.delete("team_links", rows(TeamMembership).filter(membership=member))
    erasure.delete("api_tokens", rows(ApiToken).filter(user=user))
    erasure.delete("invitations", rows(Invitation).filter(email__iexact=user.email))
    counts = erasure.counts
    # Work of theirs that belongs to the tenant stays, without their name on it.
    references = [(model, name) for item in personal_data() for model, name in item.user_references]
    references.append((Invitation, "invited_by"))
    counts["references_cleared"] = sum(
        rows(model).filter(**{name: user}).update(**{name: None}) for model, name in references
    )
    member_id, role = member.pk, member.role
    # Anything else that hangs off the membership (a table added later) goes with it.
    total, _ = member.delete()
    counts["other"] = total - 1
    audit_record(
        tenant=tenant, actor=actor, action="member.erased",
        summary=f"Erased the practice data of member #{member_id} ({counts.get('sessions', 0)} session(s))",
        target=Membership(pk=member_id, tenant=tenant),
        data={
            "membership_id": member_id, "user_id": user.pk, "email_sha256": email_fingerprint(user.email),
            "role": role, "via": via, "counts": counts,
        },
    )
    return counts, erasure.callbacks
