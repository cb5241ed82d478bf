"""The help desks a tenant can connect, as a registry: each vendor says which file preset its API
rows are written in, what the admin must type (a subdomain, an agent e-mail) and how to read its
incremental API into those rows. Callers ask `VENDORS`; no caller branches on a vendor's name."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from .http import VendorClient


@dataclass
class PulledRecord:
    """One ticket or conversation in its preset's columns; `closed_at` decides its week (None: none)."""

    external_id: str
    closed_at: datetime | None
    cells: dict[str, str]


@dataclass
class Pulled:
    records: list[PulledRecord] = field(default_factory=list)
    cursor: dict = field(default_factory=dict)  # where the next sync starts; saved only with a commit
    fetched: int = 0  # tickets / conversations the API returned
    ratings: int = 0  # satisfaction ratings read
    # Ratings for tickets this pull didn't return: {external id: {column: value}}, merged into the stored rows.
    rating_updates: dict[str, dict[str, str]] = field(default_factory=dict)
    # The pull stopped at its record limit with more to read; `cursor` resumes right there.
    more: bool = False


class Vendor(Protocol):
    key: str
    label: str
    preset_key: str
    columns: tuple[str, ...]  # the CSV header the rows are written under (the preset's column names)
    needs_subdomain: bool
    needs_login_email: bool
    subdomain_hint: str  # "acme for acme.zendesk.com"
    token_hint: str

    def client(self, *, base: str, token: str, login_email: str) -> VendorClient: ...

    def pull(self, client: VendorClient, *, cursor: dict, start: datetime, limit: int) -> Pulled:
        """Reads from `cursor` (or `start` on a first sync); may stop after about `limit` records with
        `more` set, when its cursor can resume exactly there."""
        ...


VENDORS: dict[str, Vendor] = {}


def register(vendor: Vendor) -> Vendor:
    VENDORS[vendor.key] = vendor
    return vendor


def iso_utc(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def from_epoch(value) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def cell(value) -> str:
    return "" if value is None else str(value)


def hhmmss(seconds: float | None) -> str:
    """Freshdesk writes its “(in hrs)” durations as HH:MM:SS; so do the API rows, to read the same."""
    if seconds is None or seconds < 0:
        return ""
    whole = int(round(seconds))
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _load() -> None:
    from . import freshdesk, intercom, zendesk  # noqa: F401  (each registers itself)


_load()
