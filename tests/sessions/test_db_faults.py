"""PostgreSQL dropping a request's connection mid-request: a rep's API turn is waiting on the LLM
customer when another connection terminates the request's backend (pg_terminate_backend).

The rep gets an error in the one error shape, never a half-stored exchange; their line is stored
exactly once, the next request on the same server thread succeeds on a fresh connection, and the
reply can be asked for again. PostgreSQL only (SQLite has no backends to terminate).

Requests go through Django's real WSGI handler in this thread, as a sync WSGI server calls it, so
Django's request signals run (`close_old_connections`) — the test client mutes them — and the
connection is persistent (CONN_MAX_AGE), as in a deployment that sets DATABASE_CONN_MAX_AGE.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg2
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.test import RequestFactory

from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role, TokenLedger
from sessions.models import PracticeSession, Turn
from tests.conftest import World, build_world, require_postgresql
from tests.sessions.helpers import publish_library_scenario
from tests.support.openai_server import CANNED_CUSTOMER_LINE, OpenAIServer, canned_customer_reply, reply

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def postgres_only():
    require_postgresql("dropping a PostgreSQL backend")


@pytest.fixture
def persistent_connection(postgres_only) -> Iterator[None]:
    """This thread's connection lives across requests, like DATABASE_CONN_MAX_AGE=600 in production."""
    db = connections["default"]
    saved = db.settings_dict["CONN_MAX_AGE"]
    db.close()
    db.settings_dict["CONN_MAX_AGE"] = 600
    try:
        yield
    finally:
        db.close()
        db.settings_dict["CONN_MAX_AGE"] = saved


def _admin_dsn() -> dict:
    """A connection of our own, as the database's owner/superuser (pg_terminate_backend needs it)."""
    settings_dict = connections["default"].settings_dict
    url = urlsplit(os.environ.get("DATABASE_URL", ""))
    return {
        "host": settings_dict["HOST"] or "127.0.0.1",
        "port": settings_dict["PORT"] or 5432,
        "user": url.username or settings_dict["USER"],
        "password": url.password or settings_dict.get("PASSWORD") or None,
        "dbname": settings_dict["NAME"],
    }


def _backend_pid() -> int:
    db = connections["default"]
    db.ensure_connection()
    return db.connection.get_backend_pid()


class WsgiCaller:
    """Calls the project's WSGI application in this thread with an API token, the way a sync WSGI
    server does: request_started/request_finished fire, so Django checks its connection per request."""

    def __init__(self, token: str):
        self.handler = WSGIHandler()
        self.factory = RequestFactory(HTTP_AUTHORIZATION=f"Bearer {token}")

    def _call(self, environ) -> tuple[int, dict]:
        answered: dict[str, int] = {}

        def start_response(status, headers, exc_info=None):
            answered["status"] = int(status.split()[0])

        result = self.handler(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            result.close()  # fires request_finished, as a WSGI server does
        return answered["status"], json.loads(body or b"null")

    def post(self, path: str, data: dict | None = None) -> tuple[int, dict]:
        return self._call(self.factory.post(path, data or {}, content_type="application/json").environ)

    def get(self, path: str) -> tuple[int, dict]:
        return self._call(self.factory.get(path).environ)


def _transcript(world, session_id: int) -> list[tuple[int, str, str]]:
    with tenant_context(world.tenant):
        return list(
            Turn.objects.for_tenant(world.tenant).filter(session_id=session_id).order_by("index")
            .values_list("index", "speaker", "text")
        )


def _reserved_tokens(world) -> int:
    with tenant_context(world.tenant):
        return sum(TokenLedger.objects.for_tenant(world.tenant).values_list("reserved", flat=True))


@dataclass
class DroppedTurn:
    world: World
    api: WsgiCaller
    base: str
    session_id: int
    line: str
    request_pid: int
    before: list
    status: int
    body: dict


def _turn_with_its_connection_dropped(openai_server: OpenAIServer) -> DroppedTurn:
    """An LLM session over the API; the second turn's backend is terminated while it waits for the reply."""
    world = build_world("Dropped Co", "dropped-co")
    tenant, rep = world.tenant, world.member(Role.REP)
    with tenant_context(tenant):
        tenancy_services.ai_settings_update(
            tenant=tenant, actor=world.member(Role.TENANT_ADMIN).user, customer_engine="llm", scorer_engine="embedded",
            llm_base_url=openai_server.base_url, llm_model="m", llm_api_key="",
        )
        _, token = tenancy_services.api_token_create(tenant=tenant, user=rep.user, name="fault test")
    version = publish_library_scenario(tenant)
    api = WsgiCaller(token)
    base = f"/api/v1/t/{tenant.slug}/sessions"

    status, created = api.post(f"{base}/", {"version_id": version.id})
    assert status == 201, created
    session_id = created["id"]
    status, _ = api.post(f"{base}/{session_id}/turns/", {"text": "Hi, I'm sorry about the suit."})
    assert status == 200
    request_pid = _backend_pid()  # the persistent connection this thread's requests use
    status, _ = api.get(f"{base}/{session_id}/turns/")
    assert status == 200 and _backend_pid() == request_pid, "the connection should persist between requests"
    before = _transcript(world, session_id)

    terminated: list[tuple[int, bool]] = []

    def drop_the_request_connection_then_answer(messages):
        # Runs while the request waits for this reply: its connection is open and idle.
        admin = psycopg2.connect(**_admin_dsn())
        try:
            with admin.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [request_pid])
                terminated.append((request_pid, cursor.fetchone()[0]))
        finally:
            admin.close()
        return canned_customer_reply(messages)

    openai_server.script(reply(drop_the_request_connection_then_answer))
    line = "Let me send the right size out today by express."
    status, body = api.post(f"{base}/{session_id}/turns/", {"text": line})
    assert terminated == [(request_pid, True)], "exactly one fault: the request's own backend"
    return DroppedTurn(world, api, base, session_id, line, request_pid, before, status, body)


def test_a_dropped_connection_mid_turn_loses_nothing_and_the_next_request_reconnects(
    persistent_connection, openai_server: OpenAIServer, settings
):
    settings.LLM_BASE_URL = ""  # only the tenant's endpoint (the loopback server) answers
    dropped = _turn_with_its_connection_dropped(openai_server)
    world, api, base, session_id, line = dropped.world, dropped.api, dropped.base, dropped.session_id, dropped.line

    assert dropped.status in (500, 503), dropped.body
    body = dropped.body
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"], body
    assert "Traceback" not in json.dumps(body) and "terminat" not in body["error"]["message"]
    # The rep's line was committed before the engine ran; the lost reply is not half-stored.
    after = _transcript(world, session_id)
    assert after == [*dropped.before, (len(dropped.before), "rep", line)], after

    # The next request on the same thread gets a fresh connection and succeeds.
    status, page = api.get(f"{base}/{session_id}/turns/")
    assert status == 200, page
    assert _backend_pid() != dropped.request_pid
    assert [turn["index"] for turn in page["results"]] == [index for index, _, _ in after]

    # Saying the line again is refused in words (it is stored); asking for the reply completes it.
    status, again = api.post(f"{base}/{session_id}/turns/", {"text": line})
    assert status == 409 and again["error"]["code"] == "reply_pending"
    status, exchange = api.post(f"{base}/{session_id}/reply/")
    assert status == 200, exchange
    assert exchange["rep_turn"]["text"] == line and exchange["customer_turn"]["text"] == CANNED_CUSTOMER_LINE

    final = _transcript(world, session_id)
    assert [speaker for _, speaker, _ in final] == ["customer", "rep", "customer", "rep", "customer"], final
    assert [index for index, _, _ in final] == list(range(len(final))), "a turn is missing"
    assert [text for _, speaker, text in final if speaker == "rep"].count(line) == 1, "the rep's line was duplicated"
    with tenant_context(world.tenant):
        assert PracticeSession.objects.for_tenant(world.tenant).get(id=session_id).status == "active"
    assert len(openai_server.chat_requests()) == 3, "the customer was asked once per reply, plus the lost one"


def test_a_dropped_connection_mid_turn_tells_the_rep_their_line_is_saved_and_releases_the_reservation(
    persistent_connection, openai_server: OpenAIServer, settings
):
    settings.LLM_BASE_URL = ""
    dropped = _turn_with_its_connection_dropped(openai_server)

    assert dropped.status == 503 and "saved" in dropped.body["error"]["message"], dropped.body
    assert _reserved_tokens(dropped.world) == 0, "the failed reply left its token reservation open"
