"""Reads behind the scorecard, the rep drill-down and the rep's own progress page.

Every read names its tenant and stays within whom the viewer may see (a manager their teams' reps,
enablement leads and admins everyone). Pages read the weekly aggregates (`RepWeek`), never raw
scores, and each builder runs a fixed number of queries however many reps it shows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Max, QuerySet
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from coachhub.tenancy.models import Membership, Role, TeamMembership, TeamRole, Tenant
from coachhub.tenancy.selectors import visible_rep_memberships
from reports.kpi.metrics import display_value
from reports.models import KpiMetric, KpiValue
from scenarios.models import BEHAVIOR_LABELS
from scenarios.spec import DEFAULT_BEHAVIORS
from scoring.models import BehaviorScore, ScoreStatus, SessionScore
from sessions.models import PracticeSession, SessionStatus

from .charts import LineChart, line_chart
from .models import RepWeek, TenantReportSettings

HISTORY_WEEKS = 12
RECENT_SESSIONS = 20


def behavior_label(key: str) -> str:
    return BEHAVIOR_LABELS.get(key) or key.replace("_", " ").capitalize()


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

    @property
    def behavior_labels(self) -> list[str]:
        return [behavior_label(key) for key in self.behaviors]


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}".removesuffix(".0")


def _cell(now: float | None, before: float | None, *, higher_is_better: bool = True, unit: str | None = None) -> Cell:
    change = round(now - before, 2) if now is not None and before is not None else None
    shown = display_value(now, unit) if unit else _score(now)
    better = None if change is None or change == 0 else (change > 0) == higher_is_better
    return Cell(value=now, shown=shown, change=change, better=better)


def scorecard_build(*, viewer: Membership, week: date, sort: str = "rep") -> Scorecard:
    """The viewer's reps for one week: behavior means with the change from the week before,
    practice activity and the focus behavior, and the same week's KPIs. Five queries."""
    tenant = viewer.tenant
    previous = week - timedelta(weeks=1)
    reps = list(scorecard_reps(viewer=viewer).select_related("user").order_by("user__email"))
    rep_ids = [rep.id for rep in reps]
    teams: dict[int, list[str]] = defaultdict(list)
    for membership_id, team_name in (
        TeamMembership.objects.for_tenant(tenant)
        .filter(membership_id__in=rep_ids, kind=TeamRole.MEMBER)
        .order_by("team__name")
        .values_list("membership_id", "team__name")
    ):
        teams[membership_id].append(team_name)
    weeks: dict[tuple[int, date], RepWeek] = {
        (row.membership_id, row.week_start): row
        for row in RepWeek.objects.for_tenant(tenant).filter(membership_id__in=rep_ids, week_start__in=[week, previous])
    }
    kpis: dict[tuple[int, int, date], float] = {
        (membership_id, metric_id, period): value
        for membership_id, metric_id, period, value in KpiValue.objects.for_tenant(tenant)
        .filter(membership_id__in=rep_ids, period_start__in=[week, previous])
        .values_list("membership_id", "metric_id", "period_start", "value")
    }
    metric_ids = {metric_id for (_, metric_id, period) in kpis if period == week}
    metrics = [metric for metric in KpiMetric.objects.for_tenant(tenant).order_by("-is_builtin", "id")
               if metric.id in metric_ids]
    behaviors = behavior_order({
        key for (_, w), row in weeks.items() if w == week for key in row.behaviors
    })
    rows = []
    for rep in reps:
        now, before = weeks.get((rep.id, week)), weeks.get((rep.id, previous))
        rows.append(ScorecardRow(
            membership_id=rep.id,
            name=rep.user.display_name,
            email=rep.user.email,
            teams=", ".join(teams.get(rep.id, [])),
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
                _cell(kpis.get((rep.id, metric.id, week)), kpis.get((rep.id, metric.id, previous)),
                      higher_is_better=metric.higher_is_better, unit=metric.unit)
                for metric in metrics
            ],
        ))
    columns = [Column("rep", "Rep", "rep"), Column("team", "Team", "rep")]
    columns += [Column(f"b:{key}", behavior_label(key), "behavior") for key in behaviors]
    columns += [Column("overall", "Overall", "behavior"), Column("sessions", "Sessions", "activity"),
                Column("assignments", "Assignments done", "activity"), Column("focus", "Focus", "activity")]
    columns += [Column(f"k:{metric.key}", metric.label, "kpi") for metric in metrics]
    card = Scorecard(week=week, previous=previous, behaviors=behaviors, metrics=metrics, rows=rows, sort="rep",
                     columns=columns)
    card.sort = _sort(card, sort)
    return card


def _sort(card: Scorecard, sort: str) -> str:
    """Sorts rows by a column key, "-" first for descending; blanks always go last. Returns the key
    actually used (unknown keys fall back to the rep's name)."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    keys = {column.key for column in card.columns}
    if key not in keys:
        key, descending = "rep", False

    def value(row: ScorecardRow):
        if key == "rep":
            return row.name.lower()
        if key == "team":
            return row.teams.lower() or None
        if key == "overall":
            return row.overall.value
        if key == "sessions":
            return row.sessions
        if key == "assignments":
            return row.assignments_completed
        if key == "focus":
            return row.focus_label.lower() or None
        if key.startswith("b:"):
            return row.behaviors[card.behaviors.index(key[2:])].value
        metric_keys = [metric.key for metric in card.metrics]
        return row.kpis[metric_keys.index(key[2:])].value

    present = [row for row in card.rows if value(row) is not None]
    blank = [row for row in card.rows if value(row) is None]
    present.sort(key=lambda row: (value(row), row.name.lower()), reverse=descending)
    card.rows = present + sorted(blank, key=lambda row: row.name.lower())
    return f"-{key}" if descending else key


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
    chart: LineChart
    kpi_charts: list[LineChart]

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
    labels = [week.strftime("%b %d") for week in week_list]
    chart = line_chart(
        x_labels=labels, title="Behavior scores by week",
        series=[(behavior_label(key), [rows[w].mean(key) if w in rows else None for w in week_list])
                for key in behaviors],
    )
    kpi_charts = []
    for metric in metrics:
        series = [values.get((metric.id, w)) for w in week_list]
        bounded = metric.unit in ("percent", "score") and metric.min_value is not None
        kpi_charts.append(line_chart(
            x_labels=labels, title=metric.label, series=[(metric.label, series)], width=360, height=160,
            y_min=metric.min_value if bounded else min((v for v in series if v is not None), default=0),
            y_max=metric.max_value if bounded else max((v for v in series if v is not None), default=1),
        ))
    return RepHistory(rep=rep, weeks=week_list, behaviors=behaviors, score_rows=score_rows, metrics=metrics,
                      kpi_rows=kpi_rows, sessions=sessions, chart=chart, kpi_charts=kpi_charts)


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
