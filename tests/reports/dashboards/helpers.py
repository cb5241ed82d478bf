"""Builders for dashboard tests: sessions scored by the real scoring service in a chosen week, and a
naive recomputation of the scorecard straight from the raw rows to compare the pages against."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from coachhub.tenancy.context import tenant_context
from reports.dashboards.weeks import current_week
from scoring.models import BehaviorScore, SessionScore
from scoring.services import score_adjust
from sessions.models import PracticeSession
from tests.scoring.factories import DISMISSIVE_LINES, SUPPORTIVE_LINES, scored_session


def week_ago(n: int) -> date:
    return current_week() - timedelta(weeks=n)


def at(week: date, day: int = 1, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(week + timedelta(days=day), time(hour, 0)))


def score_in_week(membership, week: date, *, day: int = 1, good: bool = True, **extra):
    """An ended session of `membership` in `week`, scored by the embedded scorer (its hook refreshes
    the aggregates after commit). Returns (session, score)."""
    lines = SUPPORTIVE_LINES if good else DISMISSIVE_LINES
    return scored_session(membership, lines, ended_at=at(week, day), started_at=at(week, day) - timedelta(minutes=5),
                          **extra)


def adjust(world, score: SessionScore, behavior: str, value: int, reviewer_role: str = "manager"):
    reviewer = world.member(reviewer_role)
    reviewer.tenant = world.tenant
    with tenant_context(world.tenant):
        row = BehaviorScore.objects.for_tenant(world.tenant).select_related("session_score__session").get(
            session_score=score, behavior=behavior)
        return score_adjust(tenant=world.tenant, actor=reviewer.user, reviewer=reviewer, behavior_score=row,
                            score=value, reason="Listened to the call.")


def naive_week(tenant, membership_id: int, week: date) -> dict:
    """Scorecard numbers for one rep and week, recomputed the simplest way from raw rows."""
    start = timezone.make_aware(datetime.combine(week, time.min))
    end = start + timedelta(days=7)
    with tenant_context(tenant):
        sessions = [s for s in PracticeSession.objects.for_tenant(tenant).filter(membership_id=membership_id)
                    if s.status == "ended" and not s.is_trial and start <= s.ended_at < end]
        ids = {s.id for s in sessions}
        scores = [sc for sc in SessionScore.objects.for_tenant(tenant).filter(session_id__in=ids)
                  if sc.is_current and sc.status == "done"]
        finals = defaultdict(list)
        for row in BehaviorScore.objects.for_tenant(tenant).filter(session_score__in=scores):
            final = row.adjusted_score if row.adjusted_score is not None else row.ai_score
            if final is not None:
                finals[row.behavior].append(final)
    overall = [sc.overall for sc in scores if sc.overall is not None]
    return {
        "sessions": len(sessions),
        "behaviors": {key: sum(v) / len(v) for key, v in finals.items()},
        "overall": sum(overall) / len(overall) if overall else None,
    }
