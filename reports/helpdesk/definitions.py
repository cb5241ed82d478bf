"""How the KPI values on a page were computed: each value's import recorded the definition of every
metric it wrote (reports.helpdesk), so a page can say what its numbers mean and warn when the weeks
it compares were computed differently."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from coachhub.tenancy.models import Tenant

from ..models import KpiImport, KpiMetric, KpiValue

AS_GIVEN = "as given in an uploaded weekly file"


@dataclass
class MetricDefinitions:
    key: str
    label: str
    current: list[str] = field(default_factory=list)  # the definitions of the shown period's values
    earlier: list[str] = field(default_factory=list)  # of the period it is compared with

    @property
    def mixed(self) -> bool:
        return len(self.current) > 1

    @property
    def changed(self) -> bool:
        return bool(self.current) and bool(self.earlier) and set(self.current) != set(self.earlier)


def kpi_definitions(*, tenant: Tenant, rep_ids, weeks: list[date], earlier_weeks: list[date] = ()) -> list[MetricDefinitions]:
    """Per metric with values for these reps in `weeks`: the definitions in use, and those of
    `earlier_weeks` (the comparison). Two small queries: distinct (metric, week, import) and the imports."""
    shown, compared = set(weeks), set(earlier_weeks)
    triples = set(
        KpiValue.objects.for_tenant(tenant)
        .filter(membership_id__in=rep_ids, period_start__in=shown | compared)
        .order_by().values_list("metric_id", "period_start", "kpi_import_id").distinct()
    )
    if not triples:
        return []
    import_ids = {i for _, _, i in triples if i is not None}
    definitions = dict(KpiImport.objects.for_tenant(tenant).filter(id__in=import_ids).values_list("id", "definitions"))
    metrics = {m.id: m for m in KpiMetric.objects.for_tenant(tenant).filter(id__in={m for m, _, _ in triples})}
    result: dict[int, MetricDefinitions] = {}
    for metric_id, week, import_id in sorted(triples, key=lambda t: (t[0], t[1], t[2] or 0)):
        metric = metrics.get(metric_id)
        if metric is None:
            continue
        entry = result.setdefault(metric_id, MetricDefinitions(metric.key, metric.label))
        text = (definitions.get(import_id) or {}).get(metric.key) or AS_GIVEN
        for bucket, weeks_of in ((entry.current, shown), (entry.earlier, compared)):
            if week in weeks_of and text not in bucket:
                bucket.append(text)
    return sorted((e for e in result.values() if e.current), key=lambda e: e.label)
