"""An LLM turn asks the model before the rep's line is committed (served as in production, ASGI):
the model thinks while the line is written. The rep still sees nothing of a line that wasn't
saved, a refused line asks the model nothing, a line lost with its transaction leaves no tokens
reserved, and the tenant's AI settings are read with every turn (a change takes effect on the
next one, and never reaches another tenant's turns)."""

from __future__ import annotations

import os
import threading
import time
from urllib.parse import urlsplit

import httpx
import psycopg2
import pytest
from django.db import connections

from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.budget import budget_status
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role
from sessions.models import Turn
from tests.conftest import require_postgresql
from tests.sessions.helpers import publish_library_scenario, read_events, use_llm_customer
from tests.support.asgi_server import AsgiServer
from tests.support.openai_server import OpenAIServer, reply
from tests.support.sse import parse_events

SSE = "text/event-stream"
ANSWER = "Right. So what are you going to do about it?"


def _token(world) -> str:
    _, raw = tenancy_services.api_token_create(tenant=world.tenant, user=world.member("rep").user, name="stream")
    return raw


def _speakers(world, session_id: int) -> list[str]:
    with tenant_context(world.tenant):
        return list(Turn.objects.filter(session_id=session_id).order_by("index").values_list("speaker", flat=True))


def _ledger(world):
    with tenant_context(world.tenant):
        return budget_status(tenant=world.tenant)


def _own_connection():
    """A connection of the test's own, as the database's owner (to lock a table, end a backend)."""
    settings_dict = connections["default"].settings_dict
    url = urlsplit(os.environ.get("DATABASE_URL", ""))
    connection = psycopg2.connect(
        host=settings_dict["HOST"] or "127.0.0.1", port=settings_dict["PORT"] or 5432,
        user=url.username or settings_dict["USER"], password=url.password or settings_dict.get("PASSWORD") or None,
        dbname=settings_dict["NAME"],
    )
    return connection


def _wait_for(condition, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {seconds:g} s")
        time.sleep(0.02)


class TurnInThread:
    """POSTs a streamed API turn from a thread, recording each event as it arrives."""

    def __init__(self, http: httpx.Client, session_id: int, text: str) -> None:
        self.events: list[tuple[str, dict]] = []
        self.status: int | None = None
        self._thread = threading.Thread(target=self._run, args=(http, session_id, text), daemon=True)
        self._thread.start()

    def _run(self, http, session_id, text) -> None:
        with http.stream(
            "POST", f"/api/v1/t/acme/sessions/{session_id}/turns/", json={"text": text}, headers={"Accept": SSE}
        ) as response:
            self.status = response.status_code
            for block in response.iter_text():
                self.events.extend(parse_events(block))

    def join(self) -> None:
        self._thread.join(timeout=60)
        assert not self._thread.is_alive(), "the turn never finished"


@pytest.fixture
def served(world_a, openai_server):
    require_postgresql("holding the turn's INSERT with a table lock")
    use_llm_customer(world_a, openai_server)
    version = publish_library_scenario(world_a.tenant)
    with AsgiServer() as server, httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {_token(world_a)}"}, timeout=60
    ) as http:
        session_id = http.post("/api/v1/t/acme/sessions/", json={"version_id": version.id}).json()["id"]
        yield http, session_id


@pytest.mark.django_db(transaction=True)
def test_the_model_is_asked_while_the_reps_line_is_being_written_and_nothing_shows_before_it_is(
    world_a, openai_server, served
):
    http, session_id = served
    openai_server.script(reply(f"{ANSWER}\n[[state frustration=55 end=none]]"))
    held = _own_connection()
    try:
        with held.cursor() as cursor:
            # Writing the rep's line waits on this lock; reading the session and transcript doesn't.
            cursor.execute('LOCK TABLE "roleplay_turn" IN SHARE MODE')
            turn = TurnInThread(http, session_id, "I'm sorry. Let me sort it out now.")
            _wait_for(lambda: openai_server.chat_requests(), "the model was not asked while the line was being written")
            request = openai_server.chat_requests()[-1]
            assert request["messages"][-1]["content"].count("I'm sorry. Let me sort it out now.") == 1
            # The line isn't committed: the rep has been sent nothing at all, not even the headers.
            assert (turn.status, turn.events) == (None, [])
            assert _speakers(world_a, session_id) == ["customer"]
        held.rollback()  # the line is written and committed; the reply streams
    finally:
        held.close()
    turn.join()
    kinds = [kind for kind, _ in turn.events]
    assert turn.status == 200 and kinds[0] == "saved" and kinds[-1] == "done", turn.events
    assert "".join(data["text"] for kind, data in turn.events if kind == "delta") == ANSWER
    assert _speakers(world_a, session_id) == ["customer", "rep", "customer"]
    ledger = _ledger(world_a)
    assert ledger.reserved == 0 and ledger.used > 0, "the reply's tokens settled once, at what it used"
    assert len(openai_server.chat_requests()) == 1, "one call for one reply"


@pytest.mark.django_db(transaction=True)
def test_a_line_lost_with_its_transaction_after_the_model_was_asked_leaves_nothing_behind(
    world_a, openai_server, served
):
    http, session_id = served
    held = _own_connection()
    try:
        with held.cursor() as cursor:
            cursor.execute('LOCK TABLE "roleplay_turn" IN SHARE MODE')
            turn = TurnInThread(http, session_id, "Let me check that for you.")
            _wait_for(lambda: openai_server.chat_requests(), "the model was not asked")
            # The database drops the request's connection while its INSERT waits: the transaction,
            # and the reservation made in it, are gone.
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
                ['%INSERT INTO "roleplay_turn"%'],
            )
            (pid,) = cursor.fetchone()
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        held.rollback()
    finally:
        held.close()
    turn.join()
    assert turn.status == 500 and not [kind for kind, _ in turn.events if kind in ("saved", "delta")], turn.events
    assert _speakers(world_a, session_id) == ["customer"], "no half-stored turn"
    ledger = _ledger(world_a)
    assert (ledger.reserved, ledger.used) == (0, 0), "nothing is held or charged for a line that wasn't saved"
    # Nothing is left in flight: the rep sends the line again and the customer answers it.
    openai_server.script(reply(f"{ANSWER}\n[[state frustration=55 end=none]]"))
    again = TurnInThread(http, session_id, "Let me check that for you.")
    again.join()
    assert again.status == 200 and again.events[-1][0] == "done", again.events
    assert _speakers(world_a, session_id) == ["customer", "rep", "customer"]
    assert _ledger(world_a).reserved == 0


@pytest.mark.django_db(transaction=True)
def test_a_line_refused_for_the_budget_asks_the_model_nothing(world_a, openai_server, served):
    http, session_id = served
    tenancy_services.ai_settings_update(
        tenant=world_a.tenant, actor=world_a.member(Role.TENANT_ADMIN).user, customer_engine="llm",
        scorer_engine="embedded", llm_base_url=openai_server.base_url, llm_model="coachhub-test-model",
        monthly_token_budget=10,
    )
    turn = TurnInThread(http, session_id, "I'm sorry. Let me sort it out now.")
    turn.join()
    assert turn.status == 429 and turn.events[0][1]["code"] == "ai_budget_exhausted", turn.events
    assert openai_server.chat_requests() == [], "a refused line never reaches the model"
    assert _speakers(world_a, session_id) == ["customer"]


@pytest.mark.django_db
def test_a_changed_ai_setting_takes_effect_on_the_next_turn_and_never_on_another_tenants(
    world_a, world_b, client_for, openai_server
):
    """The AI settings come with each turn's session lock: nothing in the process holds them."""
    other = OpenAIServer().start()
    try:
        use_llm_customer(world_a, openai_server)
        use_llm_customer(world_b, other)
        rep_a, rep_b = client_for(world_a.member("rep")), client_for(world_b.member("rep"))
        session_a = _start(rep_a, "acme", publish_library_scenario(world_a.tenant))
        session_b = _start(rep_b, "bolt", publish_library_scenario(world_b.tenant))

        assert _say(rep_a, "acme", session_a) == "done" and _say(rep_b, "bolt", session_b) == "done"
        assert [r["model"] for r in openai_server.chat_requests()] == ["coachhub-test-model"]
        assert [r["model"] for r in other.chat_requests()] == ["coachhub-test-model"]

        # Acme's admin moves Acme to the other endpoint and model; Bolt's turns are not affected.
        tenancy_services.ai_settings_update(
            tenant=world_a.tenant, actor=world_a.member(Role.TENANT_ADMIN).user, customer_engine="llm",
            scorer_engine="embedded", llm_base_url=other.base_url, llm_model="acme-new-model",
        )
        assert _say(rep_a, "acme", session_a) == "done"
        assert _say(rep_b, "bolt", session_b) == "done"
        assert [r["model"] for r in other.chat_requests()] == ["coachhub-test-model", "acme-new-model", "coachhub-test-model"]
        assert len(openai_server.chat_requests()) == 1, "Acme's next turn went to its new endpoint"

        # A budget Acme's admin sets refuses Acme's next line at once; Bolt's lines still go through.
        tenancy_services.ai_settings_update(
            tenant=world_a.tenant, actor=world_a.member(Role.TENANT_ADMIN).user, customer_engine="llm",
            scorer_engine="embedded", llm_base_url=other.base_url, llm_model="acme-new-model",
            monthly_token_budget=10,
        )
        assert _say(rep_a, "acme", session_a) == "ai_budget_exhausted"
        assert _say(rep_b, "bolt", session_b) == "done"
    finally:
        other.stop()


def _start(client, slug: str, version) -> int:
    response = client.post(f"/t/{slug}/sessions/start/", {"version_id": version.id})
    assert response.status_code == 302, response.content
    return int(response["Location"].rstrip("/").split("/")[-1])


def _say(client, slug: str, session_id: int) -> str:
    """The turn's last event: "done", or the code of the error that refused it."""
    events = read_events(client.post(f"/t/{slug}/sessions/{session_id}/turns/", {"text": "I'm sorry, let me help."}))
    kind, data = events[-1]
    return kind if kind == "done" else data["code"]
