"""Per-tenant LLM token budgets: reserved atomically before each call, settled after."""

import threading

import pytest
from django.db import close_old_connections, connection

from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.budget import BudgetExceeded, budget_reserve, budget_settle, budget_status
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AISettings
from sessions.models import Turn
from tests.conftest import build_world, require_postgresql
from tests.sessions.helpers import publish_library_scenario, read_events


def _budget(world, monthly=None, per_minute=None, base_url="http://127.0.0.1:9/v1"):
    tenancy_services.ai_settings_update(
        tenant=world.tenant, actor=world.member("tenant_admin").user, customer_engine="llm", scorer_engine="embedded",
        llm_base_url=base_url, llm_model="m", monthly_token_budget=monthly, per_minute_token_budget=per_minute,
    )


@pytest.mark.django_db
def test_exhausted_budget_refuses_the_turn_with_nothing_saved(world_a, client_for, openai_server):
    _budget(world_a, monthly=3000, base_url=openai_server.base_url)
    version = publish_library_scenario(world_a.tenant)
    rep = client_for(world_a.member("rep"))
    response = rep.post("/t/acme/sessions/start/", {"version_id": version.id})
    session_id = int(response["Location"].rstrip("/").split("/")[-1])
    first = read_events(rep.post(f"/t/acme/sessions/{session_id}/turns/", {"text": "Hello, I can help."}))
    assert first[-1][0] == "done"
    with tenant_context(world_a.tenant):
        used = budget_status(tenant=world_a.tenant).used
    assert used > 0, "the call's real usage is recorded"
    refused = rep.post(f"/t/acme/sessions/{session_id}/turns/", {"text": "Let me check the order."})
    assert refused.status_code == 429
    assert "this month's AI budget" in read_events(refused)[0][1]["message"]
    with tenant_context(world_a.tenant):
        assert Turn.objects.filter(session_id=session_id).count() == 3
        assert budget_status(tenant=world_a.tenant).reserved == 0
    # The admin sees the month's use and can lift the cap.
    page = client_for(world_a.member("tenant_admin")).get("/t/acme/settings/ai/")
    assert f"<strong>{used}</strong> used".encode() in page.content


@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_never_pass_the_budget():
    require_postgresql("concurrent reservations rely on PostgreSQL's row locks")
    world = build_world("Budget Co", "budget-co")
    _budget(world, monthly=10_000)
    granted, refused = [], []

    def call():
        try:
            with tenant_context(world.tenant):
                granted.append(budget_reserve(tenant=world.tenant, estimate=700))
        except BudgetExceeded:
            refused.append(1)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 14 and len(refused) == 26  # 14 × 700 = 9,800 ≤ 10,000 < 15 × 700
    with tenant_context(world.tenant):
        for reservation in granted:
            budget_settle(tenant=world.tenant, reservation=reservation, used=800)  # each overran by 100
        ledger = budget_status(tenant=world.tenant)
        settings_row = AISettings.objects.get()
    overspend = ledger.used - settings_row.monthly_token_budget
    assert ledger.reserved == 0 and overspend <= 14 * 100


@pytest.mark.django_db
def test_per_minute_budget_caps_bursts(world_a):
    from django.core.cache import cache

    cache.clear()
    _budget(world_a, per_minute=2000)
    with tenant_context(world_a.tenant):
        budget_reserve(tenant=world_a.tenant, estimate=1500)
        with pytest.raises(BudgetExceeded, match="per-minute limit"):
            budget_reserve(tenant=world_a.tenant, estimate=1500)


@pytest.mark.django_db
def test_a_call_the_monthly_budget_refuses_takes_none_of_the_minute(world_a):
    from django.core.cache import cache

    cache.clear()
    _budget(world_a, monthly=1000, per_minute=3000)
    with tenant_context(world_a.tenant):
        with pytest.raises(BudgetExceeded, match="this month's AI budget"):
            budget_reserve(tenant=world_a.tenant, estimate=1500)
    _budget(world_a, monthly=None, per_minute=3000)  # the admin raises the month
    with tenant_context(world_a.tenant):
        budget_reserve(tenant=world_a.tenant, estimate=1500)
        budget_reserve(tenant=world_a.tenant, estimate=1500)  # the refused call didn't count


@pytest.mark.django_db(transaction=True)
def test_concurrent_llm_turns_stop_at_the_budget_with_every_session_intact(openai_server):
    """30 reps send a turn at the same moment against the loopback LLM: the month's use never passes
    the budget by more than one request, refused reps get a clear message, and no turn is lost."""
    require_postgresql("concurrent reservations rely on PostgreSQL's row locks")
    from coachhub.core.errors import ApplicationError
    from sessions import services as session_services
    from tests.factories import MembershipFactory, UserFactory

    world = build_world("Spend Co", "spend-co")
    budget = 20_000
    _budget(world, monthly=budget, base_url=openai_server.base_url)
    version = publish_library_scenario(world.tenant)
    sessions = []
    with tenant_context(world.tenant):
        for n in range(30):
            rep = MembershipFactory(tenant=world.tenant, role="rep", user=UserFactory(email=f"r{n}@spend.example"))
            sessions.append((rep, session_services.session_start(tenant=world.tenant, rep=rep, version=version)))
    answered, refused, estimates = [], [], []
    barrier = threading.Barrier(len(sessions))

    def turn(rep, session):
        try:
            barrier.wait()
            with tenant_context(world.tenant):
                _, context = session_services.session_rep_turn_record(
                    tenant=world.tenant, rep=rep, session_id=session.id, text="I'm sorry, let me fix this today."
                )
                estimates.append(context.reservation.tokens)
                session_services.session_reply(tenant=world.tenant, rep=rep, session_id=session.id, context=context)
                answered.append(session.id)
        except ApplicationError as exc:
            refused.append((session.id, exc.code, exc.message))
        finally:
            connection.close()

    threads = [threading.Thread(target=turn, args=pair) for pair in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with tenant_context(world.tenant):
        ledger = budget_status(tenant=world.tenant)
        turns = {s.id: list(Turn.objects.filter(session=s).order_by("index").values_list("speaker", flat=True))
                 for _, s in sessions}
    overspend = max(0, ledger.used - budget)
    print(f"\nbudget {budget}: {len(answered)} answered, {len(refused)} refused, used {ledger.used}, "
          f"overspend {overspend}, largest estimate {max(estimates)}")
    assert answered and refused, "the budget allowed some turns and refused the rest"
    assert ledger.reserved == 0 and overspend <= max(estimates)
    assert {code for _, code, _ in refused} == {"ai_budget_exhausted"}
    assert all("your session is saved" in message for _, _, message in refused)
    for session_id, speakers in turns.items():  # answered: opening, rep, customer; refused: just the opening
        assert speakers == (["customer", "rep", "customer"] if session_id in answered else ["customer"]), speakers
