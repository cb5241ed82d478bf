"""Ticket- and call-level exports aggregated to weekly per-rep KPI values, with DuckDB.

The file is read once by DuckDB's CSV reader (every column as text, positional names, strict: a
line with the wrong number of columns stops the read with its line number), only the columns the
preset needs are kept, and three queries do the work: the cell checks (every bad cell with its row,
column and reason), the agents (each distinct agent with its row count, resolved or listed as
unknown) and the weekly aggregate per rep. Per-row Python never runs on a clean file; when there
are errors one csv pass turns DuckDB's row numbers into exact physical line numbers (quoted fields
may span lines). Memory is bounded by DuckDB's memory_limit (it spills to a temp directory).

Nothing here writes to the database: the result is a Validation with compact ValidRows, which the
existing preview and all-or-nothing commit take as they take a weekly file.
"""

from __future__ import annotations

import csv
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

from ..kpi.parsing import EARLIEST_PERIOD, KpiFileError, MetricRule, monday_of
from ..kpi.validation import SAMPLE_SIZE, RepDirectory, Validation
from .presets import UNIT_FACTORS, Derivation, Preset

IGNORED = -1  # an agent the admin chose to ignore

COMMON_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%a, %d %b %Y %H:%M:%S",
                  "%d %b %Y %H:%M:%S", "%d %b %Y %H:%M", "%b %d, %Y %I:%M %p", "%b %d, %Y %H:%M",
                  "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M"]
_SLASH_TIMES = ["%I:%M %p", "%I:%M:%S %p", "%H:%M:%S", "%H:%M"]
MDY_FORMATS = [f"%m/%d/%Y {t}" for t in _SLASH_TIMES] + ["%m/%d/%Y"]
DMY_FORMATS = [f"%d/%m/%Y {t}" for t in _SLASH_TIMES] + ["%d/%m/%Y"]
SAMPLE_WEEKS_PER_REP = 3

GOOD_WORDS = ("good", "satisfied", "happy", "extremely happy", "very happy", "awesome")
BAD_WORDS = ("bad", "not satisfied", "unsatisfied", "neutral", "unhappy", "extremely unhappy", "very unhappy", "not good")
UNRATED_WORDS = ("", "offered", "not offered", "unoffered", "not rated", "none", "n/a")
TRUE_WORDS = ("true", "yes", "y", "1", "x", "escalated", "checked", "transferred")
FALSE_WORDS = ("false", "no", "n", "0", "", "not escalated", "unchecked")


def memory_limit() -> str:
    return str(getattr(settings, "KPI_HELPDESK_MEMORY_LIMIT", "512MB"))


@dataclass
class AgentResolver:
    """Who an agent cell means: the source's saved mapping first (an admin's choice, including
    “ignore”), then an exact e-mail or external id of a rep the importer may write for. Names are
    never matched to people by themselves."""

    directory: RepDirectory
    saved: dict[str, int | None] = field(default_factory=dict)  # lower-case agent -> membership id or None (ignore)

    def resolve(self, raw: str) -> int | None:
        key = raw.strip().lower()
        if key in self.saved:
            membership_id = self.saved[key]
            if membership_id is None:
                return IGNORED
            if membership_id in self._visible:
                return membership_id
            return None
        return self.directory.by_email.get(key) or self.directory.by_external_id.get(key)

    @property
    def _visible(self) -> set[int]:
        cache = getattr(self, "_visible_ids", None)
        if cache is None:
            cache = self._visible_ids = set(self.directory.by_email.values()) | set(self.directory.by_external_id.values())
        return cache


@dataclass
class HelpdeskResult:
    validation: Validation
    definitions: dict[str, str]
    unknown_agents: list[dict]  # {"agent", "rows", "line"}
    week_time_zone: str
    source_time_zone: str


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _list(values) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def zone_or_error(name: str, *, what: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise KpiFileError(f"Unknown time zone “{name}” ({what}); use a name like Europe/Berlin or America/New_York.",
                           line=1, code="bad_time_zone") from None
    return name


class _Plan:
    """The preset's columns located in this header, as positional DuckDB columns c0…cN."""

    def __init__(self, preset: Preset, header: list[str], metrics: dict[str, MetricRule], file_width: int | None = None):
        self.preset, self.header = preset, header
        self.file_width = len(header) if file_width is None else file_width  # beyond it: joined from a ratings file
        self.index = {name: i for i, name in reversed(list(enumerate(header)))}
        agent = preset.agent.find(header)
        week = preset.week.find(header)
        missing = [c.shown for c, hit in ((preset.agent, agent), (preset.week, week)) if hit is None]
        if missing:
            raise KpiFileError(
                f"This doesn't look like a {preset.label}: missing column(s) {', '.join(missing)}. "
                f"The header (line 1) has: {', '.join(header)}.", line=1, column=", ".join(missing),
                code="missing_columns")
        self.agent_name, self.week_name, self.header_zone = agent[0], week[0], week[1]
        self.ratings: dict | None = None
        self.keep: list[str] = []  # further columns the query needs (the conversation id of a ratings join)
        self.derivations: list[tuple[Derivation, list[str], MetricRule]] = []
        self.notices: list[str] = []
        seen_metrics: set[str] = set()
        for derivation in preset.derivations:
            if derivation.metric in seen_metrics:
                continue
            found = [c.find(header) for c in derivation.columns]
            metric = metrics.get(derivation.metric)
            if any(hit is None for hit in found):
                continue
            if metric is None:
                self.notices.append(
                    f"“{', '.join(h[0] for h in found)}” could fill a KPI with key “{derivation.metric}”; add that "
                    "KPI on the KPIs page to import it.")
                continue
            seen_metrics.add(derivation.metric)
            self.derivations.append((derivation, [h[0] for h in found], metric))
        if not self.derivations:
            raise KpiFileError(f"No KPI can be computed from this {preset.label}: none of its metric columns "
                               "are in the header.", line=1, code="no_metric_columns")

    def col(self, name: str) -> str:
        return f"c{self.index[name]}"


def aggregate_export(
    *, path: Path, header: list[str], preset: Preset, delimiter: str, date_format: str, reps: RepDirectory,
    saved_agents: dict[str, int | None], metrics: list[MetricRule], source_time_zone: str, week_time_zone: str,
    today: date, max_errors: int = 200, ratings_path: Path | None = None,
) -> HelpdeskResult:
    """Reads a vendor export at `path` (UTF-8 checked by the caller) and aggregates it. `ratings_path`:
    the export's separate satisfaction file (Intercom's CSAT export), joined by conversation id."""
    result = Validation(max_errors=max_errors)
    result.layout, result.delimiter, result.header = preset.key, delimiter, header
    by_key = {m.key: m for m in metrics}
    ratings = None
    try:
        full_header = header
        if ratings_path is not None and preset.ratings is not None:
            ratings = _ratings_plan(preset, header, ratings_path)
            if ratings is not None:
                full_header = [*header, ratings["rating_name"]]
        plan = _Plan(preset, full_header, by_key, file_width=len(header))
        if ratings is not None:
            plan.keep.append(ratings["id_name"])
            plan.ratings = ratings
    except KpiFileError as exc:
        result.add_error(exc.line, exc.column, exc.message)
        return HelpdeskResult(result, {}, [], week_time_zone, source_time_zone)
    result.notices.extend(plan.notices)
    source_zone = zone_or_error(plan.header_zone or source_time_zone, what="the export's times")
    week_zone = zone_or_error(week_time_zone, what="the weeks")

    import duckdb  # imported here: only ticket-level imports need it

    with tempfile.TemporaryDirectory(prefix="kpi-duckdb-") as spill:
        con = duckdb.connect(config={"threads": 2, "memory_limit": memory_limit(), "temp_directory": spill})
        try:
            con.execute(f"SET TimeZone = {_q(source_zone)}")
            definitions, unknown = _run(con, result, plan, path, delimiter, date_format, reps, saved_agents,
                                        source_zone, week_zone, today)
        finally:
            con.close()
    return HelpdeskResult(result, definitions, unknown, week_zone, source_zone)


def _ratings_plan(preset: Preset, header: list[str], ratings_path: Path) -> dict | None:
    """Where the id and rating are in the ratings file, or None when the export carries its own ratings."""
    id_col, rating_col = preset.ratings
    if rating_col.find(header) is not None:
        return None
    conversation = id_col.find(header)
    if conversation is None:
        raise KpiFileError(f"A ratings file is joined by “{id_col.shown}”, which this export doesn't have.",
                           line=1, column=id_col.shown, code="missing_columns")
    with ratings_path.open("r", encoding="utf-8-sig", newline="") as text:
        first = text.readline()
    from ..kpi.parsing import sniff_delimiter

    delimiter = sniff_delimiter(first, "")
    rheader = [h.strip() for h in next(csv.reader([first], delimiter=delimiter), [])]
    rid, rrating = id_col.find(rheader), rating_col.find(rheader)
    if rid is None or rrating is None:
        raise KpiFileError(
            f"The ratings file needs “{id_col.shown}” and “{rating_col.shown}” columns; its header has: "
            f"{', '.join(rheader)}.", line=1, code="missing_columns")
    return {"path": ratings_path, "delimiter": delimiter, "width": len(rheader), "id": rheader.index(rid[0]),
            "rating": rheader.index(rrating[0]), "id_name": conversation[0], "rating_name": rrating[0]}


def _join_ratings(con, plan: _Plan, result: Validation) -> str:
    """Loads the ratings file as table rt(id, rating); returns the join clause for the main table."""
    r = plan.ratings
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(r["width"])) + "}"
    try:
        con.execute(
            f"CREATE TABLE rt AS SELECT trim(c{r['id']}) AS id, c{r['rating']} AS rating FROM read_csv({_q(str(r['path']))}, "
            f"header = true, auto_detect = false, columns = {columns}, delim = {_q(r['delimiter'])}, quote = '\"', "
            "escape = '\"', strict_mode = true)"
        )
    except duckdb_errors() as exc:
        raise KpiFileError("The ratings file could not be read as CSV: " + str(exc).splitlines()[0], code="bad_csv") from None
    duplicate = con.execute("SELECT id, count(*) FROM rt WHERE id <> '' GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 1").fetchone()
    if duplicate:
        raise KpiFileError(f"The ratings file rates conversation “{duplicate[0]}” {duplicate[1]} times; keep one rating "
                           "per conversation.", column=plan.ratings["rating_name"], code="duplicate_rating")
    conversation = plan.col(r["id_name"])
    unmatched = con.execute(
        f"SELECT count(*) FROM rt WHERE id NOT IN (SELECT trim({conversation}) FROM t WHERE {conversation} IS NOT NULL)"
    ).fetchone()[0]
    if unmatched:
        result.notices.append(f"{unmatched:,} rating(s) in the ratings file are for conversations not in this export.")
    return f" LEFT JOIN rt ON trim(t.{conversation}) = rt.id"


def _read_table(con, plan: _Plan, path: Path, delimiter: str) -> None:
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(plan.file_width)) + "}"
    needed = [plan.agent_name, plan.week_name, *(n for _, names, _ in plan.derivations for n in names), *plan.keep]
    wanted = sorted({plan.col(n) for n in needed if plan.index[n] < plan.file_width})
    try:
        con.execute(
            f"CREATE TABLE t AS SELECT {', '.join(wanted)} FROM read_csv({_q(str(path))}, header = true, "
            f"auto_detect = false, columns = {columns}, delim = {_q(delimiter)}, quote = '\"', escape = '\"', "
            "strict_mode = true)"
        )
    except duckdb_errors() as exc:
        text = str(exc)
        line = re.search(r"on Line: (\d+)", text)
        counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
        if counts:
            message = f"This line has {counts[2]} column(s); the header has {counts[1]}."
        else:
            message = "The file could not be read as CSV: " + text.splitlines()[0].split("Error: ", 1)[-1]
        raise KpiFileError(message, line=int(line[1]) if line else None, code="bad_csv") from None


def duckdb_errors():
    import duckdb

    return (duckdb.InvalidInputException, duckdb.ConversionException)


def _ts_expr(x: str, slashed: list[str]) -> str:
    """A cell as TIMESTAMPTZ: ISO text (offset or Z honoured; none = the source's zone), the vendors'
    other spellings, or epoch milliseconds (HubSpot)."""
    v = f"nullif(trim({x}), '')"
    return (
        f"COALESCE(TRY_CAST({v} AS TIMESTAMPTZ), "
        f"try_strptime({v}, {_list(COMMON_FORMATS + slashed)})::TIMESTAMPTZ, "
        f"CASE WHEN regexp_full_match({v}, '\\d{{12,13}}') THEN to_timestamp(TRY_CAST({v} AS BIGINT) / 1000.0) END)"
    )


def _dur_expr(x: str, factor: float) -> str:
    v = f"trim({x})"
    return (
        f"(CASE WHEN nullif({v}, '') IS NULL THEN NULL "
        f"WHEN regexp_full_match({v}, '\\d+:[0-5]?\\d:[0-5]?\\d(\\.\\d+)?') THEN "
        f"split_part({v}, ':', 1)::DOUBLE * 3600 + split_part({v}, ':', 2)::DOUBLE * 60 + split_part({v}, ':', 3)::DOUBLE "
        f"WHEN regexp_full_match({v}, '\\d+:[0-5]?\\d(\\.\\d+)?') THEN "
        f"split_part({v}, ':', 1)::DOUBLE * 60 + split_part({v}, ':', 2)::DOUBLE "
        f"WHEN TRY_CAST({v} AS DOUBLE) >= 0 THEN TRY_CAST({v} AS DOUBLE) * {factor!r} END)"
    )


def _num_expr(x: str) -> str:
    return f"TRY_CAST(nullif(trim({x}), '') AS DOUBLE)"


def _in(values) -> str:
    return "(" + ", ".join(_q(v) for v in values) + ")"


def _word(x: str) -> str:
    return f"lower(trim(coalesce({x}, '')))"


_OPS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "="}


def _derivation_sql(derivation: Derivation, cols: list[str], slashed: list[str]) -> tuple[str, list[tuple[str, str, str]]]:
    """(per-row value expression, [(column sql, bad-cell condition, message expression)])."""
    checks: list[tuple[str, str, str]] = []
    kind = derivation.kind
    if kind == "duration":
        factor = UNIT_FACTORS[derivation.unit]
        parts = [_dur_expr(c, factor) for c in cols]
        for c, part in zip(cols, parts, strict=True):
            checks.append((c, f"nullif(trim({c}), '') IS NOT NULL AND {part} IS NULL",
                           f"'“' || trim({c}) || '” is not a duration: use a number of {derivation.unit} or HH:MM:SS'"))
        # A row counts when any part is given; missing parts count as zero (no hold, no ACW).
        expr = (f"CASE WHEN {' AND '.join(p + ' IS NULL' for p in parts)} THEN NULL ELSE "
                f"{' + '.join(f'coalesce({p}, 0)' for p in parts)} END")
        return expr, checks
    if kind == "flag":
        conditions = []
        for index, op, value in derivation.tests:
            c = cols[index]
            if op == "true":
                w = _word(c)
                truthy = f"({w} IN {_in(TRUE_WORDS)} OR TRY_CAST({w} AS DOUBLE) > 0)"
                falsy = f"({w} IN {_in(FALSE_WORDS)})"
                checks.append((c, f"NOT {truthy} AND NOT {falsy}",
                               f"'“' || trim({c}) || '” is not yes/no (true/false, 1/0)'"))
                conditions.append((f"{w} = ''", truthy))
            else:
                n = _num_expr(c)
                checks.append((c, f"nullif(trim({c}), '') IS NOT NULL AND {n} IS NULL",
                               f"'“' || trim({c}) || '” is not a number'"))
                conditions.append((f"{n} IS NULL", f"{n} {_OPS[op]} {value!r}"))
        missing = " OR ".join(m for m, _ in conditions)
        test = " AND ".join(t for _, t in conditions)
        return f"CASE WHEN {missing} THEN NULL WHEN {test} THEN 1.0 ELSE 0.0 END", checks
    if kind in ("goodbad", "freshdesk_survey"):
        c = cols[0]
        w = _word(c)
        good, bad = (("good",), ("bad",)) if kind == "goodbad" else (GOOD_WORDS, BAD_WORDS)
        known = tuple(good + bad + UNRATED_WORDS)
        words = ", ".join(w_ for w_ in good + bad if w_)
        checks.append((c, f"{w} NOT IN {_in(known)}",
                       f"'“' || trim({c}) || '” is not a satisfaction rating ({words}, or blank / Offered / Not Offered)'"))
        return f"CASE WHEN {w} IN {_in(good)} THEN 1.0 WHEN {w} IN {_in(bad)} THEN 0.0 END", checks
    if kind == "scale5":
        c = cols[0]
        n = _num_expr(c)
        checks.append((c, f"nullif(trim({c}), '') IS NOT NULL AND ({n} IS NULL OR {n} < 1 OR {n} > 5 OR {n} <> floor({n}))",
                       f"'“' || trim({c}) || '” is not a 1–5 rating'"))
        return f"CASE WHEN {n} BETWEEN 1 AND 5 THEN ({n} >= 4)::DOUBLE END", checks
    if kind == "elapsed":
        opened, closed = (_ts_expr(c, slashed) for c in cols)
        checks.append((cols[0], f"nullif(trim({cols[0]}), '') IS NOT NULL AND {opened} IS NULL",
                       f"'“' || trim({cols[0]}) || '” is not a date and time'"))
        return (f"CASE WHEN {closed} >= {opened} THEN epoch({closed}) - epoch({opened}) END", checks)
    raise ValueError(f"unknown derivation kind {kind}")


def _pick_slashed(con, week: str, date_format: str, column: str) -> list[str]:
    """Slashed dates (3/2/2026) follow the source's date format; on auto the file must settle it."""
    if date_format == "mdy":
        return MDY_FORMATS
    if date_format == "dmy":
        return DMY_FORMATS
    v = f"nullif(trim({week}), '')"
    if con.execute(f"SELECT count(*) FROM (SELECT 1 FROM t WHERE contains({week}, '/') LIMIT 1)").fetchone()[0] == 0:
        return []
    mdy_only, dmy_only, ambiguous = con.execute(
        f"SELECT count(*) FILTER (WHERE m IS NOT NULL AND d IS NULL), count(*) FILTER (WHERE d IS NOT NULL AND m IS NULL), "
        f"count(*) FILTER (WHERE m IS NOT NULL AND d IS NOT NULL AND m <> d) FROM (SELECT "
        f"try_strptime({v}, {_list(MDY_FORMATS)}) AS m, try_strptime({v}, {_list(DMY_FORMATS)}) AS d FROM t "
        f"WHERE contains({v}, '/'))"
    ).fetchone()
    if mdy_only and dmy_only:
        raise KpiFileError(f"“{column}” mixes month/day and day/month dates; set the source's date format.",
                           line=1, column=column, code="ambiguous_dates")
    if mdy_only:
        return MDY_FORMATS
    if dmy_only:
        return DMY_FORMATS
    if ambiguous:
        raise KpiFileError(
            f"The dates in “{column}” could be day/month or month/day (e.g. 3/2/2026): set the source's date "
            "format to DD/MM/YYYY or MM/DD/YYYY.", line=1, column=column, code="ambiguous_dates")
    return []


def _run(con, result: Validation, plan: _Plan, path: Path, delimiter: str, date_format: str, reps: RepDirectory,
         saved_agents: dict, source_zone: str, week_zone: str, today: date) -> tuple[dict, list]:
    preset = plan.preset
    try:
        _read_table(con, plan, path, delimiter)
        week_col, agent_col = plan.col(plan.week_name), plan.col(plan.agent_name)
        slashed = _pick_slashed(con, week_col, date_format, plan.week_name)
    except KpiFileError as exc:
        result.add_error(exc.line, exc.column, exc.message)
        return {}, []
    total = con.execute("SELECT count(*) FROM t").fetchone()[0]
    result.rows_read = total
    if total == 0:
        result.add_error(2, "", "The file has a header but no rows.")
        return {}, []

    join, joined = "", ""
    if plan.ratings is not None:
        try:
            join = _join_ratings(con, plan, result)
        except KpiFileError as exc:
            result.add_error(exc.line, exc.column, exc.message)
            return {}, []
        joined = f", rt.rating AS {plan.col(plan.ratings['rating_name'])}"
    # The week's time is parsed once into columns of its own: every later query reads them.
    con.execute(
        f"CREATE TABLE w AS SELECT *, CAST(timezone({_q(week_zone)}, ts) AS DATE) AS dy FROM "
        f"(SELECT t.rowid AS r, t.*{joined}, {_ts_expr('t.' + week_col, slashed)} AS ts, "
        f"nullif(trim(t.{agent_col}), '') AS ag, nullif(trim(t.{week_col}), '') IS NOT NULL AS dated FROM t{join})"
    )
    con.execute("DROP TABLE t")
    con.execute("ALTER TABLE w RENAME TO t")
    ts, local_day = "ts", "dy"
    latest = monday_of(today) + timedelta(days=7)
    checks: list[tuple[str, str, str, str]] = [  # (column name, sql column, condition, message)
        (plan.week_name, week_col, f"nullif(trim({week_col}), '') IS NOT NULL AND {ts} IS NULL",
         f"'“' || trim({week_col}) || '” is not a date and time'"),
        (plan.week_name, week_col, f"{local_day} < DATE {_q(EARLIEST_PERIOD.isoformat())}",
         f"'“' || trim({week_col}) || '” is before 2000; check the year'"),
        (plan.week_name, week_col, f"date_trunc('week', {local_day}) > DATE {_q(latest.isoformat())}",
         f"'“' || trim({week_col}) || '” is in the future'"),
    ]
    values: list[tuple[Derivation, str, MetricRule]] = []
    for derivation, names, metric in plan.derivations:
        expr, cell_checks = _derivation_sql(derivation, [plan.col(n) for n in names], slashed)
        values.append((derivation, expr, metric))
        by_col = {plan.col(n): n for n in names}
        checks.extend((by_col[c], c, cond, msg) for c, cond, msg in cell_checks)

    _cell_errors(con, result, checks, path, delimiter)

    # Agents: each distinct one once, with its rows (of rows that count in a week).
    agents = con.execute(
        "SELECT ag, count(*), min(r) FROM t WHERE ag IS NOT NULL AND dated GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    resolver = AgentResolver(directory=reps, saved=saved_agents)
    mapping: list[tuple[str, int]] = []
    unknown: list[dict] = []
    ignored_rows = 0
    for agent, rows, first in agents:
        membership_id = resolver.resolve(agent)
        if membership_id == IGNORED:
            ignored_rows += rows
        elif membership_id is None:
            unknown.append({"agent": agent, "rows": rows, "row": first})
        else:
            mapping.append((agent, membership_id))
    lines = _line_numbers(path, delimiter, {u["row"] for u in unknown}) if unknown else {}
    for entry in unknown:
        entry["line"] = lines.get(entry.pop("row"))
        result.add_error(entry["line"], plan.agent_name,
                         f"unknown agent “{entry['agent']}” ({entry['rows']} row{'s' if entry['rows'] != 1 else ''}): "
                         "map them to a member or ignore them")
    unassigned, unsolved = con.execute(
        "SELECT count(*) FILTER (WHERE ag IS NULL AND dated), count(*) FILTER (WHERE NOT dated) FROM t"
    ).fetchone()
    if unsolved:
        result.notices.append(f"{unsolved:,} row(s) have no {plan.week_name} ({preset.week_words} time) and count in no week.")
    if unassigned:
        result.notices.append(f"{unassigned:,} row(s) have no {plan.agent_name} and belong to no rep.")
    if ignored_rows:
        result.notices.append(f"{ignored_rows:,} row(s) of ignored agents were left out.")

    definitions = {
        metric.key: f"{derivation.definition}; week = ISO week (Monday–Sunday) of the {preset.week_words} time in "
                    f"{week_zone}; from a {preset.label}" + ("" if source_zone == week_zone else f" (times read in {source_zone})")
        for derivation, _, metric in values
    }
    if plan.ratings is not None:
        for _, names, metric in plan.derivations:
            if plan.ratings["rating_name"] in names and metric.key in definitions:
                definitions[metric.key] += f" (ratings joined from the ratings file by {plan.ratings['id_name']})"
    if result.error_count and not mapping:
        return definitions, unknown

    con.execute("CREATE TEMP TABLE agent_map (agent VARCHAR, membership_id BIGINT)")
    if mapping:
        con.executemany("INSERT INTO agent_map VALUES (?, ?)", mapping)
    selects = ", ".join(
        f"avg(v{i}) AS a{i}, count(v{i}) AS n{i}" for i in range(len(values))
    )
    rows = con.execute(
        f"SELECT m.membership_id, CAST(date_trunc('week', {local_day}) AS DATE) AS week, count(*) AS n, {selects}, "
        "min(m.agent) FROM (SELECT ag, ts, dy, "
        + ", ".join(f"{expr} AS v{i}" for i, (_, expr, _) in enumerate(values))
        + " FROM t) s JOIN agent_map m ON m.agent = s.ag WHERE s.ts IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    per_rep_weeks: dict[int, int] = {}
    sample = result.sample
    for row in rows:
        membership_id, week, tickets = row[0], row[1], row[2]
        agent = row[-1]
        per_rep_weeks[membership_id] = per_rep_weeks.get(membership_id, 0) + 1
        for i, (derivation, _, metric) in enumerate(values):
            mean, count = row[3 + 2 * i], row[4 + 2 * i]
            if not count:
                continue
            value = mean * 100.0 if metric.unit == "percent" and derivation.kind != "duration" else mean
            value = round(value, 4)
            if (metric.min_value is not None and value < metric.min_value) or (
                metric.max_value is not None and value > metric.max_value
            ):
                result.add_error(None, metric.label, f"{agent}, week of {week.isoformat()}: {metric.label} comes out "
                                 f"at {value:g}, outside the KPI's range ({metric.min_value:g}–{metric.max_value:g})")
                continue
            result.rows.append(membership_id, metric.id, week.toordinal(), value)
            if per_rep_weeks[membership_id] <= SAMPLE_WEEKS_PER_REP and len(sample) < SAMPLE_SIZE * 3:
                sample.append({
                    "line": None, "rep": agent, "membership_id": membership_id, "metric": metric.key,
                    "metric_label": metric.label, "period_start": week.isoformat(), "value": value,
                    "rows": count, "tickets": tickets,
                })
    return definitions, unknown


def _cell_errors(con, result: Validation, checks, path: Path, delimiter: str) -> None:
    if not checks:
        return
    count_sql = " + ".join(f"count(*) FILTER (WHERE {cond})" for _, _, cond, _ in checks)
    total = con.execute(f"SELECT {count_sql} FROM t").fetchone()[0]
    if not total:
        return
    union = " UNION ALL ".join(
        f"SELECT r, {i} AS k, {msg} AS m FROM t WHERE {cond}" for i, (_, _, cond, msg) in enumerate(checks)
    )
    found = con.execute(f"SELECT r, k, m FROM ({union}) ORDER BY r, k LIMIT {int(result.max_errors)}").fetchall()
    lines = _line_numbers(path, delimiter, {r for r, _, _ in found})
    for r, k, message in found:
        result.add_error(lines.get(r), checks[k][0], message)
    result.error_count += total - len(found)


def _line_numbers(path: Path, delimiter: str, records: set[int]) -> dict[int, int]:
    """The physical line each of these records (0-based, after the header, blank lines skipped as
    DuckDB skips them) starts on. Runs only when there is something to report."""
    if not records:
        return {}
    wanted, last = set(records), max(records)
    found: dict[int, int] = {}
    with path.open("r", encoding="utf-8-sig", newline="") as text:
        reader = csv.reader(text, delimiter=delimiter)
        next(reader, None)
        line_end, index = reader.line_num, -1
        for fields in reader:
            start, line_end = line_end + 1, reader.line_num
            if not any(f.strip() for f in fields) and len(fields) <= 1:
                continue
            index += 1
            if index in wanted:
                found[index] = start
            if index >= last:
                break
    return found
