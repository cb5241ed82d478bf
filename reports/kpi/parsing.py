"""Low-level reading of KPI files: encoding checks, delimiters, dates and values.

Everything here is pure (no database) and fast on the hot path: a million rows go through
`PeriodParser.parse` and the value parsers, so both cache or take the plain-number road first.
"""

from __future__ import annotations

import codecs
import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import BinaryIO

from .metrics import CSAT_KEY

EARLIEST_PERIOD = date(2000, 1, 1)
CHUNK_BYTES = 1024 * 1024


class KpiFileError(Exception):
    """The file as a whole can't be read (encoding, header, size). Nothing in it is imported."""

    def __init__(self, message: str, *, line: int | None = None, column: str = "", code: str = "invalid_file"):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.code = code

    def as_error(self) -> dict:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass
class FileScan:
    size: int
    sha256: str
    line_count: int  # physical lines, including the header


def scan_file(stream: BinaryIO) -> FileScan:
    """One cheap pass over the bytes: checks they are UTF-8 (a BOM is fine), hashes them and counts
    lines, so the import can show progress against a known total."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    digest = hashlib.sha256()
    size = newlines = 0
    last_byte = b""
    while chunk := stream.read(CHUNK_BYTES):
        digest.update(chunk)
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            # The decoder may hold back up to 3 bytes of an unfinished character from the last chunk.
            position = max(0, size + exc.start - (len(exc.object) - len(chunk)))
            stream.seek(0)
            head = stream.read(position)
            line = head.count(b"\n") + 1
            raise KpiFileError(
                f"The file is not UTF-8 text: byte {position + 1} (line {line}) can't be read. "
                "In Excel choose “Save as… CSV UTF-8 (comma delimited)” and upload again.",
                line=line, code="bad_encoding",
            ) from None
        newlines += chunk.count(b"\n")
        size += len(chunk)
        last_byte = chunk[-1:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise KpiFileError(
            f"The file is not UTF-8 text: it ends in the middle of a character (byte {size}). "
            "Save it as “CSV UTF-8” and upload again.",
            code="bad_encoding",
        ) from None
    if size == 0:
        raise KpiFileError("The file is empty.", code="empty_file")
    lines = newlines + (0 if last_byte == b"\n" else 1)
    return FileScan(size=size, sha256=digest.hexdigest(), line_count=lines)


def sniff_delimiter(header: str, configured: str = "") -> str:
    """The source's delimiter, or whichever of ; , and tab splits the header into the most columns."""
    if configured:
        return configured
    counts = {delimiter: header.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


# --- dates ------------------------------------------------------------------------------------

_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})(?:-?([1-7]))?$", re.IGNORECASE)
_SLASHED = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_FORMAT_NAMES = {"dmy": "DD/MM/YYYY", "mdy": "MM/DD/YYYY"}


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


class PeriodParser:
    """Reads a period cell into the Monday of its week. Files repeat the same few weeks on every row,
    so results (and errors) are cached by the raw text."""

    def __init__(self, date_format: str, today: date):
        self.date_format = date_format
        self.latest = monday_of(today) + timedelta(days=7)  # the Monday of next week
        self._cache: dict[str, date | str] = {}

    def parse(self, raw: str) -> date:
        cached = self._cache.get(raw)
        if cached is None:
            try:
                cached = self._parse(raw.strip())
            except ValueError as exc:
                cached = str(exc)
            self._cache[raw] = cached
        if isinstance(cached, str):
            raise ValueError(cached)
        return cached

    def _parse(self, text: str) -> date:
        if not text:
            raise ValueError("the period is empty")
        day = self._calendar_day(text)
        monday = monday_of(day)
        if day < EARLIEST_PERIOD:
            raise ValueError(f"“{text}” is before 2000; check the year")
        if monday > self.latest:
            raise ValueError(f"“{text}” is in the future (latest allowed: the week of {self.latest.isoformat()})")
        return monday

    def _calendar_day(self, text: str) -> date:
        head = re.split(r"[T ]", text, maxsplit=1)[0]  # "2026-04-06 00:00:00" → its date
        if match := _WEEK.match(head):
            year, week = int(match[1]), int(match[2])
            try:
                return date.fromisocalendar(year, week, 1)
            except ValueError:
                raise ValueError(f"“{text}”: {year} has no week {week}") from None
        if match := _ISO.match(head):
            return _make_date(int(match[1]), int(match[2]), int(match[3]), text, "YYYY-MM-DD")
        if match := _SLASHED.match(head):
            first, second, year = int(match[1]), int(match[2]), int(match[3])
            date_format = self.date_format
            if date_format == "auto":
                if first > 12 and second <= 12:
                    date_format = "dmy"
                elif second > 12 and first <= 12:
                    date_format = "mdy"
                elif first == second:
                    date_format = "dmy"
                else:
                    raise ValueError(
                        f"“{text}” is ambiguous (day/month or month/day?): set the source's date format "
                        "to DD/MM/YYYY or MM/DD/YYYY, or use YYYY-MM-DD"
                    )
            if date_format == "mdy":
                return _make_date(year, first, second, text, _FORMAT_NAMES["mdy"])
            return _make_date(year, second, first, text, _FORMAT_NAMES["dmy"])
        raise ValueError(
            f"“{text}” is not a date: use YYYY-MM-DD, DD/MM/YYYY or MM/DD/YYYY (as set on the source) "
            "or a week like 2026-W14"
        )


def _make_date(year: int, month: int, day: int, text: str, pattern: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"“{text}” is not a valid date read as {pattern}") from None


# --- values -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricRule:
    """What the value parser needs to know about a metric (no ORM access on the hot path)."""

    id: int
    key: str
    label: str
    unit: str
    min_value: float | None
    max_value: float | None


ValueParser = Callable[[str], float]


def make_value_parser(rule: MetricRule, *, decimal_comma: bool) -> ValueParser:
    """A function reading one cell of `rule`'s metric into a float, or raising ValueError with a
    reason a person understands."""
    low, high = rule.min_value, rule.max_value
    is_csat = rule.key == CSAT_KEY
    allows_percent = rule.unit in ("percent", "score")
    is_duration = rule.unit == "seconds"

    def out_of_range(value: float, shown: str) -> str | None:
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = (
                f"between {_fmt(low)} and {_fmt(high)}" if low is not None and high is not None
                else f"at least {_fmt(low)}" if low is not None else f"at most {_fmt(high)}"
            )
            return f"{rule.label} must be {bounds} (got {shown})"
        return None

    def parse(raw: str) -> float:
        text = raw.strip()
        if not text:
            raise ValueError("the value is empty")
        percent = text.endswith("%")
        if percent:
            if not allows_percent:
                raise ValueError(f"“{text}”: {rule.label} is not a percentage")
            text = text[:-1].strip()
        if is_duration and ":" in text:
            value = _duration(text)
        else:
            if "," in text:
                if not decimal_comma:
                    raise ValueError(
                        f"“{raw.strip()}” is not a number: use a dot for decimals in comma-separated files"
                    )
                text = text.replace(".", "").replace(",", ".") if "." in text else text.replace(",", ".")
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"“{raw.strip()}” is not a number") from None
            if math.isnan(value) or math.isinf(value):
                raise ValueError(f"“{raw.strip()}” is not a number")
        if is_csat and not percent:
            if 1 <= value <= 5:
                value = (value - 1) * 25.0  # a 1–5 average rating, placed on the 0–100 scale
            elif value < 1:
                raise ValueError(
                    f"CSAT “{raw.strip()}” is neither a 1–5 rating nor a percentage (write 92% for a percentage)"
                )
        problem = out_of_range(value, raw.strip())
        if problem:
            raise ValueError(problem)
        return value

    return parse


def _duration(text: str) -> float:
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise ValueError(f"“{text}” is not a duration: use seconds, mm:ss or hh:mm:ss")
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        raise ValueError(f"“{text}” is not a duration: use seconds, mm:ss or hh:mm:ss") from None
    if any(n < 0 for n in numbers) or any(n >= 60 for n in numbers[1:]):
        raise ValueError(f"“{text}” is not a valid duration (minutes and seconds go up to 59)")
    seconds = 0.0
    for number in numbers:
        seconds = seconds * 60 + number
    return seconds


def _fmt(number: float | None) -> str:
    if number is None:
        return ""
    return str(int(number)) if float(number).is_integer() else str(number)
