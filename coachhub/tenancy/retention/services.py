"""Writes for retention and erasure: the settings, the scheduled cleanup of one tenant, and erasing
one member's practice data from one tenant.

Callers enter `tenant_context(tenant)` first (the Celery task, the command and page requests do), so
every statement runs as that tenant under row-level security; the querysets also name the tenant.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
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

from .selectors import retention_cutoffs, retention_settings_get, sessions_older_than

logger = logging.getLogger(__name__)

MAX_RETENTION_DAYS = 3650
# Rows handled per transaction: a large tenant's first cleanup commits as it goes, so a time limit
# or a crash loses at most one batch and the next run carries on where this one stopped.
BATCH_SIZE = 500


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
    turns: int = 0  # turns whose text was removed
    scores: int = 0  # score runs whose quoted evidence and example line were removed

    @property
    def changed(self) -> bool:
        return bool(self.recordings or self.transcripts or self.turns or self.scores)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def retention_apply(*, tenant: Tenant, now: datetime | None = None) -> RetentionRun:
    """Deletes the recordings and transcripts that are older than the tenant's retention allows.

    Scores, their rationale and the weekly aggregates stay, so dashboards don't change; quotes of
    the removed lines (behavior evidence, the focus example) go with them. Running it again finds
    nothing left to do and records nothing.
    """
    settings = retention_settings_get(tenant=tenant)
    cutoffs = retention_cutoffs(settings=settings, now=now)
    run = RetentionRun()
    if cutoffs.audio is not None:
        run.recordings = _delete_recordings(tenant=tenant, cutoff=cutoffs.audio)
    if cutoffs.transcript is not None:
        _remove_transcripts(tenant=tenant, cutoff=cutoffs.transcript, run=run)
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


def _audio_storage():
    from sessions.models import Turn

    return Turn._meta.get_field("audio").storage


def _delete_recordings(*, tenant: Tenant, cutoff: datetime) -> int:
    from sessions.models import Turn

    old_sessions = sessions_older_than(tenant=tenant, cutoff=cutoff).values("id")
    storage = _audio_storage()
    deleted = 0
    while True:
        batch = list(
            Turn.objects.for_tenant(tenant).filter(session__in=old_sessions).exclude(audio="")
            .order_by("id").values_list("id", "audio")[:BATCH_SIZE]
        )
        if not batch:
            return deleted
        # Files first, then the references: a failure in between leaves a reference to a missing
        # file, which the next run clears, never a file nothing points at any more.
        for _, name in batch:
            storage.delete(name)
        cleared = Turn.objects.for_tenant(tenant).filter(id__in=[turn_id for turn_id, _ in batch]).update(audio="")
        deleted += cleared
        if not cleared:
            return deleted  # nothing changed: don't spin on rows we can't update


def _remove_transcripts(*, tenant: Tenant, cutoff: datetime, run: RetentionRun) -> None:
    from scoring.models import SessionScore
    from sessions.models import Turn

    old_sessions = sessions_older_than(tenant=tenant, cutoff=cutoff).values("id")
    while True:
        with transaction.atomic():
            with_text = set(
                Turn.objects.for_tenant(tenant).filter(session__in=old_sessions).exclude(text="")
                .values_list("session_id", flat=True).distinct().order_by("session_id")[:BATCH_SIZE]
            )
            # A score written after its session's lines were removed (a late scoring job) still
            # gets its quotes removed.
            with_quotes = set(
                SessionScore.objects.for_tenant(tenant).filter(session__in=old_sessions).exclude(focus_example="")
                .values_list("session_id", flat=True).distinct().order_by("session_id")[:BATCH_SIZE]
            )
            session_ids = sorted(with_text | with_quotes)[:BATCH_SIZE]
            if not session_ids:
                return
            turns = Turn.objects.for_tenant(tenant).filter(session_id__in=session_ids).exclude(text="").update(text="")
            scores = _remove_quotes(tenant=tenant, session_ids=session_ids)
        if not (turns or scores):
            return  # nothing changed: don't spin on rows we can't update
        run.turns += turns
        run.scores += scores
        run.transcripts += len(with_text.intersection(session_ids))


def _remove_quotes(*, tenant: Tenant, session_ids: list[int]) -> int:
    """Takes the rep's words out of these sessions' scores: evidence quotes and the focus example."""
    from scoring.models import BehaviorScore, SessionScore

    changed = 0
    scores = SessionScore.objects.for_tenant(tenant).select_for_update().filter(session_id__in=session_ids)
    for score in scores:
        result = _result_without_quotes(score.result)
        if result == score.result and not score.focus_example:
            continue
        score.result = result
        score.focus_example = ""
        score.save(update_fields=["result", "focus_example"])
        changed += 1
    BehaviorScore.objects.for_tenant(tenant).filter(session_score__session_id__in=session_ids).exclude(
        evidence=[]
    ).update(evidence=[])
    return changed


def _result_without_quotes(result: Any) -> Any:
    """The stored engine result minus anything quoted from the conversation: every `evidence` list
    is emptied, every `quote` and the focus `example` blanked. Scores and verdicts stay."""
    if isinstance(result, list):
        return [_result_without_quotes(item) for item in result]
    if not isinstance(result, dict):
        return result
    clean = {}
    for key, value in result.items():
        if key == "evidence" and isinstance(value, list):
            clean[key] = []
        elif key in ("quote", "example") and isinstance(value, str):
            clean[key] = ""
        else:
            clean[key] = _result_without_quotes(value)
    return clean


# --- erasure of one person ----------------------------------------------------------------------


def email_fingerprint(email: str) -> str:
    """What the audit log keeps of an erased person's email: enough to answer "was this address
    erased?", not to read it back."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def person_erase(*, tenant: Tenant, actor: User | None, membership: Membership, via: str) -> dict[str, int]:
    """Erases one member's practice data in this tenant and removes their membership, all or
    nothing: sessions, turns and recordings, scores, comments, disputes, KPI values, weekly
    aggregates, assignment copies, team places, API tokens and invitations. Their account and
    their data in other tenants stay. References to them elsewhere in this tenant (a scenario they
    wrote, a score they adjusted) lose their name; the audit log keeps who did what.

    Recordings are deleted from storage only after the transaction commits. Returns the counts,
    which the audit entry also records.
    """
    with transaction.atomic():
        counts, recordings = _erase_rows(tenant=tenant, actor=actor, membership=membership, via=via)
        transaction.on_commit(lambda: _delete_files(tenant=tenant, names=recordings))
    return counts


def _erase_rows(
    *, tenant: Tenant, actor: User | None, membership: Membership, via: str
) -> tuple[dict[str, int], list[str]]:
    from reports.dashboards.models import DigestDelivery
    from reports.models import KpiImport, KpiValue, RepWeek
    from scenarios.models import Assignment, AssignmentRecipient, Scenario, ScenarioVersion
    from scoring.models import BehaviorScore, Dispute, SessionScore, TurnComment
    from sessions.models import PracticeSession, Turn

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

    def rows(model):
        return model.objects.for_tenant(tenant)

    sessions = rows(PracticeSession).filter(membership=member).values("id")
    recordings = list(
        rows(Turn).filter(session_id__in=sessions).exclude(audio="").values_list("audio", flat=True)
    )
    scores = rows(SessionScore).filter(Q(session_id__in=sessions) | Q(membership=member))

    def deleted(queryset) -> int:
        return queryset.delete()[0]

    counts = {
        "comments": deleted(rows(TurnComment).filter(Q(session_id__in=sessions) | Q(author=user))),
        "disputes": deleted(rows(Dispute).filter(Q(rep=member) | Q(session_score__in=scores))),
        "behavior_scores": deleted(rows(BehaviorScore).filter(session_score__in=scores)),
        "scores": deleted(scores),
        "turns": deleted(rows(Turn).filter(session_id__in=sessions)),
        "recordings": len(recordings),
        "sessions": deleted(rows(PracticeSession).filter(membership=member)),
        "kpi_values": deleted(rows(KpiValue).filter(membership=member)),
        "rep_weeks": deleted(rows(RepWeek).filter(membership=member)),
        "digests": deleted(rows(DigestDelivery).filter(manager=member)),
        "assignments": deleted(rows(AssignmentRecipient).filter(membership=member)),
        "team_links": deleted(rows(TeamMembership).filter(membership=member)),
        "api_tokens": deleted(rows(ApiToken).filter(user=user)),
        "invitations": deleted(rows(Invitation).filter(email__iexact=user.email)),
    }
    # Work of theirs that belongs to the tenant stays, without their name on it.
    counts["references_cleared"] = sum(
        queryset.update(**{field: None})
        for queryset, field in (
            (rows(BehaviorScore).filter(adjusted_by=user), "adjusted_by"),
            (rows(Dispute).filter(resolved_by=user), "resolved_by"),
            (rows(Scenario).filter(created_by=user), "created_by"),
            (rows(ScenarioVersion).filter(created_by=user), "created_by"),
            (rows(Assignment).filter(assigned_by=user), "assigned_by"),
            (rows(KpiImport).filter(uploaded_by=user), "uploaded_by"),
            (rows(Invitation).filter(invited_by=user), "invited_by"),
        )
    )
    member_id, role = member.pk, member.role
    # Anything else that hangs off the membership (a table added later) goes with it.
    total, _ = member.delete()
    counts["other"] = total - 1
    audit_record(
        tenant=tenant, actor=actor, action="member.erased",
        summary=f"Erased the practice data of member #{member_id} ({counts['sessions']} session(s))",
        target=Membership(pk=member_id, tenant=tenant),
        data={
            "membership_id": member_id, "user_id": user.pk, "email_sha256": email_fingerprint(user.email),
            "role": role, "via": via, "counts": counts,
        },
    )
    return counts, recordings


def _delete_files(*, tenant: Tenant, names: list[str]) -> None:
    storage = _audio_storage()
    for name in names:
        try:
            storage.delete(name)
        except Exception:  # the rows are gone already; say loudly which file is left behind
            logger.exception("erasure of tenant %s could not delete recording %s", tenant.pk, name)
