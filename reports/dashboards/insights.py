"""The monthly operating model for enablement leads and leadership (managers see their own teams):
coaching signal, operational KPIs with their spread, time to confidence, coaching coverage, scenario
friction, consistency of reviewers, and the behavior × KPI linkage.

Reads the weekly aggregates and KPI values for the month; the few figures that need raw rows
(per-scenario scores, adjustments, comments, sessions for time to confidence) are each one grouped
query. A fixed number of queries whatever the number of reps.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Avg, Count
from django.db.models.functions import Coalesce

from coachhub.core.charts import bar_chart
from coachhub.tenancy.models import Membership, Role, TeamMembership, TeamRole
from reports.kpi.metrics import display_value
from reports.models import KpiMetric, KpiValue
from scenarios.behaviors import behavior_label
from scenarios.models import MOMENT_LABELS
from scoring.models import BehaviorScore, ScoreStatus, SessionScore, TurnComment
from sessions.models import PracticeSession, SessionStatus

from . import stats
from .models import RepWeek
from .selectors import behavior_order, report_settings_get, scorecard_reps
from .weeks import last_full_week, month_add, month_bounds, month_weeks, week_of

LINKAGE_WEEKS = 26
MAX_LAG = 4
OPERATIONAL_KEYS = ("escalation_rate", "avg_handling_time", "complaint_resolution_quality", "csat")
FRICTION_KPIS = ("csat", "escalation_rate")
CONFIDENCE_LOOKBACK_DAYS = 365


@dataclass
class InsightsReport:
    month: date
    weeks: list[date]
    coverage_week: date | None
    rep_count: int
    signal_behavior: list[dict] = field(default_factory=list)
    signal_team: list[dict] = field(default_factory=list)
    signal_scenario: list[dict] = field(default_factory=list)
    operational: list[dict] = field(default_factory=list)
    operational_metrics: list[KpiMetric] = field(default_factory=list)
    confidence: list[dict] = field(default_factory=list)
    confidence_median: float | None = None
    confidence_reached: int = 0
    threshold: int = 70
    streak: int = 3
    coverage: list[dict] = field(default_factory=list)
    friction: list[dict] = field(default_factory=list)
    consistency: list[dict] = field(default_factory=list)
    consistency_teams: list[dict] = field(default_factory=list)
    linkage: list[dict] = field(default_factory=list)
    linkage_window: tuple[date, date] | None = None
    charts: dict = field(default_factory=dict)


def _mean(values) -> float | None:
    return round(stats.mean(values), 1) if values else None


def _change(now, before) -> float | None:
    return round(now - before, 1) if now is not None and before is not None else None


def insights_build(*, viewer: Membership, month: date) -> InsightsReport:
    tenant = viewer.tenant
    weeks = month_weeks(month)
    previous_weeks = month_weeks(month_add(month, -1))
    start, end = month_bounds(month)
    previous_start = month_bounds(month_add(month, -1))[0]
    coverage_week = max((w for w in weeks if w <= last_full_week()), default=None)
    link_end = weeks[-1] if weeks else month
    link_start = link_end - timedelta(weeks=LINKAGE_WEEKS - 1)

    reps = list(scorecard_reps(viewer=viewer).select_related("user"))
    rep_ids = [rep.id for rep in reps]
    names = {rep.id: rep.user.display_name for rep in reps}
    report = InsightsReport(month=month, weeks=weeks, coverage_week=coverage_week, rep_count=len(reps),
                            linkage_window=(link_start, link_end))

    links = list(
        TeamMembership.objects.for_tenant(tenant)
        .filter(team_id__in=TeamMembership.objects.for_tenant(tenant).filter(membership_id__in=rep_ids)
                .values("team_id"))
        .values_list("team_id", "team__name", "membership_id", "kind", "membership__user__full_name",
                     "membership__user__email", "membership__role")
    )
    rep_teams: dict[int, list[str]] = defaultdict(list)
    coaches: dict[int, dict] = {}
    team_reps: dict[int, set[int]] = defaultdict(set)
    for team_id, team_name, membership_id, kind, full_name, email, role in links:
        if kind == TeamRole.MEMBER and membership_id in names:
            rep_teams[membership_id].append(team_name)
            team_reps[team_id].add(membership_id)
        elif kind == TeamRole.COACH and role == Role.MANAGER:
            if viewer.role == Role.MANAGER and membership_id != viewer.id:
                continue
            coach = coaches.setdefault(membership_id, {"name": full_name or email, "teams": set()})
            coach["teams"].add(team_id)

    rep_weeks = list(
        RepWeek.objects.for_tenant(tenant).filter(
            membership_id__in=rep_ids, week_start__gte=min([link_start, *previous_weeks]), week_start__lte=link_end
        )
    )
    metrics = {m.id: m for m in KpiMetric.objects.for_tenant(tenant).order_by("-is_builtin", "id")}
    kpi_rows = list(
        KpiValue.objects.for_tenant(tenant)
        .filter(membership_id__in=rep_ids, period_start__gte=min([link_start, *previous_weeks]),
                period_start__lte=link_end + timedelta(weeks=MAX_LAG))
        .values_list("membership_id", "metric_id", "period_start", "value")
    )
    kpi: dict[tuple[int, int, date], float] = {(r, m, p): v for r, m, p, v in kpi_rows}

    _coaching_signal(report, rep_weeks, weeks, previous_weeks, rep_teams)
    _scenario_signal(report, tenant, rep_ids, start, end, previous_start)
    _operational(report, metrics, kpi, weeks, rep_teams)
    _time_to_confidence(report, tenant, reps)
    _coverage(report, tenant, coaches, team_reps, rep_weeks, weeks, coverage_week, rep_ids, start, end)
    _friction(report, tenant, rep_ids, start, end, metrics, kpi)
    _consistency(report, tenant, rep_ids, start, end, rep_teams)
    _linkage(report, rep_weeks, metrics, kpi, link_start, link_end)
    return report


def _coaching_signal(report, rep_weeks, weeks, previous_weeks, rep_teams) -> None:
    """Mean final behavior scores this month vs last month, by behavior and by team."""
    this, before = set(weeks), set(previous_weeks)
    by_behavior: dict[str, dict[str, list]] = defaultdict(lambda: {"now": [], "before": []})
    by_team: dict[str, dict[str, list]] = defaultdict(lambda: {"now": [], "before": []})
    for row in rep_weeks:
        side = "now" if row.week_start in this else "before" if row.week_start in before else None
        if side is None:
            continue
        for key, entry in row.behaviors.items():
            # Weighted by sessions, so a rep's busy week counts for more than a one-session week.
            by_behavior[key][side].extend([entry["mean"]] * entry["n"])
        if row.overall_mean is not None:
            for team in rep_teams.get(row.membership_id, ["No team"]):
                by_team[team][side].extend([row.overall_mean] * max(row.scored_sessions, 1))
    for key in behavior_order(set(by_behavior)):
        now, prior = _mean(by_behavior[key]["now"]), _mean(by_behavior[key]["before"])
        report.signal_behavior.append({"key": key, "label": behavior_label(key), "now": now, "before": prior,
                                       "change": _change(now, prior), "n": len(by_behavior[key]["now"])})
    for team in sorted(by_team):
        now, prior = _mean(by_team[team]["now"]), _mean(by_team[team]["before"])
        report.signal_team.append({"team": team, "now": now, "before": prior, "change": _change(now, prior),
                                   "n": len(by_team[team]["now"])})
    items = [(row["label"], row["change"], f"{row['change']:+.1f}") for row in report.signal_behavior
             if row["change"] is not None]
    if items:
        report.charts["signal"] = bar_chart(items=items, title="Change in behavior scores from last month",
                                            diverging=True, max_value=max(5.0, max(abs(v) for _, v, _ in items)))


def _final_scores(tenant, rep_ids, since, until):
    return BehaviorScore.objects.for_tenant(tenant).filter(
        session_score__membership_id__in=rep_ids, session_score__is_current=True,
        session_score__status=ScoreStatus.DONE, session_score__session__is_trial=False,
        session_score__session__ended_at__gte=since, session_score__session__ended_at__lt=until,
    ).exclude(ai_score__isnull=True, adjusted_score__isnull=True)


def _scenario_signal(report, tenant, rep_ids, start, end, previous_start) -> None:
    def by_scenario(since, until):
        return {
            row["session_score__session__scenario_id"]: row
            for row in _final_scores(tenant, rep_ids, since, until)
            .values("session_score__session__scenario_id", "session_score__session__scenario__title",
                    "session_score__session__scenario__moment")
            .annotate(mean=Avg(Coalesce("adjusted_score", "ai_score")),
                      sessions=Count("session_score_id", distinct=True))
        }

    now, before = by_scenario(start, end), by_scenario(previous_start, start)
    rows = []
    for scenario_id, row in now.items():
        prior = before.get(scenario_id)
        mean_now = round(row["mean"], 1)
        mean_before = round(prior["mean"], 1) if prior else None
        rows.append({"scenario": row["session_score__session__scenario__title"],
                     "moment": MOMENT_LABELS.get(row["session_score__session__scenario__moment"], ""),
                     "now": mean_now, "before": mean_before, "change": _change(mean_now, mean_before),
                     "n": row["sessions"]})
    report.signal_scenario = sorted(rows, key=lambda r: (r["change"] is None, r["change"] or 0))


def _operational(report, metrics, kpi, weeks, rep_teams) -> None:
    """Each operational KPI per team over the month's rep-weeks: mean and spread (stdev, IQR)."""
    wanted = [m for m in metrics.values() if m.key in OPERATIONAL_KEYS]
    wanted.sort(key=lambda m: OPERATIONAL_KEYS.index(m.key))
    week_set = set(weeks)
    values: dict[tuple[str, int], list[float]] = defaultdict(list)
    for (rep_id, metric_id, period), value in kpi.items():
        if period in week_set and metric_id in metrics and metrics[metric_id].key in OPERATIONAL_KEYS:
            values[("All teams", metric_id)].append(value)
            for team in rep_teams.get(rep_id, []):
                values[(team, metric_id)].append(value)
    present = [m for m in wanted if values.get(("All teams", m.id))]
    report.operational_metrics = present
    teams = ["All teams", *sorted({team for team, _ in values if team != "All teams"})]
    for team in teams:
        cells = []
        for metric in present:
            vs = values.get((team, metric.id), [])
            cells.append({
                "metric": metric, "n": len(vs), "mean": stats.mean(vs), "stdev": stats.stdev(vs), "iqr": stats.iqr(vs),
                "median": stats.median(vs),
                "mean_shown": display_value(stats.mean(vs), metric.unit) if vs else "–",
                "stdev_shown": _spread(stats.stdev(vs), metric.unit),
                "iqr_shown": _spread(stats.iqr(vs), metric.unit),
            })
        report.operational.append({"team": team, "cells": cells})


def _spread(value, unit) -> str:
    if value is None:
        return "–"
    if unit == "percent":
        return f"{value:.1f} pts"
    return display_value(value, unit)


def _time_to_confidence(report, tenant, reps) -> None:
    """Weeks from a rep's start date until they first score at least the threshold overall in N
    sessions in a row (the tenant's definition). Reps who started in the last year and have a start date."""
    settings_row = report_settings_get(tenant=tenant)
    report.threshold, report.streak = settings_row.confidence_threshold, settings_row.confidence_sessions
    cutoff = last_full_week() - timedelta(days=CONFIDENCE_LOOKBACK_DAYS)
    hires = {rep.id: rep for rep in reps if rep.started_on and rep.started_on >= cutoff}
    sessions: dict[int, list[tuple]] = defaultdict(list)
    for rep_id, ended_at, overall in (
        SessionScore.objects.for_tenant(tenant)
        .filter(membership_id__in=list(hires), is_current=True, status=ScoreStatus.DONE, session__is_trial=False,
                session__status=SessionStatus.ENDED, overall__isnull=False)
        .order_by("session__ended_at", "id")
        .values_list("membership_id", "session__ended_at", "overall")
    ):
        sessions[rep_id].append((ended_at, overall))
    reached = []
    for rep in sorted(hires.values(), key=lambda r: (r.started_on, r.user.email)):
        weeks = confidence_weeks(started_on=rep.started_on, sessions=sessions.get(rep.id, []),
                                 threshold=report.threshold, streak=report.streak)
        if weeks is not None:
            reached.append(weeks)
        report.confidence.append({
            "rep_id": rep.id, "name": rep.user.display_name, "email": rep.user.email, "started_on": rep.started_on,
            "weeks": weeks, "sessions": len(sessions.get(rep.id, [])),
        })
    report.confidence_reached = len(reached)
    report.confidence_median = round(stats.median(reached), 1) if reached else None


def confidence_weeks(*, started_on: date, sessions: list[tuple], threshold: int, streak: int) -> float | None:
    """`sessions` are (ended_at, overall) oldest first; sessions before the start date don't count."""
    run = 0
    for ended_at, overall in sessions:
        day = ended_at.date()
        if day < started_on:
            continue
        run = run + 1 if overall >= threshold else 0
        if run >= streak:
            return round((day - started_on).days / 7, 1)
    return None


def _coverage(report, tenant, coaches, team_reps, rep_weeks, weeks, coverage_week, rep_ids, start, end) -> None:
    """Per manager: the share of their reps who practiced, and whose sessions a reviewer looked at
    (an adjusted score or a comment), in the month and in its latest full week."""
    week_set = set(weeks)
    practiced_month = {row.membership_id for row in rep_weeks if row.week_start in week_set and row.sessions}
    practiced_week = {row.membership_id for row in rep_weeks if row.week_start == coverage_week and row.sessions}
    reviewed_month, reviewed_week = set(), set()
    adjusted = (
        BehaviorScore.objects.for_tenant(tenant)
        .filter(session_score__membership_id__in=rep_ids, adjusted_at__gte=start, adjusted_at__lt=end,
                session_score__session__is_trial=False)
        .values_list("session_score__membership_id", "adjusted_at")
        .distinct()
    )
    comments = (
        TurnComment.objects.for_tenant(tenant)
        .filter(session__membership_id__in=rep_ids, created_at__gte=start, created_at__lt=end,
                session__is_trial=False)
        .values_list("session__membership_id", "created_at")
    )
    for rep_id, moment in [*adjusted, *comments]:
        reviewed_month.add(rep_id)
        if coverage_week is not None and week_of(moment) == coverage_week:
            reviewed_week.add(rep_id)
    for manager_id, coach in sorted(coaches.items(), key=lambda item: item[1]["name"].lower()):
        reps = set().union(*(team_reps.get(team_id, set()) for team_id in coach["teams"]))
        total = len(reps)

        def share(group: set[int], reps=reps, total=total) -> float | None:
            return round(len(reps & group) / total, 3) if total else None

        report.coverage.append({
            "manager_id": manager_id, "manager": coach["name"], "reps": total,
            "practiced_week": share(practiced_week), "reviewed_week": share(reviewed_week),
            "practiced_month": share(practiced_month), "reviewed_month": share(reviewed_month),
        })


def _friction(report, tenant, rep_ids, start, end, metrics, kpi) -> None:
    """Moments ranked by their mean final behavior score (lowest first), beside the KPIs of the reps
    who practiced them, in the weeks they did."""
    by_moment = {
        row["session_score__session__scenario__moment"]: row
        for row in _final_scores(tenant, rep_ids, start, end)
        .values("session_score__session__scenario__moment")
        .annotate(mean=Avg(Coalesce("adjusted_score", "ai_score")), sessions=Count("session_score_id", distinct=True))
    }
    practiced: dict[str, set[tuple[int, date]]] = defaultdict(set)
    for rep_id, ended_at, moment in (
        PracticeSession.objects.for_tenant(tenant)
        .filter(membership_id__in=rep_ids, status=SessionStatus.ENDED, is_trial=False, ended_at__gte=start,
                ended_at__lt=end)
        .values_list("membership_id", "ended_at", "scenario__moment")
    ):
        practiced[moment].add((rep_id, week_of(ended_at)))
    kpi_metrics = {m.key: m for m in metrics.values() if m.key in FRICTION_KPIS}
    rows = []
    for moment, row in by_moment.items():
        entry = {"moment": MOMENT_LABELS.get(moment, moment), "mean": round(row["mean"], 1), "sessions": row["sessions"],
                 "kpis": []}
        for key in FRICTION_KPIS:
            metric = kpi_metrics.get(key)
            vs = [kpi[(rep, metric.id, week)] for rep, week in practiced.get(moment, ())
                  if metric and (rep, metric.id, week) in kpi]
            entry["kpis"].append({"key": key, "label": metric.label if metric else key, "n": len(vs),
                                  "shown": display_value(stats.mean(vs), metric.unit) if vs else "–",
                                  "value": stats.mean(vs)})
        rows.append(entry)
    rows.sort(key=lambda r: r["mean"])
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    report.friction = rows
    if rows:
        report.charts["friction"] = bar_chart(
            items=[(r["moment"], r["mean"], f"{r['mean']:.0f}") for r in rows], title="Mean score by moment",
            max_value=100,
        )


def _consistency(report, tenant, rep_ids, start, end, rep_teams) -> None:
    """How differently reviewers adjust the AI: per reviewer and per team, the mean and spread of
    (adjusted − AI) over the month's adjustments."""
    by_reviewer: dict[int, dict] = {}
    by_team: dict[str, list[int]] = defaultdict(list)
    for reviewer_id, name, email, ai, adjusted, rep_id in (
        BehaviorScore.objects.for_tenant(tenant)
        .filter(session_score__membership_id__in=rep_ids, adjusted_at__gte=start, adjusted_at__lt=end,
                adjusted_score__isnull=False, ai_score__isnull=False, session_score__session__is_trial=False)
        .values_list("adjusted_by_id", "adjusted_by__full_name", "adjusted_by__email", "ai_score", "adjusted_score",
                     "session_score__membership_id")
    ):
        entry = by_reviewer.setdefault(reviewer_id, {"name": name or email or "Former reviewer", "deltas": []})
        entry["deltas"].append(adjusted - ai)
        for team in rep_teams.get(rep_id, ["No team"]):
            by_team[team].append(adjusted - ai)

    def summary(deltas: list[int]) -> dict:
        return {"n": len(deltas), "mean": round(stats.mean(deltas), 1),
                "stdev": round(stats.stdev(deltas), 1) if len(deltas) > 1 else None,
                "mean_abs": round(stats.mean([abs(d) for d in deltas]), 1)}

    report.consistency = sorted(
        ({"reviewer": entry["name"], **summary(entry["deltas"])} for entry in by_reviewer.values()),
        key=lambda r: r["reviewer"].lower(),
    )
    report.consistency_teams = [{"team": team, **summary(deltas)} for team, deltas in sorted(by_team.items())]


def _linkage(report, rep_weeks, metrics, kpi, link_start, link_end) -> None:
    """For each behavior × KPI, across reps and weeks of the window: Pearson r with a Fisher-z 95% CI
    in the same week, and the behavior in week t against the KPI in weeks t+1 … t+4."""
    behavior_values: dict[str, dict[tuple[int, date], float]] = defaultdict(dict)
    for row in rep_weeks:
        if link_start <= row.week_start <= link_end:
            for key, entry in row.behaviors.items():
                behavior_values[key][(row.membership_id, row.week_start)] = entry["mean"]
    kpi_values: dict[int, dict[tuple[int, date], float]] = defaultdict(dict)
    for (rep_id, metric_id, period), value in kpi.items():
        kpi_values[metric_id][(rep_id, period)] = value
    for key in behavior_order(set(behavior_values)):
        for metric_id, metric in metrics.items():
            if metric_id not in kpi_values:
                continue
            lags = []
            for lag in range(0, MAX_LAG + 1):
                xs, ys = stats.lagged_pairs(behavior_values[key], kpi_values[metric_id], lag=lag, step=timedelta(weeks=1))
                lags.append(stats.correlate(xs, ys, lag=lag))
            same = lags[0]
            report.linkage.append({
                "behavior": key, "behavior_label": behavior_label(key), "metric": metric,
                "same": same, "lags": lags[1:],
                "wording": stats.describe(same, x_label=f"{behavior_label(key).lower()}", y_label=metric.label),
                "best_lag": max(lags[1:], key=lambda c: abs(c.r) if c.enough else -1),
            })
    # Strongest measurable relationships first; pairs with too little data last.
    report.linkage.sort(key=lambda row: -max((abs(c.r) for c in [row["same"], *row["lags"]] if c.enough), default=-1))
    for row in report.linkage:
        best = row["best_lag"]
        row["lag_wording"] = stats.describe(best, x_label=row["behavior_label"].lower(), y_label=row["metric"].label)


# --- CSV ----------------------------------------------------------------------------------------


def _r(value):
    return None if value is None else round(value, 3)


def table_for_csv(report: InsightsReport, table: str) -> tuple[list[str], list[list]] | None:
    """Header and rows of one insights table, as the page shows it."""
    if table == "signal_behavior":
        return ["behavior", "mean_this_month", "mean_last_month", "change", "n"], [
            [r["key"], r["now"], r["before"], r["change"], r["n"]] for r in report.signal_behavior]
    if table == "signal_team":
        return ["team", "mean_this_month", "mean_last_month", "change", "n"], [
            [r["team"], r["now"], r["before"], r["change"], r["n"]] for r in report.signal_team]
    if table == "signal_scenario":
        return ["scenario", "moment", "mean_this_month", "mean_last_month", "change", "sessions"], [
            [r["scenario"], r["moment"], r["now"], r["before"], r["change"], r["n"]] for r in report.signal_scenario]
    if table == "operational":
        header = ["team", "metric", "n", "mean", "median", "stdev", "iqr"]
        return header, [[row["team"], c["metric"].key, c["n"], _r(c["mean"]), _r(c["median"]), _r(c["stdev"]),
                         _r(c["iqr"])] for row in report.operational for c in row["cells"]]
    if table == "confidence":
        return ["rep_email", "name", "started_on", "weeks_to_confidence", "sessions"], [
            [r["email"], r["name"], r["started_on"].isoformat(), r["weeks"], r["sessions"]] for r in report.confidence]
    if table == "coverage":
        return ["manager", "reps", "practiced_week", "reviewed_week", "practiced_month", "reviewed_month"], [
            [r["manager"], r["reps"], r["practiced_week"], r["reviewed_week"], r["practiced_month"],
             r["reviewed_month"]] for r in report.coverage]
    if table == "friction":
        header = ["rank", "moment", "mean_score", "sessions", *(f"{k}_mean" for k in FRICTION_KPIS)]
        return header, [[r["rank"], r["moment"], r["mean"], r["sessions"], *(_r(k["value"]) for k in r["kpis"])]
                        for r in report.friction]
    if table == "consistency":
        return ["reviewer", "adjustments", "mean_change", "stdev_change", "mean_abs_change"], [
            [r["reviewer"], r["n"], r["mean"], r["stdev"], r["mean_abs"]] for r in report.consistency]
    if table == "linkage":
        header = ["behavior", "kpi", "lag_weeks", "n", "r", "ci_low", "ci_high", "strength"]
        rows = []
        for row in report.linkage:
            for c in [row["same"], *row["lags"]]:
                rows.append([row["behavior"], row["metric"].key, c.lag, c.n, _r(c.r), _r(c.ci_low), _r(c.ci_high),
                             c.strength])
        return header, rows
    return None
