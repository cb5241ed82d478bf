"""Registry of personal data, so retention and erasure never import the apps that hold it.

Each app registers, from `<app>/personal_data.py` (imported in its AppConfig.ready()), the tables
that hold people's data and how those age out under the tenant's retention windows and how one
person's rows are erased. The core runs the registrations: erasure in dependency order (rows that
point at another registration's rows go first, as foreign keys require), retention in batches of
practice sessions, since both windows are counted from the end of each session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db.models import Model, QuerySet

from coachhub.tenancy.models import Membership, Tenant, User

# Rows handled per transaction: a large tenant's first cleanup commits as it goes, so a time limit
# or a crash loses at most one batch and the next run carries on where this one stopped.
BATCH_SIZE = 500


@dataclass
class Erasure:
    """One person's erasure from one tenant, handed to each registration in turn inside one
    transaction. Registrations add what they deleted to `counts` (the audit entry and the command
    print them in that order) and leave work that must wait for the commit (deleting files) to
    `after_commit`."""

    tenant: Tenant
    member: Membership
    user: User
    counts: dict[str, int] = field(default_factory=dict)
    callbacks: list[Callable[[], None]] = field(default_factory=list)

    def rows(self, model: type[Model]) -> QuerySet:
        return model.objects.for_tenant(self.tenant)

    def delete(self, kind: str, queryset: QuerySet) -> int:
        """Deletes the rows and records how many went under `kind`."""
        self.counts[kind] = queryset.delete()[0]
        return self.counts[kind]

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.callbacks.append(callback)


@dataclass(frozen=True)
class TranscriptWords:
    """Where a registration keeps words from the conversation, which the transcript window removes.

    `pending(tenant=, cutoff=, limit=)` gives the ids of up to `limit` sessions (lowest first) that
    ended before `cutoff` and still hold such words; `remove(tenant=, session_ids=)` removes the
    words of those sessions and returns how many rows changed, counted under `counter`. The sessions
    pending in a registration with `is_transcript` are the transcripts a run reports removed."""

    pending: Callable[..., set[int]]
    remove: Callable[..., int]
    counter: str
    is_transcript: bool = False


@dataclass(frozen=True)
class PersonalData:
    name: str  # the app label; what `depends_on` names
    # Every table of the app that holds people's data, including those that go with the membership
    # (its delete cascades to them) and those kept on purpose: a test checks none is forgotten.
    tables: tuple[type[Model], ...]
    # Where its counts appear on the erasure page, and its turn among equals when erasing.
    order: int = 50
    # Registrations whose rows this one's rows point at: this one's rows are erased first.
    depends_on: tuple[str, ...] = ()
    # erase(erasure): deletes this person's rows in erasure.tenant and records the counts.
    erase: Callable[[Erasure], None] | None = None
    # (model, field) pairs naming a person on work that stays with the tenant: erasure sets them to NULL.
    user_references: tuple[tuple[type[Model], str], ...] = ()
    # summarize(tenant=, membership=) -> {kind: rows}: what erasing this person would remove.
    summarize: Callable[..., dict[str, int]] | None = None
    # delete_recordings(tenant=, cutoff=) -> recordings deleted, of sessions that ended before cutoff.
    delete_recordings: Callable[..., int] | None = None
    transcript_words: TranscriptWords | None = None


_REGISTRY: dict[str, PersonalData] = {}


def register_personal_data(name: str, **kwargs) -> PersonalData:
    """Registers (or replaces) the personal data of app `name`; see PersonalData for the fields."""
    registration = PersonalData(name=name, **kwargs)
    _REGISTRY[name] = registration
    return registration


def unregister_personal_data(name: str) -> None:
    _REGISTRY.pop(name, None)


def personal_data() -> list[PersonalData]:
    """The registrations in display order."""
    return sorted(_REGISTRY.values(), key=lambda item: (item.order, item.name))


def erasure_order() -> list[PersonalData]:
    """The registrations in the order their rows are deleted: a registration only after every one
    that depends on it (points at its rows); among those free to go, the lowest `order` first."""
    pending = {item.name: item for item in personal_data()}
    # A dependency on an app that isn't installed orders nothing.
    dependents = {name: {other.name for other in pending.values() if name in other.depends_on} for name in pending}
    ordered: list[PersonalData] = []
    while pending:
        free = [item for item in pending.values() if not dependents[item.name] & pending.keys()]
        if not free:
            raise ValueError(f"Personal data registrations depend on each other in a circle: {sorted(pending)}")
        chosen = min(free, key=lambda item: (item.order, item.name))
        ordered.append(chosen)
        del pending[chosen.name]
    return ordered


def registered_tables() -> Iterable[type[Model]]:
    for item in personal_data():
        yield from item.tables
