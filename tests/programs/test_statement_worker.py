"""xAPI delivery under a real LRS outage, through a real `celery worker` on Redis and PostgreSQL:
the worker's retries (with backoff) deliver everything once the LRS is back, in order, once each."""

from __future__ import annotations

import pytest

from coachhub.tenancy.models import Role
from programs import services, statements
from programs.models import StatementOutbox
from tests.conftest import build_world
from tests.programs.helpers import passing_session, two_scenarios
from tests.support.celery_worker import Workers
from tests.support.lrs_server import LoopbackLRS

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_statements_recorded_during_an_outage_arrive_in_order_once_each_when_the_lrs_is_back(workers: Workers):
    lrs = LoopbackLRS().start()
    try:
        world = build_world("Record Co", "record-co")
        # The session is practised and scored before the LRS is connected (scoring announces
        # "scored" itself); the hooks below then record its three events during the outage.
        session, _ = passing_session(world.member(Role.REP), two_scenarios(world.tenant)[0])
        statements.lrs_settings_update(tenant=world.tenant, actor=world.member(Role.TENANT_ADMIN),
                                       endpoint=lrs.endpoint, username=lrs.key, secret=lrs.secret)
        lrs.failing_with = 503
        workers.start()
        for hook in (services.on_session_started, services.on_session_ended, services.on_session_scored):
            hook(tenant=world.tenant, session=session)  # committed: each queues its delivery job
        workers.wait_for("the worker to meet the outage", lambda: lrs.requests >= 1)
        pending = list(StatementOutbox.objects.for_tenant(world.tenant).order_by("id"))
        assert [row.verb for row in pending] == ["initialized", "completed", "scored"]
        assert lrs.stored == []

        lrs.failing_with = None  # the LRS is back: the retries (or the sweeper) finish the job
        workers.wait_for("every statement at the LRS", lambda: len(lrs.stored) >= 3, timeout_s=60)
        assert lrs.ids() == [str(row.statement_id) for row in pending]
        workers.wait_for("the outbox to be empty", lambda: not StatementOutbox.objects.for_tenant(world.tenant)
                         .filter(status="pending").exists())
        assert len(lrs.stored) == 3
    finally:
        lrs.stop()
