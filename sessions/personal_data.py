"""The practice sessions' personal data for retention and erasure: a person's sessions, the lines
they said and their voice recordings (registered in coachhub.tenancy.retention.registry).

Both retention windows are counted from the end of each session, so the other apps' words age by
`sessions_older_than` too.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from django.db.models import Q, QuerySet

from coachhub.tenancy.models import Membership, Tenant
from coachhub.tenancy.retention.registry import (
    BATCH_SIZE,
    Erasure,
    TranscriptWords,
    register_personal_data,
)

from .models import PracticeSession, Turn

logger = logging.getLogger(__name__)


def sessions_older_than(*, tenant: Tenant, cutoff: datetime) -> QuerySet:
    """Sessions that ended before `cutoff`, or that never ended and were last active before it."""
    return PracticeSession.objects.for_tenant(tenant).filter(
        Q(ended_at__lt=cutoff) | Q(ended_at__isnull=True, last_activity_at__lt=cutoff)
    )


def _audio_storage():
    return Turn._meta.get_field("audio").storage


def delete_recordings(*, tenant: Tenant, cutoff: datetime) -> int:
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


def sessions_with_text(*, tenant: Tenant, cutoff: datetime, limit: int) -> set[int]:
    old_sessions = sessions_older_than(tenant=tenant, cutoff=cutoff).values("id")
    return set(
        Turn.objects.for_tenant(tenant).filter(session__in=old_sessions).exclude(text="")
        .values_list("session_id", flat=True).distinct().order_by("session_id")[:limit]
    )


def text_remove(*, tenant: Tenant, session_ids: list[int]) -> int:
    return Turn.objects.for_tenant(tenant).filter(session_id__in=session_ids).exclude(text="").update(text="")


def person_summary(*, tenant: Tenant, membership: Membership) -> dict[str, int]:
    sessions = PracticeSession.objects.for_tenant(tenant).filter(membership=membership)
    turns = Turn.objects.for_tenant(tenant).filter(session__in=sessions.values("id"))
    return {"sessions": sessions.count(), "turns": turns.count(), "recordings": turns.exclude(audio="").count()}


def person_erase(erasure: Erasure) -> None:
    sessions = erasure.rows(PracticeSession).filter(membership=erasure.member).values("id")
    recordings = list(
        erasure.rows(Turn).filter(session_id__in=sessions).exclude(audio="").values_list("audio", flat=True)
    )
    erasure.delete("turns", erasure.rows(Turn).filter(session_id__in=sessions))
    erasure.counts["recordings"] = len(recordings)
    erasure.delete("sessions", erasure.rows(PracticeSession).filter(membership=erasure.member))
    erasure.after_commit(partial(_delete_files, tenant=erasure.tenant, names=recordings))


def _delete_files(*, tenant: Tenant, names: list[str]) -> None:
    storage = _audio_storage()
    for name in names:
        try:
            storage.delete(name)
        except Exception:  # the rows are gone already; say loudly which file is left behind
            logger.exception("erasure of tenant %s could not delete recording %s", tenant.pk, name)


register_personal_data(
    "roleplay",
    tables=(PracticeSession, Turn),
    order=10,
    # A session points at its scenario version and at the assignment it was practiced for.
    depends_on=("scenarios",),
    erase=person_erase,
    summarize=person_summary,
    delete_recordings=delete_recordings,
    transcript_words=TranscriptWords(
        pending=sessions_with_text, remove=text_remove, counter="turns", is_transcript=True
    ),
)
