"""Reads of scores, review notes and disputes: always inside one tenant and within the viewer's reach
(a rep their own sessions, a manager their teams' reps, enablement leads and admins everyone)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Abs
from django.shortcuts import get_object_or_404

from coachhub.core.charts import Sparkline, sparkline
from coachhub.tenancy.access import REVIEWERS
from coachhub.tenancy.models import Membership, Role, Tenant
from sessions.models import PracticeSession
from sessions.selectors import session_get_visible, session_list_visible

from .models import BehaviorScore, Dispute, DisputeStatus, ScoreStatus, SessionScore, TurnComment

TREND_SESSIONS = 8
AGREEMENT_WINDOW = 10  # points: an adjustment this close to the AI score still counts as agreement


# --- scores -------------------------------------------------------------------------------------


def _behaviors_prefetch(tenant: Tenant) -> Prefetch:
    return Prefetch(
        "behaviors",
        queryset=BehaviorScore.objects.for_tenant(tenant).select_related("adjusted_by").order_by("id"),
    )


def session_score_list(*, tenant: Tenant, viewer: Membership, session_id: int | None = None) -> QuerySet[SessionScore]:
    """Every scoring run (history included) of the sessions the viewer may see, newest first."""
    visible = session_list_visible(tenant=tenant, viewer=viewer).values("id")
    scores = SessionScore.objects.for_tenant(tenant).filter(session_id__in=visible)
    if session_id is not None:
        scores = scores.filter(session_id=session_id)
    return scores.prefetch_related(_behaviors_prefetch(tenant)).order_by("-created_at", "-id")


def session_score_get(*, tenant: Tenant, viewer: Membership, score_id: int) -> SessionScore:
    return get_object_or_404(session_score_list(tenant=tenant, viewer=viewer), id=score_id)


def session_score_current(*, tenant: Tenant, session: PracticeSession) -> SessionScore | None:
    """The result people see: the latest finished run (rescoring keeps the older ones as history)."""
    return (
        SessionScore.objects.for_tenant(tenant)
        .filter(session=session, is_current=True)
        .prefetch_related(_behaviors_prefetch(tenant))
        .first()
    )


def session_score_latest(*, tenant: Tenant, session: PracticeSession) -> SessionScore | None:
    """The newest run whatever its state: tells a pending or failed job apart from none at all."""
    return SessionScore.objects.for_tenant(tenant).filter(session=session).order_by("-created_at", "-id").first()


def behavior_score_get(*, tenant: Tenant, viewer: Membership, behavior_score_id: int, session_id: int | None = None
                       ) -> BehaviorScore:
    visible = session_list_visible(tenant=tenant, viewer=viewer).values("id")
    scores = BehaviorScore.objects.for_tenant(tenant).filter(session_score__session_id__in=visible)
    if session_id is not None:
        scores = scores.filter(session_score__session_id=session_id)
    return get_object_or_404(
        scores.select_related("session_score", "session_score__session"), id=behavior_score_id
    )


def behavior_score_get_own(*, tenant: Tenant, rep: Membership, behavior_score_id: int) -> BehaviorScore:
    """A behavior score of one of the rep's own sessions (what a dispute may point at)."""
    scores = BehaviorScore.objects.for_tenant(tenant).filter(session_score__session__membership=rep)
    return get_object_or_404(
        scores.select_related("session_score", "session_score__session"), id=behavior_score_id
    )


# --- who may review whom ----------------------------------------------------------------------


def can_review(*, viewer: Membership, session: PracticeSession) -> bool:
    """Reviewers adjust and comment on sessions they can see, but never on their own practice."""
    return viewer.role in REVIEWERS and session.membership_id != viewer.id


def can_dispute(*, viewer: Membership, session: PracticeSession) -> bool:
    return session.membership_id == viewer.id


# --- comments and disputes --------------------------------------------------------------------


def turn_comment_list(*, tenant: Tenant, viewer: Membership, session_id: int | None = None) -> QuerySet[TurnComment]:
    visible = session_list_visible(tenant=tenant, viewer=viewer).values("id")
    comments = TurnComment.objects.for_tenant(tenant).filter(session_id__in=visible).select_related("author")
    if session_id is not None:
        comments = comments.filter(session_id=session_id)
    return comments.order_by("session_id", "turn_index", "created_at", "id")


def dispute_list(
    *, tenant: Tenant, viewer: Membership, session_id: int | None = None, status: str = ""
) -> QuerySet[Dispute]:
    visible = session_list_visible(tenant=tenant, viewer=viewer).values("id")
    disputes = Dispute.objects.for_tenant(tenant).filter(session_score__session_id__in=visible)
    if session_id is not None:
        disputes = disputes.filter(session_score__session_id=session_id)
    if status:
        disputes = disputes.filter(status=status)
    return disputes.select_related("behavior_score", "session_score", "rep__user", "resolved_by").order_by(
        "-created_at", "-id"
    )


def dispute_get(*, tenant: Tenant, viewer: Membership, dispute_id: int, session_id: int | None = None) -> Dispute:
    return get_object_or_404(dispute_list(tenant=tenant, viewer=viewer, session_id=session_id), id=dispute_id)


# --- trend --------------------------------------------------------------------------------------


@dataclass
class Trend:
    """One behavior's scores over the rep's recent sessions, oldest first, with their sparkline."""

    behavior: str
    values: list[int] = field(default_factory=list)
    line: Sparkline = field(default_factory=lambda: sparkline([]))

    @property
    def change(self) -> int | None:
        return self.values[-1] - self.values[0] if len(self.values) > 1 else None


def rep_behavior_trends(
    *, tenant: Tenant, rep_id: int, until: datetime | None, limit: int = TREND_SESSIONS
) -> dict[str, Trend]:
    """Each behavior's final score (adjusted when adjusted) over the rep's last `limit` scored,
    non-trial sessions that ended by `until`. Two queries however many sessions."""
    scores = SessionScore.objects.for_tenant(tenant).filter(
        membership_id=rep_id, is_current=True, status=ScoreStatus.DONE, session__is_trial=False
    )
    if until is not None:
        scores = scores.filter(session__ended_at__lte=until)
    recent = list(scores.order_by("-session__ended_at", "-id").values_list("id", flat=True)[:limit])
    order = {score_id: position for position, score_id in enumerate(reversed(recent))}
    rows = (
        BehaviorScore.objects.for_tenant(tenant)
        .filter(session_score_id__in=recent)
        .values_list("session_score_id", "behavior", "ai_score", "adjusted_score")
    )
    by_behavior: dict[str, list[tuple[int, int]]] = {}
    for score_id, behavior, ai, adjusted in rows:
        value = adjusted if adjusted is not None else ai
        if value is not None:
            by_behavior.setdefault(behavior, []).append((order[score_id], value))
    trends = {}
    for behavior, pairs in by_behavior.items():
        values = [value for _, value in sorted(pairs)]
        trends[behavior] = Trend(behavior=behavior, values=values, line=sparkline(values))
    return trends


# --- agreement between the AI and reviewers -----------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    behavior: str
    scored: int  # behavior rows with an AI score
    adjusted: int
    share_adjusted: float | None
    mean_abs_adjustment: float | None  # over adjusted rows
    agreement_rate: float | None  # share of rows left alone or adjusted by at most AGREEMENT_WINDOW points


def agreement_by_behavior(
    *, tenant: Tenant, viewer: Membership | None = None, since: datetime | None = None
) -> list[Agreement]:
    """How often reviewers change the AI's score, and by how much, per behavior, over current
    results of non-trial sessions. A score nobody adjusted counts as agreement: reviewers see every
    score on the results page, so leaving one alone is accepting it."""
    rows = BehaviorScore.objects.for_tenant(tenant).filter(
        session_score__is_current=True, session_score__session__is_trial=False, ai_score__isnull=False
    )
    if viewer is not None and viewer.role not in (Role.ENABLEMENT_LEAD, Role.TENANT_ADMIN):
        visible = session_list_visible(tenant=tenant, viewer=viewer).values("id")
        rows = rows.filter(session_score__session_id__in=visible)
    if since is not None:
        rows = rows.filter(session_score__session__ended_at__gte=since)
    adjusted = Q(adjusted_score__isnull=False)
    close = Q(adjusted_score__gte=F("ai_score") - AGREEMENT_WINDOW, adjusted_score__lte=F("ai_score") + AGREEMENT_WINDOW)
    aggregates = (
        rows.values("behavior")
        .annotate(
            scored=Count("id"),
            adjusted=Count("id", filter=adjusted),
            abs_sum=Sum(Abs(F("adjusted_score") - F("ai_score")), filter=adjusted),
            agree=Count("id", filter=~adjusted | close),
        )
        .order_by("behavior")
    )
    return [
        Agreement(
            behavior=row["behavior"],
            scored=row["scored"],
            adjusted=row["adjusted"],
            share_adjusted=round(row["adjusted"] / row["scored"], 3) if row["scored"] else None,
            mean_abs_adjustment=round(row["abs_sum"] / row["adjusted"], 1) if row["adjusted"] else None,
            agreement_rate=round(row["agree"] / row["scored"], 3) if row["scored"] else None,
        )
        for row in aggregates
    ]


# --- the results partial ------------------------------------------------------------------------


def session_for_scores(*, tenant: Tenant, viewer: Membership, session_id: int) -> PracticeSession:
    """The session whose scores the viewer asks for: 404 when it isn't theirs to see."""
    return session_get_visible(tenant=tenant, viewer=viewer, session_id=session_id)


def open_disputes_for_reviewer(*, tenant: Tenant, viewer: Membership) -> QuerySet[Dispute]:
    return dispute_list(tenant=tenant, viewer=viewer, status=DisputeStatus.OPEN).exclude(
        Q(rep_id=viewer.id)
    )


def scorer_versions_between(*, tenant: Tenant, start: datetime, end: datetime) -> list[str]:
    """Which scorers produced the results people see for sessions that ended in [start, end), e.g.
    ["embedded 2.1+minilm-proto-3"], so a scorecard can say what its numbers stand on."""
    rows = (
        SessionScore.objects.for_tenant(tenant)
        .filter(is_current=True, status=ScoreStatus.DONE, session__ended_at__gte=start, session__ended_at__lt=end)
        .values_list("engine", "scorer_version")
        .distinct()
        .order_by("engine", "scorer_version")
    )
    return [f"{engine} {version}" for engine, version in rows]
