"""The personal-data registry: every app's table that points at a person is registered, erasure runs
the registrations in foreign-key order, and a new app's data is erased and counted through its own
registration alone."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import models

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AuditEvent, Membership, Role
from coachhub.tenancy.retention import registry
from coachhub.tenancy.retention.selectors import person_data_summary
from coachhub.tenancy.retention.services import person_erase


def test_every_table_that_points_at_a_member_is_registered():
    """A table added later with a foreign key to a membership must be declared by its app (erased, or
    said to go with the membership or to be kept), so nobody forgets it when erasing a person."""
    registered = set(registry.registered_tables())
    pointing = {
        model
        for model in apps.get_models()
        if model._meta.app_label != "tenancy"  # the core's own tables are erased by the core
        for field in model._meta.get_fields()
        if isinstance(field, models.ForeignKey) and field.related_model is Membership
    }
    assert pointing, "no table points at a membership?"
    assert not {model._meta.label for model in pointing - registered}


def test_rows_are_erased_before_the_rows_they_point_at():
    order = [item.name for item in registry.erasure_order()]
    assert set(order) == {"scenarios", "roleplay", "scoring", "reports", "programs", "identity"}
    for item in registry.personal_data():
        for dependency in item.depends_on:
            assert order.index(item.name) < order.index(dependency), (item.name, dependency)
    # Each model a registration erases points only at its own tables or at those erased after it.
    position = {model: order.index(item.name) for item in registry.personal_data() for model in item.tables}
    for model, index in position.items():
        for field in model._meta.get_fields():
            if isinstance(field, models.ForeignKey) and field.related_model in position:
                assert position[field.related_model] >= index, (model._meta.label, field.name)


def test_depending_in_a_circle_is_refused(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", {})
    registry.register_personal_data("first", tables=(), depends_on=("second",))
    registry.register_personal_data("second", tables=(), depends_on=("first",))
    with pytest.raises(ValueError, match="circle"):
        registry.erasure_order()


@pytest.mark.django_db
def test_a_new_apps_registration_alone_is_summarized_erased_and_audited(world_a, monkeypatch,
                                                                         django_capture_on_commit_callbacks):
    """A throwaway app registers its data (here: the person's audit entries as its 'notes') and its
    counts show up on the confirmation page's summary and in the erasure's audit entry."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    seen, committed = [], []

    def summarize(*, tenant, membership):
        return {"notes": 3}

    def erase(erasure):
        seen.append((erasure.tenant, erasure.member.pk, list(erasure.counts)))
        erasure.counts["notes"] = 3
        member_id = erasure.member.pk  # the membership itself is deleted before the commit
        erasure.after_commit(lambda: committed.append(member_id))

    # Its rows point at practice sessions, so they go before them.
    registry.register_personal_data("notes", tables=(), order=25, depends_on=("roleplay",), erase=erase,
                                    summarize=summarize)
    rep = world_a.member(Role.REP)
    with tenant_context(world_a.tenant):
        summary = person_data_summary(tenant=world_a.tenant, membership=rep)
        assert list(summary)[:7] == ["sessions", "turns", "recordings", "scores", "comments", "disputes", "notes"]
        assert summary.notes == 3
        with django_capture_on_commit_callbacks(execute=True):
            counts = person_erase(tenant=world_a.tenant, actor=None, membership=rep, via="command")
        event = AuditEvent.objects.for_tenant(world_a.tenant).get(action="member.erased")

    assert seen == [(world_a.tenant, rep.pk, ["comments", "disputes", "behavior_scores", "scores"])]
    assert committed == [rep.pk]
    assert counts["notes"] == 3 and event.data["counts"]["notes"] == 3
    assert list(counts).index("notes") < list(counts).index("turns")
