"""The scorecard's reps in column order, sorted and paged by the database.

On PostgreSQL one statement joins the week's aggregate row (or KPI value, or team names) to every rep
in scope and sorts on the joined column. The portable ORM query (SQLite, the demo) sorts on a
correlated subquery, which PostgreSQL runs once per rep: ten thousand index probes for a tenant-wide
view, where the join reads the week's rows in one index scan. Both give the same order, ties and
blanks: the column's value (blanks last either way), then the name compared by code point, then the id.
"""

from __future__ import annotations

from datetime import date

from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    F,
    FloatField,
    Func,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Lower, NullIf, Replace

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Membership, Team, TeamMembership, TeamRole, Tenant, User
from reports.models import KpiMetric, KpiValue
from scenarios.behaviors import DEFAULT_BEHAVIORS, behavior_label

from .models import RepWeek


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _focus_label() -> tuple[str, list]:
    """The label the Focus column shows, lower-cased, as SQL (blank for no focus)."""
    whens, params = [], []
    for behavior in DEFAULT_BEHAVIORS:
        whens.append("WHEN w.focus_behavior = %s THEN %s")
        params += [behavior, behavior_label(behavior).lower()]
    sql = (f"CASE WHEN w.focus_behavior = '' THEN NULL {' '.join(whens)} "
           "ELSE lower(replace(w.focus_behavior, '_', ' ')) END")
    return sql, params


def ordered_reps(
    *, tenant: Tenant, scope: QuerySet[Membership], week: date, key: str, descending: bool,
    metrics: list[KpiMetric], offset: int = 0, limit: int | None = None,
) -> list[tuple[int, str, str, int]]:
    """(membership id, display name, email, reps in scope) for one page of the sorted scope, or for all
    of it without `limit`."""
    if connection.vendor != "postgresql":
        rows = (
            scope.select_related("user")
            .annotate(name_key=_codepoint(Lower(Coalesce(NullIf("user__full_name", Value("")), "user__email"))))
            .order_by(*_ordering(key, descending, tenant=tenant, week=week, metrics=metrics))
            .annotate(total=Window(Count("id")))
        )
        if limit is not None:
            rows = rows[offset:offset + limit]
        return [(rep.id, rep.user.display_name, rep.user.email, rep.total) for rep in rows]
    joins: list[str] = []
    params: list = []
    # The week's column comes from a subquery that OFFSET 0 keeps PostgreSQL from flattening, so only
    # the one value travels up to the sort (not the whole aggregate row with its JSON, which made the
    # count over ten thousand rows spill to disk).
    week_value = (f"LEFT JOIN (SELECT w.membership_id, {{column}} AS value FROM {_table(RepWeek)} w "
                  "WHERE w.tenant_id = %s AND w.week_start = %s OFFSET 0) s ON s.membership_id = m.id")
    value = "s.value"
    if key == "team":
        joins.append(
            f"LEFT JOIN (SELECT tm.membership_id, string_agg(t.name, ', ' ORDER BY t.name) AS names "
            f"FROM {_table(TeamMembership)} tm JOIN {_table(Team)} t ON t.id = tm.team_id "
            "WHERE tm.tenant_id = %s AND tm.kind = %s GROUP BY tm.membership_id) teams ON teams.membership_id = m.id"
        )
        params += [tenant.id, TeamRole.MEMBER]
        value = 'lower(teams.names) COLLATE "C"'
    elif key in ("overall", "sessions", "assignments"):
        column = {"overall": "w.overall_mean", "sessions": "w.sessions", "assignments": "w.assignments_completed"}[key]
        joins.append(week_value.format(column=column))
        params += [tenant.id, week]
        if key != "overall":
            value = "COALESCE(s.value, 0)"  # no row that week: 0 sessions, not a blank
    elif key == "focus":
        label, label_params = _focus_label()
        joins.append(week_value.format(column=label))
        params += [*label_params, tenant.id, week]
        value = 's.value COLLATE "C"'
    elif key.startswith("b:"):
        joins.append(week_value.format(column="(w.behaviors #>> %s::text[])::double precision"))
        params += [[key[2:], "mean"], tenant.id, week]
    elif key.startswith("k:"):
        metric = next(metric for metric in metrics if metric.key == key[2:])
        joins.append(f"LEFT JOIN {_table(KpiValue)} k ON k.tenant_id = %s AND k.membership_id = m.id "
                     "AND k.metric_id = %s AND k.period_start = %s")
        params += [tenant.id, metric.id, week]
        value = "k.value"
    else:
        value = None
    name_key = "lower(COALESCE(NULLIF(u.full_name, ''), u.email)) COLLATE \"C\""
    direction = "DESC" if descending else "ASC"
    if value is None:  # the rep's name
        order = f"{name_key} {direction}, m.id ASC"
    else:
        order = f"{value} {direction} NULLS LAST, {name_key} ASC, m.id ASC"
    scope_sql, scope_params = scope.order_by().values("id").query.sql_with_params()
    sql = (
        f"SELECT m.id, u.full_name, u.email, count(*) OVER () FROM {_table(Membership)} m "
        f"JOIN {_table(User)} u ON u.id = m.user_id {' '.join(joins)} "
        f"WHERE m.tenant_id = %s AND m.id IN ({scope_sql}) ORDER BY {order}"
    )
    all_params = [*params, tenant.id, *scope_params]
    if limit is not None:
        sql += " LIMIT %s OFFSET %s"
        all_params += [limit, offset]
    # A raw statement names no tenant the way a `for_tenant` queryset does: run it as this one.
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(sql, all_params)
        return [(rep_id, full_name or email, email, total) for rep_id, full_name, email, total in cursor.fetchall()]


# --- the portable ORM ordering ---------------------------------------------------------------


class _codepoint(Func):  # noqa: N801  (reads as a function in the ordering)
    """Text compared by code point, as Python compares str: PostgreSQL's "C" collation whatever the
    database's locale; SQLite's default BINARY collation already is."""

    template = "%(expressions)s"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template='(%(expressions)s) COLLATE "C"', **extra)


class _JoinedTeamNames(Aggregate):
    """A rep's team names joined with ", " in name order, as the Team column shows them. SQLite has
    no ordered group_concat before 3.44: there the order of a rep's several teams is SQLite's."""

    function = "GROUP_CONCAT"
    template = "%(function)s(%(expressions)s, ', ')"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="STRING_AGG",
                           template="%(function)s(%(expressions)s, ', ' ORDER BY %(expressions)s)", **extra)


def _ordering(key: str, descending: bool, *, tenant: Tenant, week: date, metrics: list[KpiMetric]) -> list:
    """ORDER BY for a scorecard column: the column's value for the week (blanks last either way),
    then the rep's name and id so that pages never overlap or skip a rep."""
    tiebreak = [F("name_key").asc(), F("id").asc()]
    if key == "rep":
        return [F("name_key").desc() if descending else F("name_key").asc(), F("id").asc()]
    this_week = RepWeek.objects.for_tenant(tenant).filter(membership=OuterRef("pk"), week_start=week).order_by()
    if key == "team":
        value = _codepoint(Lower(Subquery(
            TeamMembership.objects.for_tenant(tenant).filter(membership=OuterRef("pk"), kind=TeamRole.MEMBER)
            .order_by().values("membership").annotate(names=_JoinedTeamNames("team__name")).values("names")
        )))
    elif key == "overall":
        value = Subquery(this_week.values("overall_mean")[:1])
    elif key in ("sessions", "assignments"):
        field_name = "sessions" if key == "sessions" else "assignments_completed"
        value = Coalesce(Subquery(this_week.values(field_name)[:1]), 0)  # no row: 0 sessions, not a blank
    elif key == "focus":
        # The label the column shows, lower-cased: a known behavior's label, else the key in words.
        label = Case(
            When(focus_behavior="", then=Value(None)),
            *(When(focus_behavior=behavior, then=Value(behavior_label(behavior).lower()))
              for behavior in DEFAULT_BEHAVIORS),
            default=Lower(Replace("focus_behavior", Value("_"), Value(" "))),
            output_field=CharField(),
        )
        value = _codepoint(Subquery(this_week.annotate(label=label).values("label")[:1]))
    elif key.startswith("b:"):
        value = Subquery(this_week.annotate(
            mean=Cast(KT(f"behaviors__{key[2:]}__mean"), FloatField())).values("mean")[:1])
    else:
        metric = next(metric for metric in metrics if metric.key == key[2:])
        value = Subquery(KpiValue.objects.for_tenant(tenant).filter(
            membership=OuterRef("pk"), metric=metric, period_start=week).order_by().values("value")[:1])
    direction = value.desc(nulls_last=True) if descending else value.asc(nulls_last=True)
    return [direction, *tiebreak]
