"""Pins how many queries a rep turn costs, so the runner's hot path can't quietly grow.

A turn through the page is: the login session and its user, the tenant and the rep's membership
(middleware). With the embedded customer, whose reply is computed in-process, one transaction then
locks the session, reads the transcript, inserts the rep's line and the reply in one INSERT and
updates the session. With the LLM the rep's line is saved first (its own transaction, which also
reserves the reply's tokens: the tenant's AI settings come with the session's lock) and the
streamed reply is stored in a second one, so the wait on the model holds no lock. Inside a test's
wrapping transaction each `atomic` block shows up as a SAVEPOINT / RELEASE pair.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.sessions.helpers import publish_library_scenario, read_events, use_llm_customer

pytestmark = pytest.mark.django_db

LINE = "I'm sorry this happened, I can hear how frustrating it is."


def _start(client, version) -> int:
    response = client.post("/t/acme/sessions/start/", {"version_id": version.id})
    assert response.status_code == 302, response.content
    return int(response["Location"].rstrip("/").split("/")[-1])


def _turn_queries(client, session_id: int) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        events = read_events(client.post(f"/t/acme/sessions/{session_id}/turns/", {"text": LINE}))
    assert [kind for kind, _ in events][-1] == "done", events
    return [query["sql"] for query in captured.captured_queries]


def _statements(queries: list[str]) -> list[str]:
    return [q for q in queries if not q.upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT"))]


def test_an_embedded_turn_costs_seven_statements_in_one_transaction(world_a, client_for):
    version = publish_library_scenario(world_a.tenant)
    rep = client_for(world_a.member("rep"))
    session_id = _start(rep, version)
    _turn_queries(rep, session_id)  # the first turn of a session is no different, but warm up anyway
    queries = _turn_queries(rep, session_id)
    statements = _statements(queries)
    # 3 to authenticate and resolve tenant and membership (one join), then lock the session, read
    # the transcript, insert both turns, update the session.
    assert len(statements) == 7, "\n".join(statements)
    assert len(queries) - len(statements) == 2, "one transaction, a savepoint pair under the test"
    (lock,) = [q for q in statements if 'FROM "roleplay_practicesession"' in q]
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in lock
    (insert,) = [q for q in statements if 'INSERT INTO "roleplay_turn"' in q]
    assert "'rep'" in insert and "'customer'" in insert, "the rep's line and the reply go in one INSERT"


def test_an_llm_turn_adds_only_the_budget_reservation(world_a, client_for, openai_server):
    use_llm_customer(world_a, openai_server)
    version = publish_library_scenario(world_a.tenant)
    rep = client_for(world_a.member("rep"))
    session_id = _start(rep, version)
    _turn_queries(rep, session_id)
    statements = _statements(_turn_queries(rep, session_id))
    # 3 for the middleware; saving the line: lock the session (reading the AI settings for the
    # budget and the endpoint in the same statement), read the transcript, reserve tokens on the
    # month's ledger row, insert the line, touch the session; storing the reply: settle the
    # reservation, lock the session, check the reply isn't stored yet, insert it, update the session.
    assert len(statements) == 13, "\n".join(statements)
    line_lock, reply_lock = [q for q in statements if 'FROM "roleplay_practicesession"' in q]
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in line_lock and "FOR UPDATE" in reply_lock
    own_reads = [q for q in statements if q.split("; ", 1)[-1].startswith('SELECT "tenancy_aisettings"')]
    assert not own_reads, "the AI settings cost no query of their own"
    assert '"tenancy_aisettings"' in line_lock
    # The reply's transaction doesn't need the scenario spec: it must not drag the version row along.
    assert "scenarios_scenarioversion" in line_lock and "scenarios_scenarioversion" not in reply_lock
