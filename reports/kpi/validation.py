"""Streams a KPI file into compact valid rows and row-level errors (line, column, reason).

Nothing here writes: the caller writes only when the whole file is valid. Valid rows are kept in
typed arrays (about 28 bytes a row), so a million-row file validates in memory without ORM objects.
"""

from __future__ import annotations

import csv
import itertools
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TextIO

from .mapping import plan_columns
from .parsing import KpiFileError, MetricRule, PeriodParser, ValueParser, make_value_parser, sniff_delimiter

SAMPLE_SIZE = 20
VALUE_CACHE_SIZE = 20_000  # distinct cell texts remembered per metric
_ORDINAL_BITS = 20  # date ordinals up to year 2870 fit; the duplicate key packs them below the rest


@dataclass
class ValidRows:
    membership_ids: array = field(default_factory=lambda: array("q"))
    metric_ids: array = field(default_factory=lambda: array("q"))
    periods: array = field(default_factory=lambda: array("l"))  # date.toordinal() of the week's Monday
    values: array = field(default_factory=lambda: array("d"))

    def __len__(self) -> int:
        return len(self.values)

    def append(self, membership_id: int, metric_id: int, period: int, value: float) -> None:
        self.membership_ids.append(membership_id)
        self.metric_ids.append(metric_id)
        self.periods.append(period)
        self.values.append(value)

    def __iter__(self) -> Iterable[tuple[int, int, int, float]]:
        return zip(self.membership_ids, self.metric_ids, self.periods, self.values, strict=True)


@dataclass
class RepDirectory:
    """The tenant's reps this import may write for, looked up once: lower-case email / external id → id."""

    by_email: dict[str, int]
    by_external_id: dict[str, int]
    unknown_hint: str = "no one in this workspace has it"


@dataclass
class Validation:
    rows: ValidRows = field(default_factory=ValidRows)
    errors: list[dict] = field(default_factory=list)
    error_count: int = 0
    rows_read: int = 0
    layout: str = ""
    delimiter: str = ","
    header: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    sample: list[dict] = field(default_factory=list)
    max_errors: int = 200
    # Vendor exports only (reports.helpdesk): the preset read and what it computed.
    preset: str = ""
    preset_confidence: float | None = None
    definitions: dict[str, str] = field(default_factory=dict)
    unknown_agents: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add_error(self, line: int | None, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < self.max_errors:
            self.errors.append({"line": line, "column": column, "message": message})


def validate_kpi_file(
    *,
    stream: TextIO,
    reps: RepDirectory,
    metrics: list[MetricRule],
    aliases: dict[str, list[str]],
    layout: str,
    mapping: dict,
    delimiter: str,
    date_format: str,
    today: date,
    max_errors: int = 200,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 50_000,
) -> Validation:
    result = Validation(max_errors=max_errors)
    try:
        _validate(result, stream, reps, metrics, aliases, layout, mapping, delimiter, date_format, today,
                  progress, progress_every)
    except KpiFileError as exc:
        result.add_error(exc.line, exc.column, exc.message)
    except csv.Error as exc:
        result.add_error(None, "", f"The file could not be read as CSV: {exc}.")
    return result


def _validate(result, stream, reps, metrics, aliases, layout, mapping, delimiter, date_format, today,
              progress, progress_every) -> None:
    first_line = stream.readline()
    if not first_line.strip():
        raise KpiFileError("The first line must be a header naming the columns; it is empty.", line=1)
    result.delimiter = delimiter = sniff_delimiter(first_line, delimiter)
    reader = csv.reader(itertools.chain([first_line], stream), delimiter=delimiter)
    header = next(reader)
    plan = plan_columns(header=header, layout=layout, mapping=mapping, metrics=metrics, aliases=aliases)
    result.layout, result.header = plan.layout, plan.header
    if plan.ignored:
        result.notices.append(f"Ignored column(s) that aren't mapped to a metric: {', '.join(plan.ignored)}.")

    decimal_comma = delimiter == ";"
    parsers: dict[int, ValueParser] = {m.id: make_value_parser(m, decimal_comma=decimal_comma) for m in metrics}
    metric_slot = {m.id: slot for slot, m in enumerate(metrics)}
    slots = max(1, len(metrics))
    # Help-desk files repeat the same few cell texts (weeks, rounded values) on every row, so each
    # metric keeps its parsed values (or the error text) by raw cell; bounded so a file of all
    # distinct values can't grow it without limit.
    value_caches: dict[int, dict[str, float | str]] = {m.id: {} for m in metrics}

    def cell(index: int, metric: MetricRule) -> tuple:
        return (index, metric, plan.column(index), parsers[metric.id], metric_slot[metric.id], value_caches[metric.id])

    periods = PeriodParser(date_format, today)
    ordinals: dict[str, int] = {}  # raw period text -> ordinal of its Monday (valid ones only)
    lookup = reps.by_email if plan.rep_key == "email" else reps.by_external_id
    rep_cache: dict[str, int | None] = {}
    seen: dict[int, int] = {}  # packed (rep, metric, week) -> first line
    rows = result.rows
    add_membership, add_metric = rows.membership_ids.append, rows.metric_ids.append
    add_period, add_value = rows.periods.append, rows.values.append
    sample = result.sample
    width = plan.width
    rep_i, period_i, metric_i, value_i = plan.rep_index, plan.period_index, plan.metric_index, plan.value_index
    rep_column, period_column = plan.column(rep_i), plan.column(period_i)
    wide = plan.layout == "wide"
    metric_cells = [cell(i, m) for i, m in plan.metric_columns]
    names = plan.metric_names
    metric_cache: dict[str, tuple | None] = {}  # raw metric text -> its cell (long files)
    add_error = result.add_error
    line_end = 1
    read = 0

    for fields in reader:
        line = line_end + 1
        line_end = reader.line_num
        if len(fields) != width:
            if not any(f.strip() for f in fields):
                continue  # blank lines are allowed anywhere
            if len(fields) < width or any(f.strip() for f in fields[width:]):
                add_error(line, "", f"This line has {len(fields)} column(s); the header has {width}.")
                read += 1
                continue
        read += 1
        if progress is not None and read % progress_every == 0:
            progress(read)

        row_ok = True
        rep_raw = fields[rep_i]
        membership_id = rep_cache.get(rep_raw, -1)
        if membership_id == -1:
            membership_id = rep_cache[rep_raw] = lookup.get(rep_raw.strip().lower()) if rep_raw.strip() else None
        if membership_id is None:
            row_ok = False
            if rep_raw.strip():
                add_error(line, rep_column, f"unknown rep “{rep_raw.strip()}”: {reps.unknown_hint}")
            else:
                add_error(line, rep_column, "the rep is empty")
        period_raw = fields[period_i]
        ordinal = ordinals.get(period_raw)
        if ordinal is None:
            try:
                ordinal = ordinals[period_raw] = periods.parse(period_raw).toordinal()
            except ValueError as exc:
                row_ok = False
                add_error(line, period_column, str(exc))

        if wide:
            cells = [c for c in metric_cells if fields[c[0]].strip()]
        else:
            metric_raw = fields[metric_i]
            entry = metric_cache.get(metric_raw, names)
            if entry is names:
                metric = names.get(metric_raw.strip().lower())
                entry = metric_cache[metric_raw] = None if metric is None else cell(value_i, metric)
            if entry is None:
                row_ok = False
                known = ", ".join(m.key for m in metrics)
                add_error(line, plan.column(metric_i),
                          f"unknown metric “{metric_raw.strip()}”: use one of {known}, or map it on the source")
                cells = ()
            else:
                cells = (entry,)

        for index, metric, column, parse, slot, cache in cells:
            raw = fields[index]
            value = cache.get(raw)
            if value is None:
                try:
                    value = parse(raw)
                except ValueError as exc:
                    value = str(exc)
                if len(cache) < VALUE_CACHE_SIZE:
                    cache[raw] = value
            if value.__class__ is str:
                add_error(line, column, value)
                continue
            if not row_ok:
                continue
            key = ((membership_id * slots + slot) << _ORDINAL_BITS) | ordinal
            first = seen.setdefault(key, line)
            if first != line:
                week = date.fromordinal(ordinal).isoformat()
                add_error(
                    line, column,
                    f"duplicate: {rep_raw.strip()}, {metric.label}, week of {week} is also on line {first}",
                )
                continue
            add_membership(membership_id)
            add_metric(metric.id)
            add_period(ordinal)
            add_value(value)
            if len(sample) < SAMPLE_SIZE:
                sample.append({
                    "line": line, "rep": rep_raw.strip(), "membership_id": membership_id, "metric": metric.key,
                    "metric_label": metric.label, "period_start": date.fromordinal(ordinal).isoformat(),
                    "value": value,
                })
    result.rows_read = read
    if progress is not None:
        progress(read)
    if read == 0:
        raise KpiFileError("The file has a header but no rows of KPIs.", line=2, code="no_rows")
