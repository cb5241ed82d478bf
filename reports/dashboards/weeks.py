"""Weeks and months as the dashboards count them: a week starts on Monday (like KPI periods) and a
session belongs to the week it ended in, in the deployment's time zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from coachhub.core.errors import ApplicationError


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_of(moment: datetime) -> date:
    return monday_of(timezone.localtime(moment).date())


def week_bounds(week_start: date) -> tuple[datetime, datetime]:
    """[start, end) of a week as aware datetimes."""
    start = timezone.make_aware(datetime.combine(week_start, time.min))
    return start, start + timedelta(days=7)


def current_week() -> date:
    return monday_of(timezone.localdate())


def last_full_week() -> date:
    return current_week() - timedelta(weeks=1)


def parse_week(raw: str | None, *, default: date) -> date:
    """?week=YYYY-MM-DD, any day of the week (none: `default`). A value that isn't such a date, or a
    date no dashboard can show (pages count weeks back and forth from it, which overflows near year 1
    or 9999), is refused with InvalidWeek: a 400 naming the problem, never a silent other week."""
    if not raw:
        return default
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidWeek(f"“{raw[:40]}” isn't a date: give the week as YYYY-MM-DD, e.g. {default.isoformat()}.") from None
    if not WEEKS_SHOWN_FROM <= day <= WEEKS_SHOWN_UNTIL:
        raise InvalidWeek(
            f"{day.isoformat()} is outside the weeks CoachHub shows "
            f"({WEEKS_SHOWN_FROM.isoformat()} to {WEEKS_SHOWN_UNTIL.isoformat()})."
        )
    return monday_of(day)


class InvalidWeek(ApplicationError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="invalid_week", fields={"week": [message]})


WEEKS_SHOWN_FROM, WEEKS_SHOWN_UNTIL = date(1970, 1, 1), date(9000, 12, 31)


def parse_month(raw: str | None, *, default: date) -> date:
    """?month=YYYY-MM → the first day of that month."""
    try:
        year, month = (raw or "").split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        return default


def month_add(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_weeks(first: date) -> list[date]:
    """The weeks counted in a month: those whose Monday falls inside it."""
    day = first + timedelta(days=(7 - first.weekday()) % 7)
    end = month_add(first, 1)
    weeks = []
    while day < end:
        weeks.append(day)
        day += timedelta(weeks=1)
    return weeks


def month_bounds(first: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(first, time.min))
    return start, timezone.make_aware(datetime.combine(month_add(first, 1), time.min))
