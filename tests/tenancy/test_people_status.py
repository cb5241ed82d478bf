"""The people-status registry: pages that list reps ask every registered provider about a list of
people at once, and get one column per provider, in order, with only the people they asked about."""

import pytest

from coachhub.tenancy import people_status
from coachhub.tenancy.models import Role
from coachhub.tenancy.people_status import PersonStatus, people_statuses, register_people_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def clean_registry():
    saved = dict(people_status._PROVIDERS)
    people_status._PROVIDERS.clear()
    yield
    people_status._PROVIDERS.clear()
    people_status._PROVIDERS.update(saved)


def test_each_provider_answers_once_for_everyone_and_only_about_who_was_asked(world_a, clean_registry):
    calls = []

    def certified(*, viewer, membership_ids):
        calls.append(list(membership_ids))
        # A sloppy provider answering about someone nobody asked for: the registry drops it.
        return {membership_ids[0]: PersonStatus(state="yes", text="Certified", url="/x/"), 999999: PersonStatus(
            state="yes", text="Certified")}

    def on_leave(*, viewer, membership_ids):
        return {mid: PersonStatus(state="away", text="On leave") for mid in membership_ids}

    register_people_status(key="leave", label="Leave", provider=on_leave, order=20)
    register_people_status(key="certified", label="Certification", provider=certified, order=10)
    rep, rep2 = world_a.member(Role.REP), world_a.rep2
    statuses = people_statuses(viewer=world_a.member(Role.MANAGER), memberships=[rep, rep2.id])
    assert [column.label for column in statuses.columns] == ["Certification", "Leave"]
    assert calls == [[rep.id, rep2.id]]
    assert [(c.key, s.text if s else None) for c, s in statuses.row(rep2.id)] == [("certified", None),
                                                                                  ("leave", "On leave")]
    assert set(statuses.columns[0].by_person) == {rep.id}
    assert statuses.columns[1].tally == [("On leave", 2)]
    # Nobody to ask about: providers aren't called, the columns (headings) are still there.
    assert [c.by_person for c in people_statuses(viewer=world_a.member(Role.MANAGER), memberships=[]).columns] == [{}, {}]
    assert calls == [[rep.id, rep2.id]]


def test_with_no_provider_there_are_no_columns(world_a, clean_registry):
    statuses = people_statuses(viewer=world_a.member(Role.MANAGER), memberships=[world_a.member(Role.REP)])
    assert not statuses and statuses.row(world_a.member(Role.REP).id) == []
