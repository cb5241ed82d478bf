"""Reviewing scores: manager adjustments, turn comments and rep disputes."""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from coachhub.core.errors import ApplicationError, Conflict
from coachhub.tenancy.models import Membership, Tenant, User
from coachhub.tenancy.services import audit_record
from scenarios.behaviors import behavior_label
from sessions.models import PracticeSession
from sessions.models import Turn as SessionTurn

from ..models import BehaviorScore, Dispute, DisputeStatus, TurnComment
from ..selectors import can_dispute, can_review
from .jobs import _announce_scored

logger = logging.getLogger(__name__)

REASON_MAX = 1000
NOTE_MAX = 2000

def _require_reviewer(viewer: Membership, session: PracticeSession) -> None:
    if not can_review(viewer=viewer, session=session):
        raise ApplicationError("Your role can't review this session.", code="forbidden", status_code=403)


def _validate_score(score: Any) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100:
        raise ApplicationError(
            "The score must be a whole number from 0 to 100.", code="invalid_score",
            fields={"score": "Enter a whole number from 0 to 100."},
        )
    return score


@transaction.atomic
def score_adjust(
    *, tenant: Tenant, actor: User, reviewer: Membership, behavior_score: BehaviorScore, score: int, reason: str
) -> BehaviorScore:
    """A reviewer sets the score that counts for one behavior; the AI score stays beside it."""
    session = behavior_score.session_score.session
    _require_reviewer(reviewer, session)
    score = _validate_score(score)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why you are changing the score.", code="reason_required",
                               fields={"reason": "Say why you are changing the score, so the rep can learn from it."})
    if len(reason) > REASON_MAX:
        raise ApplicationError("The reason is too long.", code="invalid",
                               fields={"reason": f"Keep the reason under {REASON_MAX} characters."})
    row = BehaviorScore.objects.for_tenant(tenant).select_for_update().get(id=behavior_score.id)
    previous = row.adjusted_score
    row.adjusted_score = score
    row.adjusted_by = actor
    row.adjusted_reason = reason
    row.adjusted_at = timezone.now()
    row.save(update_fields=["adjusted_score", "adjusted_by", "adjusted_reason", "adjusted_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="score.adjusted",
        summary=f"{behavior_label(row.behavior)} of session {session.id} set to {score} (AI: {row.ai_score})",
        target=row,
        data={
            "session_id": session.id,
            "behavior": row.behavior,
            "ai_score": row.ai_score,
            "previous": previous,
            "score": score,
            "reason": reason,
        },
    )
    _announce_scored(tenant=tenant, session_id=session.id)
    return row


@transaction.atomic
def turn_comment_add(
    *, tenant: Tenant, actor: User, reviewer: Membership, session: PracticeSession, turn_index: int, text: str
) -> TurnComment:
    _require_reviewer(reviewer, session)
    text = (text or "").strip()
    if not text:
        raise ApplicationError("Write a comment first.", code="invalid", fields={"text": "Write a comment first."})
    if len(text) > NOTE_MAX:
        raise ApplicationError("The comment is too long.", code="invalid",
                               fields={"text": f"Keep comments under {NOTE_MAX} characters."})
    if not SessionTurn.objects.for_tenant(tenant).filter(session=session, index=turn_index).exists():
        raise ApplicationError("That turn is not in this session.", code="turn_not_found",
                               fields={"turn_index": "Pick a turn of this session."})
    return TurnComment.objects.for_tenant(tenant).create(
        tenant=tenant, session=session, turn_index=turn_index, author=actor, text=text
    )


@transaction.atomic
def dispute_open(*, tenant: Tenant, rep: Membership, behavior_score: BehaviorScore, note: str) -> Dispute:
    """The rep who practiced asks for a second look at one behavior score."""
    score = behavior_score.session_score
    if not can_dispute(viewer=rep, session=score.session):
        raise ApplicationError("Only the rep who practiced can dispute these scores.", code="forbidden",
                               status_code=403)
    if not score.is_current:
        raise Conflict("This score was replaced by a newer scoring; dispute the current one.", code="score_replaced")
    note = (note or "").strip()
    if not note:
        raise ApplicationError("Tell your coach what the score missed.", code="note_required",
                               fields={"note": "Tell your coach what the score missed."})
    if len(note) > NOTE_MAX:
        raise ApplicationError("The note is too long.", code="invalid",
                               fields={"note": f"Keep the note under {NOTE_MAX} characters."})
    disputes = Dispute.objects.for_tenant(tenant)
    if disputes.filter(behavior_score=behavior_score, status=DisputeStatus.OPEN).exists():
        raise Conflict("You already disputed this score; your coach will look at it.", code="dispute_open")
    try:
        with transaction.atomic():
            return disputes.create(
                tenant=tenant, session_score=score, behavior_score=behavior_score, rep=rep, note=note
            )
    except IntegrityError:
        raise Conflict("You already disputed this score; your coach will look at it.", code="dispute_open") from None


@transaction.atomic
def dispute_resolve(
    *,
    tenant: Tenant,
    manager: Membership,
    actor: User,
    dispute: Dispute,
    resolution_note: str,
    score: int | None = None,
) -> Dispute:
    """A reviewer answers a dispute, optionally adjusting the score in the same step."""
    row = Dispute.objects.for_tenant(tenant).select_for_update().select_related(
        "behavior_score__session_score__session"
    ).get(id=dispute.id)
    _require_reviewer(manager, row.behavior_score.session_score.session)
    if row.status != DisputeStatus.OPEN:
        raise Conflict("This dispute is already resolved.", code="dispute_resolved")
    resolution_note = (resolution_note or "").strip()
    if not resolution_note:
        raise ApplicationError("Tell the rep what you decided.", code="note_required",
                               fields={"resolution_note": "Tell the rep what you decided and why."})
    if score is not None:
        score_adjust(tenant=tenant, actor=actor, reviewer=manager, behavior_score=row.behavior_score,
                     score=score, reason=f"Dispute: {resolution_note}")
    row.status = DisputeStatus.RESOLVED
    row.resolution_note = resolution_note[:NOTE_MAX]
    row.resolved_by = actor
    row.resolved_at = timezone.now()
    row.save(update_fields=["status", "resolution_note", "resolved_by", "resolved_at"])
    audit_record(
        tenant=tenant, actor=actor, action="score.dispute_resolved",
        summary=f"Dispute of {behavior_label(row.behavior_score.behavior)} resolved", target=row,
        data={"session_score_id": row.session_score_id, "score": score},
    )
    return row
