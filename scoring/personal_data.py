"""Scoring's personal data for retention and erasure: a person's scores, the comments on their
sessions and their disputes, and the quotes of their words in the scores (registered in
coachhub.tenancy.retention.registry). Scores outlive their transcript; only the quotes go with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q

from coachhub.tenancy.models import Membership, Tenant
from coachhub.tenancy.retention.registry import Erasure, TranscriptWords, register_personal_data
from sessions.models import PracticeSession
from sessions.personal_data import sessions_older_than

from .models import BehaviorScore, Dispute, SessionScore, TurnComment


def sessions_with_quotes(*, tenant: Tenant, cutoff: datetime, limit: int) -> set[int]:
    # A score written after its session's lines were removed (a late scoring job) still gets its
    # quotes removed.
    old_sessions = sessions_older_than(tenant=tenant, cutoff=cutoff).values("id")
    return set(
        SessionScore.objects.for_tenant(tenant).filter(session__in=old_sessions).exclude(focus_example="")
        .values_list("session_id", flat=True).distinct().order_by("session_id")[:limit]
    )


def quotes_remove(*, tenant: Tenant, session_ids: list[int]) -> int:
    """Takes the rep's words out of these sessions' scores: evidence quotes and the focus example."""
    changed = 0
    scores = SessionScore.objects.for_tenant(tenant).select_for_update().filter(session_id__in=session_ids)
    for score in scores:
        result = result_without_quotes(score.result)
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


def result_without_quotes(result: Any) -> Any:
    """The stored engine result minus anything quoted from the conversation: every `evidence` list
    is emptied, every `quote` and the focus `example` blanked. Scores and verdicts stay."""
    if isinstance(result, list):
        return [result_without_quotes(item) for item in result]
    if not isinstance(result, dict):
        return result
    clean = {}
    for key, value in result.items():
        if key == "evidence" and isinstance(value, list):
            clean[key] = []
        elif key in ("quote", "example") and isinstance(value, str):
            clean[key] = ""
        else:
            clean[key] = result_without_quotes(value)
    return clean


def person_summary(*, tenant: Tenant, membership: Membership) -> dict[str, int]:
    sessions = PracticeSession.objects.for_tenant(tenant).filter(membership=membership).values("id")
    return {
        "scores": SessionScore.objects.for_tenant(tenant)
        .filter(Q(membership=membership) | Q(session__in=sessions))
        .count(),
        "comments": TurnComment.objects.for_tenant(tenant)
        .filter(Q(session__in=sessions) | Q(author_id=membership.user_id))
        .count(),
        "disputes": Dispute.objects.for_tenant(tenant).filter(rep=membership).count(),
    }


def person_erase(erasure: Erasure) -> None:
    rows, member, user = erasure.rows, erasure.member, erasure.user
    sessions = rows(PracticeSession).filter(membership=member).values("id")
    scores = rows(SessionScore).filter(Q(session_id__in=sessions) | Q(membership=member))
    erasure.delete("comments", rows(TurnComment).filter(Q(session_id__in=sessions) | Q(author=user)))
    erasure.delete("disputes", rows(Dispute).filter(Q(rep=member) | Q(session_score__in=scores)))
    erasure.delete("behavior_scores", rows(BehaviorScore).filter(session_score__in=scores))
    erasure.delete("scores", scores)


register_personal_data(
    "scoring",
    tables=(SessionScore, BehaviorScore, TurnComment, Dispute),
    order=20,
    # Scores and comments point at the sessions they are about.
    depends_on=("roleplay",),
    erase=person_erase,
    user_references=((BehaviorScore, "adjusted_by"), (Dispute, "resolved_by")),
    summarize=person_summary,
    transcript_words=TranscriptWords(pending=sessions_with_quotes, remove=quotes_remove, counter="scores"),
)
