"""Reads behind the scorecard, the rep drill-down and the rep's own progress page.

Every read names its tenant and stays within whom the viewer may see (a manager their teams' reps,
enablement leads and admins everyone). Pages read the weekly aggregates (`RepWeek`), never raw
scores, and each builder runs a fixed number of queries however many reps it shows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from django.db import connection
from django.db.models import (
    CharField,
    Func,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from coachhub.tenancy.models import Membership, Role, TeamMembership, TeamRole, Tenant
from coachhub.tenancy.selectors import visible_rep_memberships
from reports.kpi.metrics import display_value
from reports.models import KpiMetric, KpiValue
from scenarios.behaviors import DEFAULT_BEHAVIORS, behavior_label
from scoring.models import BehaviorScore, ScoreStatus, SessionScore
from sessions.models import PracticeSession, SessionStatus

from .models import RepWeek, TenantReportSettings
from .paging import ordered_reps

HISTORY_WEEKS = 12
RECENT_SESSIONS = 20


def behavior_order(keys) -> list[str]:
    known = [key for key in DEFAULT_BEHAVIORS if key in keys]
    return known + sorted(key for key in keys if key not in DEFAULT_BEHAVIORS)


def report_settings_get(*, tenant: Tenant) -> TenantReportSettings:
    """The tenant's settings, or unsaved defaults (70 points over 3 sessions) when never saved."""
    return TenantReportSettings.objects.for_tenant(tenant).first() or TenantReportSettings(tenant=tenant)


def scorecard_reps(*, viewer: Membership) -> QuerySet[Membership]:
    """The reps on a viewer's scorecard: a manager's teams' reps, everyone's for leads and admins."""
    return visible_rep_memberships(membership=viewer).filter(role=Role.REP, is_active=True)


def rep_get_visible(*, viewer: Membership, membership_id: int) -> Membership:
    """A rep the viewer may drill into; 404 for anyone else (another team, another tenant)."""
    return get_object_or_404(scorecard_reps(viewer=viewer).select_related("user"), id=membership_id)


# --- the weekly scorecard -----------------------------------------------------------------------


@dataclass
class Cell:
    value: float | None
    shown: str
    change: float | None = None
    better: bool | None = None  # is the change an improvement (KPIs where lower is better flip it)

    @property
    def change_shown(self) -> str:
        if self.change is None:
            return ""
        return f"{self.change:+.1f}".replace("+0.0", "±0").replace("-0.0", "±0")

    @property
    def arrow(self) -> str:
        if self.change is None or round(self.change, 1) == 0:
            return "flat" if self.change is not None else ""
        return "up" if self.change > 0 else "down"


@dataclass
class ScorecardRow:
    membership_id: int
    name: str
    email: str
    teams: str
    behaviors: list[Cell]
    overall: Cell
    sessions: int
    scored_sessions: int
    assignments_completed: int
    focus_behavior: str
    focus_label: str
    focus_source: str
    kpis: list[Cell]


@dataclass
class Column:
    key: str
    label: str
    group: str  # "rep", "behavior", "activity", "kpi"


@dataclass
class Scorecard:
    week: date
    previous: date
    behaviors: list[str]
    metrics: list[KpiMetric]
    rows: list[ScorecardRow]
    sort: str
    columns: list[Column] = field(default_factory=list)
    total: int = 0  # reps in scope; `rows` holds one page of them when the card was built paged
    page: int = 1
    per_page: int = 50

    @property
    def behavior_labels(self) -> list[str]:
        return [behavior_label(key) for key in self.behaviors]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.per_page + len(self.rows)


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}".removesuffix(".0")


def _cell(now: float | None, before: float | None, *, higher_is_better: bool = True, unit: str | None = None) -> Cell:
    change = round(now - before, 2) if now is not None and before is not None else None
    shown = display_value(now, unit) if unit else _score(now)
    better = None if change is None or change == 0 else (change > 0) == higher_is_better
    return Cell(value=now, shown=shown, change=change, better=better)


def scorecard_build(*, viewer: Membership, week: date, sort: str = "rep", page: int | None = None,
                    per_page: int = 50) -> Scorecard:
    """The viewer's reps for one week: behavior means with the change from the week before,
    practice activity and the focus behavior, and the same week's KPIs.

    Sorting happens in the database (blanks last, then the rep's name), and so does paging: with a
    `page` (1-based; past the end shows the last page) only that page's rows are built, so a lead
    with ten thousand reps costs what a manager with fifty does. Without one, every row comes back
    in order (digest; the CSV streams them with `scorecard_stream`). Six queries (two more when
    `page` is past the end)."""
    frame = _frame(viewer=viewer, week=week, sort=sort)
    paged = page is not None
    page = max(page or 1, 1)
    reps = frame.ordered(page, per_page if paged else None)
    if paged and not reps and page > 1:  # past the end: the last page, as Django's Paginator.get_page does
        page = max(1, -(-frame.scope.count() // per_page))
        reps = frame.ordered(page, per_page)
    total = reps[0][3] if reps else 0
    # A page names its reps; every rep is a subquery, not ten thousand parameters.
    rep_ids = [rep_id for rep_id, _, _, _ in reps] if paged else frame.scope.values("id")
    card = frame.card(total=total, page=page, per_page=per_page if paged else max(total, 1))
    card.rows = _rows(frame, reps, _week_data(frame, rep_ids))
    return card


def scorecard_stream(*, viewer: Membership, week: date, sort: str = "rep",
                     chunk_size: int = 1000) -> tuple[Scorecard, Iterator[list[ScorecardRow]]]:
    """Every rep of the scorecard, for the CSV: the card (columns, order; no rows) now, and its rows
    in order, `chunk_size` at a time, built as they are consumed. So a tenant-wide export starts
    sending before the last row is built and never holds ten thousand rows of cells."""
    frame = _frame(viewer=viewer, week=week, sort=sort)
    reps = frame.ordered(1, None)
    card = frame.card(total=len(reps), page=1, per_page=max(len(reps), 1))

    def chunks() -> Iterator[list[ScorecardRow]]:
        # The two weeks' aggregates and KPIs of the whole scope in three queries (a semi-join on the
        # scope reads one week's rows through the (tenant, week) indexes; a thousand ids per query
        # would walk every week of each rep instead), then the rows built a chunk at a time.
        week_data = _week_data(frame, frame.scope.values("id"))
        for start in range(0, len(reps), chunk_size):
            yield _rows(frame, reps[start:start + chunk_size], week_data)

    return card, chunks()


@dataclass
class _Frame:
    """What every page of one scorecard shares: its scope, columns, and the sort it settled on."""

    tenant: Tenant
    week: date
    previous: date
    scope: QuerySet[Membership]
    behaviors: list[str]
    metrics: list[KpiMetric]
    columns: list[Column]
    key: str
    descending: bool

    def ordered(self, page: int, per_page: int | None) -> list[tuple[int, str, str, int]]:
        """(rep id, name, email, reps in scope) of one page in column order, or of all reps."""
        return ordered_reps(tenant=self.tenant, scope=self.scope, week=self.week, key=self.key,
                            descending=self.descending, metrics=self.metrics,
                            offset=(page - 1) * (per_page or 0), limit=per_page)

    def card(self, *, total: int, page: int, per_page: int) -> Scorecard:
        return Scorecard(week=self.week, previous=self.previous, behaviors=self.behaviors, metrics=self.metrics,
                         rows=[], sort=f"-{self.key}" if self.descending else self.key, columns=self.columns,
                         total=total, page=page, per_page=per_page)


def _frame(*, viewer: Membership, week: date, sort: str) -> _Frame:
    tenant = viewer.tenant
    scope = scorecard_reps(viewer=viewer)
    behaviors = behavior_order(_behavior_keys(tenant=tenant, week=week, scope=scope))
    # Per metric, the first value in scope that week: a probe of the (tenant, period_start, metric)
    # index (reports migration 0006). An EXISTS becomes a semi-join that PostgreSQL may answer by
    # scanning every KPI value of every week.
    metrics = list(
        KpiMetric.objects.for_tenant(tenant)
        .annotate(first_value=Subquery(KpiValue.objects.for_tenant(tenant).filter(
            metric=OuterRef("pk"), period_start=week, membership__in=scope.values("id")).order_by().values("id")[:1]))
        .filter(first_value__isnull=False)
        .order_by("-is_builtin", "id")
    )
    columns = [Column("rep", "Rep", "rep"), Column("team", "Team", "rep")]
    columns += [Column(f"b:{key}", behavior_label(key), "behavior") for key in behaviors]
    columns += [Column("overall", "Overall", "behavior"), Column("sessions", "Sessions", "activity"),
                Column("assignments", "Assignments done", "activity"), Column("focus", "Focus", "activity")]
    columns += [Column(f"k:{metric.key}", metric.label, "kpi") for metric in metrics]
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in {column.key for column in columns}:
        key, descending = "rep", False
    return _Frame(tenant=tenant, week=week, previous=week - timedelta(weeks=1), scope=scope, behaviors=behaviors,
                  metrics=metrics, columns=columns, key=key, descending=descending)


class _WeekRow(NamedTuple):
    """The columns of a RepWeek the scorecard shows (no model instance per rep)."""

    behaviors: dict
    overall_mean: float | None
    sessions: int
    scored_sessions: int
    assignments_completed: int
    focus_behavior: str
    focus_source: str

    def mean(self, behavior: str) -> float | None:
        entry = self.behaviors.get(behavior)
        return entry["mean"] if entry else None


def _week_data(frame: _Frame, rep_ids) -> tuple[dict, dict, dict]:
    """Teams, this and last week's aggregates, and KPIs of these reps (ids or a subquery). Three queries."""
    tenant, week, previous = frame.tenant, frame.week, frame.previous
    teams: dict[int, list[str]] = defaultdict(list)
    for membership_id, team_name in (
        TeamMembership.objects.for_tenant(tenant)
        .filter(membership_id__in=rep_ids, kind=TeamRole.MEMBER)
        .order_by("team__name")
        .values_list("membership_id", "team__name")
    ):
        teams[membership_id].append(team_name)
    weeks: dict[tuple[int, date], _WeekRow] = {
        (membership_id, week_start): _WeekRow(*columns)
        for membership_id, week_start, *columns in RepWeek.objects.for_tenant(tenant)
        .filter(membership_id__in=rep_ids, week_start__in=[week, previous])
        .order_by()
        .values_list("membership_id", "week_start", *_WeekRow._fields)
    }
    kpis: dict[tuple[int, int, date], float] = {
        (membership_id, metric_id, period): value
        for membership_id, metric_id, period, value in KpiValue.objects.for_tenant(tenant)
        .filter(membership_id__in=rep_ids, period_start__in=[week, previous])
        .order_by()
        .values_list("membership_id", "metric_id", "period_start", "value")
    }
    return teams, weeks, kpis


def _rows(frame: _Frame, reps: list[tuple[int, str, str, int]], week_data: tuple[dict, dict, dict]
          ) -> list[ScorecardRow]:
    """The rows of these reps, in the given order, from `_week_data`."""
    week, previous, behaviors, metrics = frame.week, frame.previous, frame.behaviors, frame.metrics
    teams, weeks, kpis = week_data
    rows = []
    for rep_id, name, email, _ in reps:
        now, before = weeks.get((rep_id, week)), weeks.get((rep_id, previous))
        rows.append(ScorecardRow(
            membership_id=rep_id,
            name=name,
            email=email,
            teams=", ".join(teams.get(rep_id, [])),
            behaviors=[
                _cell(now.mean(key) if now else None, before.mean(key) if before else None) for key in behaviors
            ],
            overall=_cell(now.overall_mean if now else None, before.overall_mean if before else None),
            sessions=now.sessions if now else 0,
            scored_sessions=now.scored_sessions if now else 0,
            assignments_completed=now.assignments_completed if now else 0,
            focus_behavior=now.focus_behavior if now else "",
            focus_label=behavior_label(now.focus_behavior) if now and now.focus_behavior else "",
            focus_source=now.focus_source if now else "",
            kpis=[
                _cell(kpis.get((rep_id, metric.id, week)), kpis.get((rep_id, metric.id, previous)),
                      higher_is_better=metric.higher_is_better, unit=metric.unit)
                for metric in metrics
            ],
        ))
    return rows


def _behavior_keys(*, tenant: Tenant, week: date, scope: QuerySet[Membership]) -> set[str]:
    """The behaviors anyone in scope was scored on that week: the scorecard's behavior columns."""
    rows = RepWeek.objects.for_tenant(tenant).filter(week_start=week, membership__in=scope.values("id")).order_by()
    if connection.vendor == "postgresql":
        # Only the distinct keys leave the database, not one JSON document per rep.
        return set(rows.annotate(key=Func("behaviors", function="jsonb_object_keys", output_field=CharField()))
                   .values_list("key", flat=True).distinct())
    return {key for behaviors in rows.values_list("behaviors", flat=True) for key in behaviors}


# --- one rep over time --------------------------------------------------------------------------


@dataclass
class SessionLine:
    id: int
    scenario: str
    moment: str
    ended_at: object
    end_reason: str
    overall: int | None
    focus_label: str


@dataclass
class RepHistory:
    rep: Membership
    weeks: list[date]
    behaviors: list[str]
    score_rows: list[dict]  # per week: {"week", "behaviors": [Cell], "overall", "sessions", "assignments", "focus"}
    metrics: list[KpiMetric]
    kpi_rows: list[dict]  # per week: {"week", "values": [Cell]}
    sessions: list[SessionLine]
    behavior_series: list[list[float | None]]  # per behavior (in `behaviors` order), its mean per week
    kpi_series: list[list[float | None]]  # per metric (in `metrics` order), its value per week

    @property
    def behavior_labels(self) -> list[str]:
        return [behavior_label(key) for key in self.behaviors]


def rep_history(*, rep: Membership, until: date, weeks: int = HISTORY_WEEKS) -> RepHistory:
    """A rep's last `weeks` weeks up to `until`: behavior means, activity, KPIs and recent sessions.
    Five queries."""
    tenant = rep.tenant
    week_list = [until - timedelta(weeks=offset) for offset in range(weeks - 1, -1, -1)]
    rows = {
        row.week_start: row
        for row in RepWeek.objects.for_tenant(tenant).filter(
            membership=rep, week_start__gte=week_list[0], week_start__lte=until
        )
    }
    behaviors = behavior_order({key for row in rows.values() for key in row.behaviors})
    score_rows = []
    previous = rows.get(week_list[0] - timedelta(weeks=1))
    for week in week_list:
        row = rows.get(week)
        score_rows.append({
            "week": week,
            "behaviors": [_cell(row.mean(key) if row else None, previous.mean(key) if previous and row else None)
                          for key in behaviors],
            "overall": _cell(row.overall_mean if row else None,
                             previous.overall_mean if previous and row else None),
            "sessions": row.sessions if row else 0,
            "assignments": row.assignments_completed if row else 0,
            "focus": behavior_label(row.focus_behavior) if row and row.focus_behavior else "",
        })
        previous = row or previous
    values: dict[tuple[int, date], float] = {
        (metric_id, period): value
        for metric_id, period, value in KpiValue.objects.for_tenant(tenant)
        .filter(membership=rep, period_start__gte=week_list[0] - timedelta(weeks=1), period_start__lte=until)
        .values_list("metric_id", "period_start", "value")
    }
    metric_ids = {metric_id for metric_id, _ in values}
    metrics = [m for m in KpiMetric.objects.for_tenant(tenant).order_by("-is_builtin", "id") if m.id in metric_ids]
    kpi_rows = [
        {"week": week, "values": [
            _cell(values.get((m.id, week)), values.get((m.id, week - timedelta(weeks=1))),
                  higher_is_better=m.higher_is_better, unit=m.unit) for m in metrics
        ]}
        for week in week_list
    ]
    recent = list(
        PracticeSession.objects.for_tenant(tenant)
        .filter(membership=rep, status=SessionStatus.ENDED, is_trial=False)
        .select_related("scenario")
        .order_by("-ended_at", "-id")[:RECENT_SESSIONS]
    )
    scores = {
        session_id: (overall, focus)
        for session_id, overall, focus in SessionScore.objects.for_tenant(tenant)
        .filter(session_id__in=[s.id for s in recent], is_current=True, status=ScoreStatus.DONE)
        .values_list("session_id", "overall", "focus_behavior")
    }
    sessions = [
        SessionLine(
            id=s.id, scenario=s.scenario.title, moment=s.scenario.get_moment_display(), ended_at=s.ended_at,
            end_reason=s.get_end_reason_display(), overall=scores.get(s.id, (None, ""))[0],
            focus_label=behavior_label(scores[s.id][1]) if scores.get(s.id, (None, ""))[1] else "",
        )
        for s in recent
    ]
    return RepHistory(
        rep=rep, weeks=week_list, behaviors=behaviors, score_rows=score_rows, metrics=metrics, kpi_rows=kpi_rows,
        sessions=sessions,
        behavior_series=[[rows[w].mean(key) if w in rows else None for w in week_list] for key in behaviors],
        kpi_series=[[values.get((metric.id, w)) for w in week_list] for metric in metrics],
    )


# --- the rep's own page ------------------------------------------------------------------------


@dataclass
class PersonalBest:
    behavior: str
    label: str
    best_session: int | None
    best_week: float | None
    best_week_start: date | None


def personal_bests(*, rep: Membership) -> list[PersonalBest]:
    """Per behavior: the best single-session final score and the best weekly mean. Two queries."""
    tenant = rep.tenant
    session_best = dict(
        BehaviorScore.objects.for_tenant(tenant)
        .filter(session_score__membership=rep, session_score__is_current=True,
                session_score__status=ScoreStatus.DONE, session_score__session__is_trial=False)
        .values("behavior")
        .annotate(best=Max(Coalesce("adjusted_score", "ai_score")))
        .values_list("behavior", "best")
    )
    week_best: dict[str, tuple[float, date]] = {}
    for row in RepWeek.objects.for_tenant(tenant).filter(membership=rep).only("week_start", "behaviors"):
        for key, entry in row.behaviors.items():
            if key not in week_best or entry["mean"] > week_best[key][0]:
                week_best[key] = (entry["mean"], row.week_start)
    keys = behavior_order(set(session_best) | set(week_best))
    return [
        PersonalBest(behavior=key, label=behavior_label(key), best_session=session_best.get(key),
                     best_week=week_best.get(key, (None, None))[0], best_week_start=week_best.get(key, (None, None))[1])
        for key in keys
    ]


def rep_focus(*, rep: Membership, week: date) -> RepWeek | None:
    """This week's aggregate row, or the latest earlier one (a Monday morning has nothing yet)."""
    return (
        RepWeek.objects.for_tenant(rep.tenant)
        .filter(membership=rep, week_start__lte=week)
        .exclude(focus_behavior="")
        .order_by("-week_start")
        .first()
    )
