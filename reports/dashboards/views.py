"""Dashboard pages: the weekly scorecard, a rep's drill-down, a rep's own progress, and the monthly
operating model (insights). Every table also answers `?format=csv`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from coachhub.core.errors import ApplicationError
from coachhub.tenancy.access import ADMIN, ALL_ROLES, REVIEWERS, role_required
from coachhub.tenancy.people_status import people_statuses
from coachhub.tenancy.selectors import visible_rep_memberships
from reports.helpdesk.definitions import kpi_definitions
from scenarios.behaviors import behavior_label
from scenarios.selectors import open_recipients_for
from scoring.selectors import scorer_versions_between

from . import insights as insight_selectors
from . import selectors, services
from .charts import rep_history_charts
from .csv_export import csv_response, csv_streaming_response
from .weeks import InvalidWeek, current_week, last_full_week, month_add, parse_month, parse_week

PAGE_SIZE = 50


def _wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("format") == "csv"


# --- scorecard ----------------------------------------------------------------------------------


@role_required(REVIEWERS)
def scorecard(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    try:
        week = parse_week(request.GET.get("week"), default=last_full_week())
    except InvalidWeek as exc:
        return _bad_request(request, exc)
    sort = request.GET.get("sort", "rep")
    if _wants_csv(request):
        return _scorecard_csv(request, *selectors.scorecard_stream(viewer=request.membership, week=week, sort=sort))
    card = selectors.scorecard_build(viewer=request.membership, week=week, sort=sort,
                                     page=_page_number(request.GET.get("page")), per_page=PAGE_SIZE)
    headers = []
    for column in card.columns:
        active = card.sort.lstrip("-") == column.key
        descending = card.sort.startswith("-")
        next_sort = f"-{column.key}" if active and not descending else column.key
        headers.append({
            "column": column,
            "url": "?" + urlencode({"week": week.isoformat(), "sort": next_sort}),
            "aria_sort": ("descending" if descending else "ascending") if active else "none",
        })
    week_start = timezone.make_aware(datetime.combine(week, time.min))
    scorers = scorer_versions_between(
        tenant=request.tenant, start=week_start - timedelta(days=7), end=week_start + timedelta(days=7)
    )
    # Where each rep stands beyond scores (readiness for live, …), from whichever apps provide it.
    statuses = people_statuses(viewer=request.membership, memberships=[row.membership_id for row in card.rows])
    return render(request, "reports/dashboards/scorecard.html", {
        "card": card, "headers": headers, "scorers": scorers, "statuses": statuses,
        "rows": [(row, statuses.row(row.membership_id)) for row in card.rows],
        "behavior_headers": [h for h in headers if h["column"].group == "behavior"],
        "kpi_headers": [h for h in headers if h["column"].group == "kpi"],
        "activity_headers": [h for h in headers if h["column"].group == "activity"],
        "rep_headers": [h for h in headers if h["column"].group == "rep"],
        "prev_week": card.previous, "next_week": card.week + (card.week - card.previous),
        "is_current_week": card.week >= current_week(),
        "csv_url": "?" + urlencode({"week": week.isoformat(), "sort": card.sort, "format": "csv"}),
        "page_query": urlencode({"week": week.isoformat(), "sort": card.sort}),
        "kpi_definitions": kpi_definitions(
            tenant=request.tenant, rep_ids=visible_rep_memberships(membership=request.membership).values("id"),
            weeks=[card.week], earlier_weeks=[card.previous],
        ),
    })


def _page_number(raw: str | None) -> int:
    """The requested page; anything that isn't a positive number is the first page."""
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def _scorecard_csv(request: HttpRequest, card: selectors.Scorecard,
                   chunks: Iterable[list[selectors.ScorecardRow]]) -> HttpResponse:
    header = ["rep_email", "name", "team", "week_start"]
    header += [f"{key}" for key in card.behaviors] + [f"{key}_change" for key in card.behaviors]
    header += ["overall", "overall_change", "sessions", "scored_sessions", "assignments_completed", "focus_behavior"]
    header += [metric.key for metric in card.metrics]
    week = card.week.isoformat()
    lines = (
        [[row.email, row.name, row.teams, week,
          *(cell.value for cell in row.behaviors), *(cell.change for cell in row.behaviors),
          row.overall.value, row.overall.change, row.sessions, row.scored_sessions, row.assignments_completed,
          row.focus_behavior, *(cell.value for cell in row.kpis)]
         for row in rows]
        for rows in chunks
    )
    return csv_streaming_response(f"{request.tenant.slug}-scorecard-{week}.csv", header, lines)


# --- one rep ------------------------------------------------------------------------------------


@role_required(REVIEWERS)
def rep_detail(request: HttpRequest, tenant_slug: str, membership_id: int) -> HttpResponse:
    rep = selectors.rep_get_visible(viewer=request.membership, membership_id=membership_id)
    rep.tenant = request.tenant
    try:
        until = parse_week(request.GET.get("week"), default=current_week())
    except InvalidWeek as exc:
        return _bad_request(request, exc)
    history = selectors.rep_history(rep=rep, until=until)
    if _wants_csv(request):
        return _history_csv(request, history, request.GET.get("table", "scores"))
    return render(request, "reports/dashboards/rep_detail.html", {
        "rep": rep, "history": history, "history_charts": rep_history_charts(history), "until": until,
        "back_week": request.GET.get("week") or last_full_week().isoformat(),
    })


def _history_csv(request: HttpRequest, history: selectors.RepHistory, table: str) -> HttpResponse:
    slug = f"{request.tenant.slug}-rep-{history.rep.id}"
    if table == "kpis":
        header = ["week_start", *(metric.key for metric in history.metrics)]
        rows = ([row["week"].isoformat(), *(cell.value for cell in row["values"])] for row in history.kpi_rows)
        return csv_response(f"{slug}-kpis.csv", header, rows)
    if table == "sessions":
        header = ["session_id", "scenario", "moment", "ended_at", "end_reason", "overall", "focus"]
        rows = ([s.id, s.scenario, s.moment, s.ended_at.isoformat() if s.ended_at else "", s.end_reason, s.overall,
                 s.focus_label] for s in history.sessions)
        return csv_response(f"{slug}-sessions.csv", header, rows)
    header = ["week_start", *history.behaviors, "overall", "sessions", "assignments_completed", "focus"]
    rows = ([row["week"].isoformat(), *(cell.value for cell in row["behaviors"]), row["overall"].value,
             row["sessions"], row["assignments"], row["focus"]] for row in history.score_rows)
    return csv_response(f"{slug}-scores.csv", header, rows)


@role_required(ALL_ROLES)
def my_progress(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """The viewer's own practice: scores over time, this week's focus, open assignments, personal bests."""
    me = request.membership
    history = selectors.rep_history(rep=me, until=current_week())
    if _wants_csv(request):
        return _history_csv(request, history, request.GET.get("table", "scores"))
    bests = selectors.personal_bests(rep=me)
    focus = selectors.rep_focus(rep=me, week=current_week())
    return render(request, "reports/dashboards/my_progress.html", {
        "history": history,
        "history_charts": rep_history_charts(history),
        "focus": focus,
        "focus_label": behavior_label(focus.focus_behavior) if focus else "",
        "assignments": list(open_recipients_for(tenant=request.tenant, membership=me)[:10]),
        "bests": bests,
    })


# --- insights: the monthly operating model ------------------------------------------------------


@role_required(REVIEWERS)
def insights(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    month = parse_month(request.GET.get("month"), default=last_full_week().replace(day=1))
    report = insight_selectors.insights_build(viewer=request.membership, month=month)
    if _wants_csv(request):
        table = insight_selectors.table_for_csv(report, request.GET.get("table", ""))
        if table is None:
            return HttpResponse("Unknown table.", status=404, content_type="text/plain")
        header, rows = table
        return csv_response(f"{request.tenant.slug}-{request.GET.get('table')}-{month:%Y-%m}.csv", header, rows)
    settings_row = selectors.report_settings_get(tenant=request.tenant)
    statuses = people_statuses(viewer=request.membership, memberships=[r["rep_id"] for r in report.confidence])
    return render(request, "reports/dashboards/insights.html", {
        "report": report, "month": month, "prev_month": month_add(month, -1), "next_month": month_add(month, 1),
        "statuses": statuses,
        "confidence_rows": [(r, statuses.row(r["rep_id"])) for r in report.confidence],
        "settings_row": settings_row, "can_edit_settings": request.membership.role in ADMIN,
        "month_param": f"{month:%Y-%m}",
        "kpi_definitions": kpi_definitions(
            tenant=request.tenant, rep_ids=visible_rep_memberships(membership=request.membership).values("id"),
            weeks=_mondays_of(month), earlier_weeks=_mondays_of(month_add(month, -1)),
        ),
    })


def _mondays_of(month):
    """The weeks (Mondays) starting in this month."""
    from datetime import timedelta

    day = month + timedelta(days=(7 - month.weekday()) % 7)
    weeks = []
    while day.month == month.month:
        weeks.append(day)
        day += timedelta(days=7)
    return weeks


@require_POST
@role_required(ADMIN)
def report_settings(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    try:
        services.report_settings_save(
            tenant=request.tenant, actor=request.user,
            confidence_threshold=request.POST.get("confidence_threshold"),
            confidence_sessions=request.POST.get("confidence_sessions"),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Saved: time to confidence now uses the new definition.")
    month = request.POST.get("month", "")
    target = redirect("insights", tenant_slug=request.tenant.slug)
    if month:
        target["Location"] += "?" + urlencode({"month": month})
    return target


def _bad_request(request: HttpRequest, exc: InvalidWeek) -> HttpResponse:
    """A link with a week no page can show: say what was wrong, with the way back."""
    return render(request, "400.html", {"message": exc.message}, status=400)
