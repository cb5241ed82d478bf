"""Keeps the weekly rep aggregates (`RepWeek`) fresh.

Whenever a session ends or a score is written, adjusted or rescored, the affected (rep, week) rows
are recomputed from the raw rows after commit. Recomputing a row is idempotent (an upsert of what
the raw rows say now), so a refresh that runs twice, late or concurrently with another does no harm;
an hourly sweep rebuilds the current and previous week in case a refresh job was lost.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from coachhub.tenancy.models import Tenant
from scenarios.models import AssignmentRecipient
from scoring.models import BehaviorScore, ScoreStatus, SessionScore
from sessions.models import PracticeSession, SessionStatus

from .models import RepWeek
from .weeks import current_week, week_bounds, week_of

logger = logging.getLogger(__name__)

Pair = tuple[int, date]  # (membership id, week start)
CHUNK_REPS = 200


def rep_week_refresh_on_commit(*, tenant: Tenant, session_id: int) -> None:
    """Hook for sessions and scoring: refresh the session's (rep, week) once the surrounding
    transaction commits, through a Celery job (inline when there is no broker)."""
    tenant_id = tenant.id

    def publish() -> None:
        from .tasks import refresh_rep_week

        try:
            refresh_rep_week.delay(tenant_id=tenant_id, session_id=session_id)
        except Exception:  # a broker outage must not break scoring; the hourly sweep catches up
            logger.exception("Could not enqueue the rep-week refresh of session %s.", session_id)

    transaction.on_commit(publish, robust=True)


def rep_week_refresh_for_session(*, tenant: Tenant, session_id: int) -> RepWeek | None:
    """Recompute the (rep, week) a session belongs to. A vanished, unfinished or trial session is a no-op."""
    session = (
        PracticeSession.objects.for_tenant(tenant)
        .filter(id=session_id)
        .values("membership_id", "ended_at", "status", "is_trial")
        .first()
    )
    if session is None or session["is_trial"] or session["status"] != SessionStatus.ENDED or not session["ended_at"]:
        return None
    pair = (session["membership_id"], week_of(session["ended_at"]))
    rep_weeks_refresh(tenant=tenant, pairs=[pair])
    return RepWeek.objects.for_tenant(tenant).filter(membership_id=pair[0], week_start=pair[1]).first()


def rep_weeks_refresh(*, tenant: Tenant, pairs: Iterable[Pair]) -> int:
    """Recompute exactly these (rep, week) rows from the raw rows; rows with no activity left are
    deleted. Returns how many rows now exist for them."""
    by_rep: dict[int, set[date]] = defaultdict(set)
    for membership_id, week_start in pairs:
        by_rep[membership_id].add(week_start)
    written = 0
    rep_ids = sorted(by_rep)
    for offset in range(0, len(rep_ids), CHUNK_REPS):
        chunk = {rep_id: by_rep[rep_id] for rep_id in rep_ids[offset:offset + CHUNK_REPS]}
        weeks = {week for rep_weeks in chunk.values() for week in rep_weeks}
        since, until = week_bounds(min(weeks))[0], week_bounds(max(weeks))[1]
        computed = _compute(tenant=tenant, rep_ids=list(chunk), since=since, until=until)
        wanted = {(rep_id, week) for rep_id, rep_weeks in chunk.items() for week in rep_weeks}
        written += _store(tenant=tenant, rows=[row for key, row in computed.items() if key in wanted],
                          empty=wanted - computed.keys())
    return written


def rep_weeks_rebuild(*, tenant: Tenant, since: date | None = None, rep_ids: list[int] | None = None) -> int:
    """Recompute every (rep, week) from `since` (a Monday; default: all history), set-based, in
    chunks of reps. Used by the demo seeder, the sweep and after bulk loads."""
    sessions = PracticeSession.objects.for_tenant(tenant).filter(status=SessionStatus.ENDED, is_trial=False)
    recipients = AssignmentRecipient.objects.for_tenant(tenant).filter(completed_at__isnull=False)
    existing = RepWeek.objects.for_tenant(tenant)
    if since is not None:
        start = week_bounds(since)[0]
        sessions = sessions.filter(ended_at__gte=start)
        recipients = recipients.filter(completed_at__gte=start)
        existing = existing.filter(week_start__gte=since)
    if rep_ids is not None:
        sessions = sessions.filter(membership_id__in=rep_ids)
        recipients = recipients.filter(membership_id__in=rep_ids)
        existing = existing.filter(membership_id__in=rep_ids)
    reps = set(sessions.values_list("membership_id", flat=True).distinct())
    reps |= set(recipients.values_list("membership_id", flat=True).distinct())
    reps |= set(existing.values_list("membership_id", flat=True).distinct())
    written = 0
    ordered = sorted(reps)
    now = timezone.now() + timedelta(days=1)
    for offset in range(0, len(ordered), CHUNK_REPS):
        chunk = ordered[offset:offset + CHUNK_REPS]
        computed = _compute(tenant=tenant, rep_ids=chunk, since=week_bounds(since)[0] if since else None, until=now)
        stale = set(existing.filter(membership_id__in=chunk).values_list("membership_id", "week_start"))
        written += _store(tenant=tenant, rows=list(computed.values()), empty=stale - computed.keys())
    return written


def rep_weeks_sweep(*, tenant: Tenant) -> int:
    """The safety net for lost refresh jobs: rebuild the current and previous week."""
    return rep_weeks_rebuild(tenant=tenant, since=current_week() - timedelta(weeks=1))


def _compute(*, tenant: Tenant, rep_ids: list[int], since, until) -> dict[Pair, RepWeek]:
    """Every (rep, week) with activity between `since` and `until`, from the raw rows: four queries
    however many reps and weeks."""
    sessions = PracticeSession.objects.for_tenant(tenant).filter(
        membership_id__in=rep_ids, status=SessionStatus.ENDED, is_trial=False, ended_at__lt=until
    )
    if since is not None:
        sessions = sessions.filter(ended_at__gte=since)
    session_week: dict[int, Pair] = {}
    rows: dict[Pair, RepWeek] = {}
    for session_id, membership_id, ended_at in sessions.values_list("id", "membership_id", "ended_at"):
        pair = (membership_id, week_of(ended_at))
        session_week[session_id] = pair
        row = rows.get(pair) or _new_row(tenant, pair)
        rows[pair] = row
        row.sessions += 1

    scores = SessionScore.objects.for_tenant(tenant).filter(
        membership_id__in=rep_ids, is_current=True, status=ScoreStatus.DONE,
        session__is_trial=False, session__status=SessionStatus.ENDED, session__ended_at__lt=until,
    )
    behaviors = BehaviorScore.objects.for_tenant(tenant).filter(
        session_score__membership_id__in=rep_ids, session_score__is_current=True,
        session_score__status=ScoreStatus.DONE, session_score__session__is_trial=False,
        session_score__session__status=SessionStatus.ENDED, session_score__session__ended_at__lt=until,
    )
    if since is not None:
        scores = scores.filter(session__ended_at__gte=since)
        behaviors = behaviors.filter(session_score__session__ended_at__gte=since)
    overall: dict[Pair, list[int]] = defaultdict(list)
    suggested: dict[Pair, Counter] = defaultdict(Counter)
    for session_id, value, focus in scores.values_list("session_id", "overall", "focus_behavior"):
        pair = session_week.get(session_id)
        if pair is None:
            continue
        rows[pair].scored_sessions += 1
        if value is not None:
            overall[pair].append(value)
        if focus:
            suggested[pair][focus] += 1
    finals: dict[Pair, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for session_id, behavior, ai, adjusted in behaviors.values_list(
        "session_score__session_id", "behavior", "ai_score", "adjusted_score"
    ):
        pair = session_week.get(session_id)
        final = adjusted if adjusted is not None else ai
        if pair is not None and final is not None:
            finals[pair][behavior].append(final)
    for pair, by_behavior in finals.items():
        rows[pair].behaviors = {
            key: {"mean": round(sum(values) / len(values), 2), "n": len(values)}
            for key, values in sorted(by_behavior.items())
        }
    for pair, values in overall.items():
        rows[pair].overall_mean = round(sum(values) / len(values), 2)

    # Assignments: completions count in the week they happened; the focus of a week is that of the
    # newest assignment with a focus that was open at some point during it.
    recipients = AssignmentRecipient.objects.for_tenant(tenant).filter(membership_id__in=rep_ids)
    if since is not None:
        recipients = recipients.filter(Q(completed_at__isnull=True) | Q(completed_at__gte=since))
    recipients = recipients.values_list("membership_id", "completed_at", "assignment__created_at", "assignment__focus_behavior",
                  "assignment__cancelled_at")
    open_focus: dict[int, list[tuple]] = defaultdict(list)
    for membership_id, completed_at, created_at, focus, cancelled_at in recipients:
        if completed_at is not None and completed_at < until:
            pair = (membership_id, week_of(completed_at))
            row = rows.get(pair) or _new_row(tenant, pair)
            rows[pair] = row
            row.assignments_completed += 1
        if focus:
            open_focus[membership_id].append((created_at, completed_at or cancelled_at, focus))
    for pair, row in rows.items():
        start, end = week_bounds(pair[1])
        candidates = [
            (created_at, focus) for created_at, closed_at, focus in open_focus.get(pair[0], [])
            if created_at < end and (closed_at is None or closed_at >= start)
        ]
        if candidates:
            row.focus_behavior, row.focus_source = max(candidates)[1], "assignment"
        elif suggested.get(pair):
            # Most frequent suggestion; ties go to the alphabetically first so reruns agree.
            best = sorted(suggested[pair].items(), key=lambda item: (-item[1], item[0]))[0][0]
            row.focus_behavior, row.focus_source = best, "scoring"
    return rows


def _new_row(tenant: Tenant, pair: Pair) -> RepWeek:
    return RepWeek(tenant=tenant, membership_id=pair[0], week_start=pair[1], behaviors={})


FIELDS = ["sessions", "scored_sessions", "assignments_completed", "behaviors", "overall_mean", "focus_behavior",
          "focus_source", "refreshed_at"]


@transaction.atomic
def _store(*, tenant: Tenant, rows: list[RepWeek], empty: set[Pair]) -> int:
    now = timezone.now()
    for row in rows:
        row.refreshed_at = now
    manager = RepWeek.objects.for_tenant(tenant)
    if empty:
        condition = Q()
        for membership_id, week_start in empty:
            condition |= Q(membership_id=membership_id, week_start=week_start)
        manager.filter(condition).delete()
    if rows:
        manager.bulk_create(
            rows, batch_size=1000, update_conflicts=True,
            unique_fields=["tenant", "membership", "week_start"], update_fields=FIELDS,
        )
    return len(rows)
