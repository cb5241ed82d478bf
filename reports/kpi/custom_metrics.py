"""A tenant's own KPIs next to the built-in ones: defined by enablement leads and admins, then
imported like any other metric (by key or by one of their aliases)."""

from __future__ import annotations

import math
import re

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Min

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


def _definition_errors(
    *, in_use: dict[str, str], label: str, unit: str, min_value: float | None, max_value: float | None,
    alias_list: list[str], own_key: str,
) -> dict[str, list[str]]:
    """What's wrong with a metric's name, unit, accepted range and other names, by field. `in_use`
    holds the names other metrics answer to."""
    errors: dict[str, list[str]] = {}
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
    elif taken := [a for a in alias_list if a.lower() in in_use or a.lower() == own_key or len(a) > 50]:
        alias = taken[0]
        errors["aliases"] = [
            f"“{alias}” is longer than 50 characters." if len(alias) > 50
            else f"“{alias}” already names the metric “{in_use.get(alias.lower(), label)}”."
        ]
    return errors


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
    in_use = _names_in_use(tenant)
    errors: dict[str, list[str]] = {}
    if not KEY_PATTERN.match(key):
        errors["key"] = ["Use 2–50 lowercase letters, digits and underscores, starting with a letter (e.g. refund_rate)."]
    elif key in in_use:
        errors["key"] = [f"“{key}” already names the metric “{in_use[key]}”."]
    errors |= _definition_errors(
        in_use=in_use, label=label, unit=unit, min_value=min_value, max_value=max_value, alias_list=alias_list,
        own_key=key,
    )
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


def kpi_metric_definition(metric: KpiMetric) -> dict:
    """What `kpi_metric_update` may change on a metric, as it is now (its keyword arguments)."""
    return {
        "label": metric.label, "unit": metric.unit, "higher_is_better": metric.higher_is_better,
        "min_value": metric.min_value, "max_value": metric.max_value, "aliases": list(metric.aliases or []),
    }


@transaction.atomic
def kpi_metric_update(
    *,
    tenant: Tenant,
    actor: User,
    metric: KpiMetric,
    label: str,
    unit: str,
    higher_is_better: bool,
    min_value: float | None,
    max_value: float | None,
    aliases: str | list[str],
) -> KpiMetric:
    """Changes a custom KPI's name, unit, direction, accepted range or other names. The key stays:
    files, column mappings and the API name the metric by it. Once values are imported the unit
    can't change (they were measured in it) and the range must still hold every stored value."""
    metric = KpiMetric.objects.for_tenant(tenant).select_for_update().get(pk=metric.pk)
    if metric.is_builtin:
        raise Conflict(f"“{metric.label}” is built in and can't be changed.", code="metric_builtin")
    label = " ".join((label or "").split())
    alias_list = _parse_aliases(aliases)
    own_names = {metric.key, *(str(a).lower() for a in metric.aliases or [])}
    in_use = {name: owner for name, owner in _names_in_use(tenant).items() if name not in own_names}
    errors = _definition_errors(
        in_use=in_use, label=label, unit=unit, min_value=min_value, max_value=max_value, alias_list=alias_list,
        own_key=metric.key,
    )
    stored = KpiValue.objects.for_tenant(tenant).filter(metric_id=metric.id).aggregate(
        count=Count("id"), lowest=Min("value"), highest=Max("value")
    )
    if stored["count"]:
        if unit != metric.unit and "unit" not in errors:
            count = stored["count"]
            errors["unit"] = [
                f"{count:,} imported value{'s were' if count != 1 else ' was'} measured in "
                f"{metric.get_unit_display()}: the unit stays."
            ]
        if min_value is not None and "min_value" not in errors and stored["lowest"] < min_value:
            errors["min_value"] = [f"Imported values go down to {stored['lowest']:g}: allow at least that."]
        if max_value is not None and "max_value" not in errors and stored["highest"] > max_value:
            errors["max_value"] = [f"Imported values go up to {stored['highest']:g}: allow at least that."]
    if errors:
        raise ApplicationError("The metric wasn't changed: fix the fields below.", code="invalid_metric", fields=errors)
    before = kpi_metric_definition(metric)
    after = {"label": label, "unit": unit, "higher_is_better": higher_is_better, "min_value": min_value,
             "max_value": max_value, "aliases": alias_list}
    changed = {name: value for name, value in after.items() if before[name] != value}
    if changed:
        for name, value in changed.items():
            setattr(metric, name, value)
        metric.save(update_fields=list(changed))
        audit_record(
            tenant=tenant, actor=actor, action="kpi_metric.updated", target=metric,
            summary=f"Changed the KPI “{label}” ({metric.key})",
            data={"key": metric.key, "changed": {name: [before[name], value] for name, value in changed.items()}},
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
