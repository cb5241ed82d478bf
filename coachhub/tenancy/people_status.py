"""Registry of people-status providers: an app that knows something about where each rep stands
(programs: "ready for live") registers a provider, and pages that list reps (the scorecard,
insights) ask the registry for every provider's answer without importing the app that gives it.

A provider answers for a whole list of memberships at once, in a fixed number of queries, so a page
of fifty reps costs what a page of two does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .models import Membership


@dataclass(frozen=True)
class PersonStatus:
    """One provider's answer for one person: a machine state, the words shown (never colour alone),
    a line of detail, and where the evidence is (a URL the viewer may open), if anywhere."""

    state: str
    text: str
    detail: str = ""
    url: str = ""


# provider(viewer=, memberships=) -> {membership id: PersonStatus}; people it has nothing on are left out.
StatusProvider = Callable[..., dict[int, PersonStatus]]


@dataclass(frozen=True)
class _Registered:
    key: str
    label: str
    provider: StatusProvider
    order: int


_PROVIDERS: dict[str, _Registered] = {}


def register_people_status(*, key: str, label: str, provider: StatusProvider, order: int = 50) -> None:
    """Register (or replace, by key) a provider; `label` is its column heading ("Readiness")."""
    _PROVIDERS[key] = _Registered(key=key, label=label, provider=provider, order=order)


def unregister_people_status(key: str) -> None:
    _PROVIDERS.pop(key, None)


@dataclass
class StatusColumn:
    key: str
    label: str
    by_person: dict[int, PersonStatus] = field(default_factory=dict)

    def of(self, membership_id: int) -> PersonStatus | None:
        return self.by_person.get(membership_id)

    @property
    def tally(self) -> list[tuple[str, int]]:
        """(text, how many people) per answer given, most common first: a summary line."""
        counts: dict[str, int] = {}
        for status in self.by_person.values():
            counts[status.text] = counts.get(status.text, 0) + 1
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


@dataclass
class PeopleStatuses:
    """Every provider's column for one list of people."""

    columns: list[StatusColumn]

    def row(self, membership_id: int) -> list[tuple[StatusColumn, PersonStatus | None]]:
        """(column, status or None) per column, in column order: one table row's cells."""
        return [(column, column.of(membership_id)) for column in self.columns]

    def __bool__(self) -> bool:
        return bool(self.columns)


def people_statuses(*, viewer: Membership, memberships: Sequence[Membership | int]) -> PeopleStatuses:
    """Ask every provider about these people (memberships of the viewer's tenant, or their ids).
    A provider only ever answers inside `viewer.tenant`: an id from another tenant is simply unknown
    to it."""
    ids = [m if isinstance(m, int) else m.id for m in memberships]
    asked = set(ids)
    columns = []
    for registered in sorted(_PROVIDERS.values(), key=lambda r: (r.order, r.key)):
        answers = registered.provider(viewer=viewer, membership_ids=ids) if ids else {}
        columns.append(StatusColumn(key=registered.key, label=registered.label,
                                    by_person={mid: status for mid, status in answers.items() if mid in asked}))
    return PeopleStatuses(columns=columns)
