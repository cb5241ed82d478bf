"""Which reader a stored KPI file goes through: a vendor preset (ticket- or call-level export,
aggregated here) or the weekly per-rep layout. The source's saved choice wins; otherwise the header
decides, and only when a preset matches it confidently."""

from __future__ import annotations

import csv
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from coachhub.tenancy.models import Tenant

from ..kpi.parsing import KpiFileError, MetricRule, sniff_delimiter
from ..kpi.validation import RepDirectory, Validation
from ..models import HelpdeskAgentMapping, KpiSource
from .aggregate import aggregate_export
from .presets import CONFIDENT, PRESETS_BY_KEY, detect

WEEKLY = "weekly"
RATINGS_SUFFIX = ".ratings.csv"  # the source's choice: never read as a vendor export


def default_time_zone() -> str:
    return str(settings.TIME_ZONE or "UTC")


def saved_agents(*, tenant: Tenant, source: KpiSource) -> dict[str, int | None]:
    if source.pk is None:
        return {}
    return {
        key: (None if ignored else membership_id)
        for key, membership_id, ignored in HelpdeskAgentMapping.objects.for_tenant(tenant)
        .filter(source=source).values_list("agent_key", "membership_id", "ignored")
    }


def ratings_path_for(path: Path) -> Path | None:
    """The satisfaction file uploaded with this export (Intercom's CSAT export), stored beside it."""
    ratings = path.with_name(path.stem + RATINGS_SUFFIX)
    return ratings if ratings.exists() else None


def read_header(path: Path, configured_delimiter: str) -> tuple[list[str], str]:
    with path.open("r", encoding="utf-8-sig", newline="") as text:
        first = text.readline()
    delimiter = sniff_delimiter(first, configured_delimiter)
    header = next(csv.reader([first], delimiter=delimiter), [])
    return [name.strip() for name in header], delimiter


def validate_helpdesk_file(
    *, tenant: Tenant, source: KpiSource, path: Path, reps: RepDirectory, metrics: list[MetricRule], max_errors: int,
) -> Validation | None:
    """The vendor-export reading of this file, or None when it is a weekly file."""
    mapping = source.column_mapping or {}
    choice = str(mapping.get("preset") or "")
    if choice == WEEKLY or (not choice and source.format in ("long", "wide")):
        return None
    header, delimiter = read_header(path, source.delimiter)
    detections = detect(header)
    if choice:
        preset = PRESETS_BY_KEY.get(choice)
        if preset is None:
            failed = Validation(max_errors=max_errors)
            failed.add_error(None, "", f"The source is set to read “{choice}”, which is no longer a known export; "
                             "choose the export in its reading settings.")
            return failed
        confidence = next((d.confidence for d in detections if d.preset.key == choice), 0.0)
        manual = True
    else:
        if not detections or detections[0].confidence < CONFIDENT:
            return None
        preset, confidence, manual = detections[0].preset, detections[0].confidence, False
    zone = str(mapping.get("timezone") or default_time_zone())
    result = aggregate_export(
        path=path, header=header, preset=preset, delimiter=delimiter, date_format=source.date_format, reps=reps,
        saved_agents=saved_agents(tenant=tenant, source=source), metrics=metrics, source_time_zone=zone,
        week_time_zone=zone, today=timezone.localdate(), max_errors=max_errors, ratings_path=ratings_path_for(path),
    )
    validation = result.validation
    validation.preset, validation.preset_confidence = preset.key, round(confidence, 2)
    validation.definitions, validation.unknown_agents = result.definitions, result.unknown_agents
    how = "chosen on the source" if manual else "recognised from the header"
    validation.notices.insert(0, f"Read as a {preset.label} ({how}; {round(confidence * 100)}% of its columns "
                                 f"found). Times in {result.source_time_zone}; weeks in {result.week_time_zone}.")
    others = [d.preset.label for d in detections if d.preset.key != preset.key and d.confidence >= CONFIDENT]
    if others:
        validation.notices.insert(1, f"The header also fits: {', '.join(others)}. Choose the export in the "
                                     "reading settings if this is the wrong one.")
    return validation


__all__ = ["KpiFileError", "WEEKLY", "validate_helpdesk_file", "saved_agents", "default_time_zone"]
