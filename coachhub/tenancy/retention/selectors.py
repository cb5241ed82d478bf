"""Reads for retention and erasure. Every read names its tenant."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from coachhub.tenancy.models import AuditEvent, Membership, RetentionSettings, Tenant


def retention_settings_get(*, tenant: Tenant) -> RetentionSettings:
    """The tenant's retention settings, or unsaved defaults when its admin never changed them."""
    return RetentionSettings.objects.for_tenant(tenant).first() or RetentionSettings(tenant=tenant)


def retention_last_run(*, tenant: Tenant) -> AuditEvent | None:
    """The audit entry of the latest cleanup that removed anything."""
    return AuditEvent.objects.for_tenant(tenant).filter(action="retention.applied").order_by("-created_at").first()


@dataclass(frozen=True)
class RetentionCutoffs:
    """Sessions that ended before these moments lose their recordings / transcripts (None: keep)."""

    audio: datetime | None
    transcript: datetime | None


def retention_cutoffs(*, settings: RetentionSettings, now: datetime | None = None) -> RetentionCutoffs:
    now = now or timezone.now()
    audio_days = settings.audio_retention_days
    transcript_days = settings.transcript_retention_days
    # A recording holds the same words as its transcript: it never outlives it.
    if transcript_days is not None and (audio_days is None or audio_days > transcript_days):
        audio_days = transcript_days
    return RetentionCutoffs(
        audio=now - timedelta(days=audio_days) if audio_days is not None else None,
        transcript=now - timedelta(days=transcript_days) if transcript_days is not None else None,
    )


def sessions_older_than(*, tenant: Tenant, cutoff: datetime) -> QuerySet:
    """Sessions that ended before `cutoff`, or that never ended and were last active before it."""
    from sessions.models import PracticeSession

    return PracticeSession.objects.for_tenant(tenant).filter(
        Q(ended_at__lt=cutoff) | Q(ended_at__isnull=True, last_activity_at__lt=cutoff)
    )


@dataclass(frozen=True)
class PersonData:
    """How much practice data one member has in one tenant: what an erasure would remove."""

    sessions: int
    turns: int
    recordings: int
    scores: int
    comments: int
    disputes: int
    kpi_values: int
    rep_weeks: int
    assignments: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def person_data_summary(*, tenant: Tenant, membership: Membership) -> PersonData:
    from reports.models import KpiValue, RepWeek
    from scenarios.models import AssignmentRecipient
    from scoring.models import Dispute, SessionScore, TurnComment
    from sessions.models import PracticeSession, Turn

    sessions = PracticeSession.objects.for_tenant(tenant).filter(membership=membership)
    turns = Turn.objects.for_tenant(tenant).filter(session__in=sessions.values("id"))
    return PersonData(
        sessions=sessions.count(),
        turns=turns.count(),
        recordings=turns.exclude(audio="").count(),
        scores=SessionScore.objects.for_tenant(tenant)
        .filter(Q(membership=membership) | Q(session__in=sessions.values("id")))
        .count(),
        comments=TurnComment.objects.for_tenant(tenant)
        .filter(Q(session__in=sessions.values("id")) | Q(author_id=membership.user_id))
        .count(),
        disputes=Dispute.objects.for_tenant(tenant).filter(rep=membership).count(),
        kpi_values=KpiValue.objects.for_tenant(tenant).filter(membership=membership).count(),
        rep_weeks=RepWeek.objects.for_tenant(tenant).filter(membership=membership).count(),
        assignments=AssignmentRecipient.objects.for_tenant(tenant).filter(membership=membership).count(),
    )
