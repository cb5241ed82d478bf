"""The sessions API streams a turn's reply as server-sent events when asked with
`Accept: text/event-stream`: an integration with an API token gets what the practice page gets."""

import time

import httpx
import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.test import Client

from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.context import tenant_context
from sessions import services
from sessions.models import Turn
from tests.sessions.helpers import publish_library_scenario, read_events, use_llm_customer
from tests.support.asgi_server import AsgiServer
from tests.support.openai_server import delay, reply, status
from tests.support.sse import parse_events

SSE = "text/event-stream"


def _token(world, role="rep") -> str:
    _, raw = tenancy_services.api_token_create(tenant=world.tenant, user=world.member(role).user, name="stream")
    return raw


def _client(world, role="rep") -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {_token(world, role)}")


def _start(api: Client, version) -> int:
    created = api.post("/api/v1/t/acme/sessions/", {"version_id": version.id}, content_type="application/json")
    assert created.status_code == 201, created.content
    return created.json()["id"]


def _say(api: Client, session_id: int, text: str):
    return api.post(
        f"/api/v1/t/acme/sessions/{session_id}/turns/", {"text": text}, content_type="application/json",
        HTTP_ACCEPT=SSE,
    )


def _speakers(world, session_id: int) -> list[str]:
    with tenant_context(world.tenant):
        return list(Turn.objects.filter(session_id=session_id).order_by("index").values_list("speaker", flat=True))


@pytest.mark.django_db
def test_a_streamed_api_turn_sends_the_events_the_page_reads(world_a):
    api = _client(world_a)
    session_id = _start(api, publish_library_scenario(world_a.tenant))
    response = _say(api, session_id, "I'm sorry about the trouble. What happened?")
    assert response.status_code == 200 and response["Content-Type"].startswith(SSE)
    events = read_events(response)
    assert [kind for kind, _ in events] == ["saved", "delta", "done"]
    saved, done = events[0][1], events[-1][1]
    assert saved["turn"]["text"] == "I'm sorry about the trouble. What happened?"
    assert done["turn"]["index"] == saved["turn"]["index"] + 1 and done["turn"]["text"] == events[1][1]["text"]
    assert done["status"] == "active" and done["server_ms"] >= 0
    assert _speakers(world_a, session_id) == ["customer", "rep", "customer"]
    plain = api.post(
        f"/api/v1/t/acme/sessions/{session_id}/turns/", {"text": "Let me check that order."},
        content_type="application/json",
    )
    assert plain["Content-Type"] == "application/json", "without the Accept header the API answers in JSON"
    assert plain.json()["customer_turn"]["speaker"] == "customer"


@pytest.mark.django_db
def test_a_refused_streamed_turn_keeps_its_status_and_says_why_in_an_error_event(world_a):
    api = _client(world_a)
    version = publish_library_scenario(world_a.tenant)
    session_id = _start(api, version)

    empty = _say(api, session_id, "")
    assert empty.status_code == 400 and empty["Content-Type"].startswith(SSE)
    ((kind, error),) = read_events(empty)
    assert kind == "error" and error["code"] == "empty_turn" and "text" in error["fields"]

    others = _say(_client(world_a, "manager"), session_id, "Hello?")
    assert others.status_code == 404 and read_events(others)[0][1]["code"] == "not_found"

    assert api.post(f"/api/v1/t/acme/sessions/{session_id}/end/").status_code == 200
    ended = _say(api, session_id, "Are you still there?")
    assert ended.status_code == 409 and read_events(ended)[0][1]["code"] == "session_ended"

    nothing_pending = api.post(f"/api/v1/t/acme/sessions/{session_id}/reply/", HTTP_ACCEPT=SSE)
    assert nothing_pending.status_code == 409 and read_events(nothing_pending)[0][0] == "error"
    assert _speakers(world_a, session_id) == ["customer"], "nothing refused was saved"


@pytest.mark.django_db
def test_a_failed_streamed_reply_keeps_the_line_and_the_streamed_retry_answers_it(world_a, openai_server):
    use_llm_customer(world_a, openai_server)
    api = _client(world_a)
    session_id = _start(api, publish_library_scenario(world_a.tenant))
    openai_server.script(status(500), status(500), status(500))
    events = read_events(_say(api, session_id, "Let me look into it."))
    assert [kind for kind, _ in events] == ["saved", "error"] and events[-1][1]["retry"] is True
    assert _speakers(world_a, session_id) == ["customer", "rep"]

    openai_server.script(reply("Fine. What now?\n[[state frustration=50 end=none]]"))
    retried = read_events(api.post(f"/api/v1/t/acme/sessions/{session_id}/reply/", HTTP_ACCEPT=SSE))
    assert retried[-1][0] == "done" and retried[-1][1]["turn"]["text"] == "Fine. What now?"
    assert "".join(data["text"] for kind, data in retried if kind == "delta") == "Fine. What now?"
    assert _speakers(world_a, session_id) == ["customer", "rep", "customer"]


@pytest.mark.django_db(transaction=True)
def test_through_uvicorn_the_llm_reply_reaches_an_api_client_while_it_is_being_written(world_a, openai_server):
    """Served as in production (ASGI): each chunk leaves when the model writes it, not at the end."""
    use_llm_customer(world_a, openai_server)
    version = publish_library_scenario(world_a.tenant)
    text = "I've been waiting on hold for an hour and the box still hasn't been cancelled."
    openai_server.script(reply(f"{text}\n[[state frustration=60 end=none]]"))
    openai_server.chunk_delay_s = 0.05  # 5 characters a chunk: about 0.8 s to write the reply
    headers = {"Authorization": f"Bearer {_token(world_a)}"}
    with AsgiServer() as server, httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        session_id = http.post("/api/v1/t/acme/sessions/", json={"version_id": version.id}).json()["id"]
        arrivals: list[tuple[float, str, dict]] = []
        started = time.monotonic()
        with http.stream(
            "POST", f"/api/v1/t/acme/sessions/{session_id}/turns/", json={"text": "I'm so sorry. Let me fix it."},
            headers={"Accept": SSE},
        ) as response:
            assert response.status_code == 200
            for block in response.iter_text():
                for kind, data in parse_events(block):
                    arrivals.append((time.monotonic() - started, kind, data))
    kinds = [kind for _, kind, _ in arrivals]
    assert kinds[0] == "saved" and kinds[-1] == "done" and kinds.count("delta") >= 5, kinds
    deltas = [(at, data["text"]) for at, kind, data in arrivals if kind == "delta"]
    assert "".join(piece for _, piece in deltas) == text == arrivals[-1][2]["turn"]["text"]
    first_delta, done = deltas[0][0], arrivals[-1][0]
    assert done - first_delta > 0.4, f"the pieces arrived together ({first_delta:.2f} s and {done:.2f} s)"


@pytest.mark.django_db
def test_a_streamed_voice_turn_opens_with_its_transcript_and_bad_audio_is_one_error_event(world_a, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.sessions.audio import speak

    settings.MEDIA_ROOT = tmp_path
    api = _client(world_a)
    session_id = _start(api, publish_library_scenario(world_a.tenant))
    url = f"/api/v1/t/acme/sessions/{session_id}/audio/"
    line = "I am so sorry about the suit. Let me send the right size today."
    response = api.post(url, {"audio": SimpleUploadedFile("line.wav", speak(line), content_type="audio/wav")},
                        HTTP_ACCEPT=SSE)
    assert response.status_code == 200, response.content
    events = read_events(response)
    assert [kind for kind, _ in events] == ["transcript", "saved", "delta", "done"]
    transcript = events[0][1]
    assert "suit" in transcript["text"].lower() and transcript["delivery"]["words_per_minute"] > 0
    assert events[1][1]["turn"]["text"] == transcript["text"]

    garbage = api.post(url, {"audio": SimpleUploadedFile("x.wav", b"not audio at all" * 50)}, HTTP_ACCEPT=SSE)
    assert 400 <= garbage.status_code < 500
    ((kind, error),) = read_events(garbage)
    assert kind == "error" and error["message"]
    assert _speakers(world_a, session_id) == ["customer", "rep", "customer"], "the refused recording stored nothing"


def _ledger(world):
    from coachhub.tenancy.budget import budget_status

    with tenant_context(world.tenant):
        return budget_status(tenant=world.tenant)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("leaves", ["on_the_headers", "after_the_saved_event"])
def test_a_client_that_leaves_before_the_first_token_settles_the_replys_tokens(world_a, openai_server, leaves):
    """Served as in production (uvicorn): the rep's line is saved and its reply's tokens reserved;
    the client hangs up while the model is still thinking. The reservation must not stay open, or
    every such hang-up would hold part of the tenant's monthly budget for good."""
    use_llm_customer(world_a, openai_server)
    version = publish_library_scenario(world_a.tenant)
    openai_server.script(delay(3, then=reply("Fine. What now?\n[[state frustration=50 end=none]]")))
    headers = {"Authorization": f"Bearer {_token(world_a)}"}
    with AsgiServer() as server, httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        session_id = http.post("/api/v1/t/acme/sessions/", json={"version_id": version.id}).json()["id"]
        with http.stream(
            "POST", f"/api/v1/t/acme/sessions/{session_id}/turns/", json={"text": "Let me look into it."},
            headers={"Accept": SSE},
        ) as response:
            assert response.status_code == 200
            if leaves == "after_the_saved_event":
                first = next(response.iter_text())
                assert parse_events(first)[0][0] == "saved"
            assert _ledger(world_a).reserved > 0, "the reply's tokens are reserved while it is written"
        # The connection closed before any of the reply arrived.
        deadline = time.monotonic() + 20
        while _ledger(world_a).reserved and time.monotonic() < deadline:
            time.sleep(0.05)
        ledger = _ledger(world_a)
        assert ledger.reserved == 0, "the abandoned reply left its token reservation open"
        assert _speakers(world_a, session_id) == ["customer", "rep"], "the rep's line stays saved"
        # Nothing is left in flight either: the rep can ask for the reply again at once.
        openai_server.script(reply("Fine. What now?\n[[state frustration=50 end=none]]"))
        retried = http.post(f"/api/v1/t/acme/sessions/{session_id}/reply/", headers={"Accept": SSE})
        assert retried.status_code == 200 and parse_events(retried.text)[-1][0] == "done", retried.text
    assert _ledger(world_a).reserved == 0



@pytest.mark.django_db
@pytest.mark.parametrize("ends", ["closed", "dropped"])
def test_a_streamed_reply_nobody_read_is_charged_nothing_and_can_be_asked_again(world_a, openai_server, ends):
    """The response of a saved line can end before its reply was read at all: closed by the server
    when the client is already gone, or dropped unsent when the client left while the line was being
    saved. The reply never ran: its reservation is returned in full and nothing stays in flight."""
    import gc

    use_llm_customer(world_a, openai_server)
    api = _client(world_a)
    session_id = _start(api, publish_library_scenario(world_a.tenant))
    if ends == "closed":
        response = _say(api, session_id, "Let me look into it.")
        assert response.status_code == 200 and _ledger(world_a).reserved > 0
        # As the ASGI handler closes it; the test's transaction must survive Django's end-of-request
        # connection cleanup, as the test client arranges for its own requests.
        request_finished.disconnect(close_old_connections)
        try:
            response.close()
        finally:
            request_finished.connect(close_old_connections)
    else:
        # What the ASGI handler does when the client leaves mid-view: the view's response is dropped.
        from sessions.streaming import turn_response

        rep = world_a.member("rep")
        with tenant_context(world_a.tenant):
            taken = services.session_turn_take(
                tenant=world_a.tenant, rep=rep, session_id=session_id, text="Let me look into it."
            )
            response = turn_response(tenant=world_a.tenant, rep=rep, taken=taken)
        assert response.streaming and _ledger(world_a).reserved > 0
        del response, taken
        gc.collect()
    ledger = _ledger(world_a)
    assert (ledger.reserved, ledger.used) == (0, 0), "a reply that never ran was charged"
    assert openai_server.chat_requests() == [], "the model was never asked"
    openai_server.script(reply("Fine. What now?\n[[state frustration=50 end=none]]"))
    retried = read_events(api.post(f"/api/v1/t/acme/sessions/{session_id}/reply/", HTTP_ACCEPT=SSE))
    assert retried[-1][0] == "done", retried
