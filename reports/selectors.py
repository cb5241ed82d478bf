"""Reads of the reports app. Every read names its tenant; people data is limited to whom the viewer
may see (managers: their teams' reps; enablement leads and admins: everyone)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Max, QuerySet
from django.shortcuts import get_object_or_404

from coachhub.tenancy.models import Membership, Role, Tenant
from coachhub.tenancy.selectors import visible_rep_memberships

from .kpi.metrics import display_value
from .models import KpiImport, KpiMetric, KpiSource, KpiValue


def kpi_import_list(*, tenant: Tenant, membership: Membership) -> QuerySet[KpiImport]:
    """Managers see the imports they uploaded (their errors name reps); leads and admins see all."""
    imports = KpiImport.objects.for_tenant(tenant).select_related("source", "uploaded_by")
    if membership.role == Role.MANAGER:
        imports = imports.filter(uploaded_by_id=membership.user_id)
    return imports.order_by("-created_at", "-id")


def kpi_import_get(*, tenant: Tenant, membership: Membership, import_id: int) -> KpiImport:
    return get_object_or_404(kpi_import_list(tenant=tenant, membership=membership), id=import_id)


def kpi_source_list(*, tenant: Tenant) -> QuerySet[KpiSource]:
    return KpiSource.objects.for_tenant(tenant).order_by("name")


def kpi_source_get_by_name(*, tenant: Tenant, name: str) -> KpiSource | None:
    return KpiSource.objects.for_tenant(tenant).filter(name__iexact=name.strip()).first()


def kpi_metric_list(*, tenant: Tenant) -> QuerySet[KpiMetric]:
    return KpiMetric.objects.for_tenant(tenant).order_by("-is_builtin", "id")


def kpi_metric_get(*, tenant: Tenant, metric_id: int) -> KpiMetric:
    return get_object_or_404(KpiMetric.objects.for_tenant(tenant), id=metric_id)


@dataclass
class LatestKpiRow:
    membership_id: int
    email: str
    name: str
    period_start: date
    values: list[float | None] = field(default_factory=list)  # in the order of LatestKpiTable.metrics
    shown: list[str] = field(default_factory=list)  # the same, formatted for people


@dataclass
class LatestKpiTable:
    metrics: list[KpiMetric]
    rows: list[LatestKpiRow]


def kpi_latest_table(*, membership: Membership) -> LatestKpiTable:
    """Each visible rep's most recent week with KPIs, and that week's value of every metric."""
    tenant = membership.tenant
    visible = visible_rep_memberships(membership=membership)
    values = KpiValue.objects.for_tenant(tenant).filter(membership_id__in=visible.values("id"))
    latest = dict(values.values("membership_id").annotate(latest=Max("period_start")).values_list(
        "membership_id", "latest"
    ))
    if not latest:
        return LatestKpiTable(metrics=[], rows=[])
    people = {
        m.id: m for m in Membership.objects.for_tenant(tenant).filter(id__in=latest).select_related("user")
    }
    cells: dict[int, dict[int, float]] = {}
    for membership_id, metric_id, period_start, value in values.filter(
        period_start__in=set(latest.values())
    ).values_list("membership_id", "metric_id", "period_start", "value"):
        if latest.get(membership_id) == period_start:
            cells.setdefault(membership_id, {})[metric_id] = value
    metric_ids = {metric_id for row in cells.values() for metric_id in row}
    metrics = list(kpi_metric_list(tenant=tenant).filter(id__in=metric_ids))
    rows = [
        LatestKpiRow(
            membership_id=membership_id, email=people[membership_id].user.email,
            name=people[membership_id].user.full_name, period_start=latest[membership_id],
            values=[cells.get(membership_id, {}).get(metric.id) for metric in metrics],
        )
        for membership_id in latest
        if membership_id in people
    ]
    for row in rows:
        row.shown = [display_value(value, metric.unit) for value, metric in zip(row.values, metrics, strict=True)]
    rows.sort(key=lambda row: row.email)
    return LatestKpiTable(metrics=metrics, rows=rows)
