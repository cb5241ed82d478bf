"""Reads for retention and erasure. Every read names its tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from coachhub.tenancy.models import AuditEvent, Membership, RetentionSettings, Tenant

from .registry import personal_data


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


class PersonData(dict):
    """How much practice data one member has in one tenant, by kind (sessions, turns, scores, …) in
    the registered order: what an erasure would remove. Kinds read as attributes, as in templates."""

    def __getattr__(self, kind: str) -> int:
        try:
            return self[kind]
        except KeyError:
            raise AttributeError(kind) from None

    def as_dict(self) -> dict[str, int]:
        return dict(self)


def person_data_summary(*, tenant: Tenant, membership: Membership) -> PersonData:
    summary = PersonData()
    for registration in personal_data():
        if registration.summarize is not None:
            summary.update(registration.summarize(tenant=tenant, membership=membership))
    return summary
