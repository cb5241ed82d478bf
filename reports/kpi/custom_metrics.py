"""A tenant's own KPIs next to the built-in ones: defined by enablement leads and admins, then
imported like any other metric (by key or by one of their aliases)."""

from __future__ import annotations

import math
import re

from django.db import IntegrityError, transaction

from coachhub.core.errors import ApplicationError, Conflict
from coachhub.tenancy.models import Tenant, User
from coachhub.tenancy.services import audit_record

from ..models import KpiMetric, KpiUnit, KpiValue
from .importing import metric_rules

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,49}$")
MAX_ALIASES = 10


def _names_in_use(tenant: Tenant) -> dict[str, str]:
    """Every key and alias the tenant's metrics (built-in ones included) answer to, lowercased → the
    metric's label: the same names an import reads."""
    rules, aliases = metric_rules(tenant=tenant)
    return {
        str(name).strip().lower(): rule.label for rule in rules for name in [rule.key, *aliases[rule.key]]
    }


def _parse_aliases(raw: str | list[str]) -> list[str]:
    parts = raw if isinstance(raw, list) else re.split(r"[,\n]", raw or "")
    aliases: list[str] = []
    for part in parts:
        alias = " ".join(str(part).split())
        if alias and alias.lower() not in (a.lower() for a in aliases):
            aliases.append(alias)
    return aliases


@transaction.atomic
def kpi_metric_create(
    *,
    tenant: Tenant,
    actor: User,
    key: str,
    label: str,
    unit: str = KpiUnit.NUMBER,
    higher_is_better: bool = True,
    min_value: float | None = None,
    max_value: float | None = None,
    aliases: str | list[str] = "",
) -> KpiMetric:
    """Adds a custom KPI. Every problem is reported by field, and nothing is saved unless all is well."""
    key = (key or "").strip().lower()
    label = " ".join((label or "").split())
    alias_list = _parse_aliases(aliases)
    errors: dict[str, list[str]] = {}
    in_use = _names_in_use(tenant)
    if not KEY_PATTERN.match(key):
        errors["key"] = ["Use 2–50 lowercase letters, digits and underscores, starting with a letter (e.g. refund_rate)."]
    elif key in in_use:
        errors["key"] = [f"“{key}” already names the metric “{in_use[key]}”."]
    if not label:
        errors["label"] = ["Give the metric a name people will read on the scorecard."]
    elif len(label) > 100:
        errors["label"] = [f"Keep the name to 100 characters (this one has {len(label):,})."]
    if unit not in KpiUnit.values:
        errors["unit"] = [f"Pick one of: {', '.join(KpiUnit.values)}."]
    bounds = {"min_value": min_value, "max_value": max_value}
    for name, bound in bounds.items():
        if bound is not None and not math.isfinite(bound):
            errors[name] = ["Give a plain number, or leave it empty."]
    if not errors.keys() & bounds.keys() and None not in bounds.values() and min_value >= max_value:
        errors["max_value"] = ["The highest accepted value must be above the lowest."]
    if len(alias_list) > MAX_ALIASES:
        errors["aliases"] = [f"Up to {MAX_ALIASES} other names, please."]
    elif taken := [a for a in alias_list if a.lower() in in_use or a.lower() == key or len(a) > 50]:
        alias = taken[0]
        errors["aliases"] = [
            f"“{alias}” is longer than 50 characters." if len(alias) > 50
            else f"“{alias}” already names the metric “{in_use.get(alias.lower(), label)}”."
        ]
    if errors:
        raise ApplicationError("The metric wasn't added: fix the fields below.", code="invalid_metric", fields=errors)
    try:
        with transaction.atomic():
            metric = KpiMetric.objects.for_tenant(tenant).create(
                tenant=tenant, key=key, label=label, unit=unit, higher_is_better=higher_is_better,
                min_value=min_value, max_value=max_value, aliases=alias_list, is_builtin=False,
            )
    except IntegrityError as exc:  # added by someone else a moment ago
        raise Conflict(f"“{key}” was just added by someone else.", code="metric_exists") from exc
    audit_record(
        tenant=tenant, actor=actor, action="kpi_metric.created", target=metric,
        summary=f"Added the KPI “{label}” ({key})", data={"key": key, "unit": unit},
    )
    return metric


@transaction.atomic
def kpi_metric_delete(*, tenant: Tenant, actor: User, metric: KpiMetric) -> None:
    """Removes a custom KPI nobody imported values for yet; built-in ones and used ones stay."""
    if metric.is_builtin:
        raise Conflict(f"“{metric.label}” is built in and can't be removed.", code="metric_builtin")
    if KpiValue.objects.for_tenant(tenant).filter(metric_id=metric.id).exists():
        raise Conflict(
            f"“{metric.label}” already has imported values, so it stays: scorecards and history use it.",
            code="metric_in_use",
        )
    audit_record(
        tenant=tenant, actor=actor, action="kpi_metric.deleted", target=metric,
        summary=f"Removed the KPI “{metric.label}” ({metric.key})", data={"key": metric.key},
    )
    metric.delete()
