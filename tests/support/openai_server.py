"""A real HTTP server on loopback that speaks the OpenAI Chat Completions API, scriptable per request.

Tests get it through the ``openai_server`` fixture; benches and manual runs start it with
``python -m tests.support.openai_server --port 8765``. It implements ``POST /v1/chat/completions``
(``stream`` true → SSE ``data: {...}`` events over chunked transfer ending in ``data: [DONE]``;
false → one JSON body, both with ``usage``) and ``GET /v1/models``, records every request, and
plays one scripted behavior per chat request (``reply``, ``delay``, ``status``, ``malformed_chunk``,
``drop_after``, ``truncated_json``), falling back to a canned in-character customer line.
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

Messages = list[dict[str, Any]]
ReplySource = str | Callable[[Messages], str]

DEFAULT_MODEL = "coachhub-test-model"
DEFAULT_FRUSTRATION = 50
CANNED_CUSTOMER_LINE = "Okay, I hear you. But I still need this sorted out today, so what happens next?"


def canned_customer_reply(messages: Messages) -> str:
    """The default answer: an in-character line that quotes nothing from the prompt, then the side channel."""
    return f"{CANNED_CUSTOMER_LINE}\n[[state frustration={DEFAULT_FRUSTRATION} end=none]]"


# --- behaviors -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """Answer normally with ``text`` (or ``text(messages)``); ``finish_reason`` "length" plays a
    reply the token limit cut."""

    text: ReplySource
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Delay:
    """Wait ``seconds`` (to push a client past its timeout), then play ``then`` (default reply if None)."""

    seconds: float
    then: Behavior | None = None


@dataclass(frozen=True)
class Status:
    """Answer with an HTTP error in OpenAI's error shape; ``retry_after`` sets the Retry-After header."""

    code: int
    retry_after: float | None = None
    message: str = ""


@dataclass(frozen=True)
class MalformedChunk:
    """Stream ``after_chunks`` good content chunks, then an SSE line whose data is not JSON."""

    after_chunks: int = 0
    text: ReplySource | None = None


@dataclass(frozen=True)
class DropAfter:
    """Stream ``n_chunks`` content chunks, then close the connection without finishing or [DONE]."""

    n_chunks: int
    text: ReplySource | None = None


@dataclass(frozen=True)
class TruncatedJson:
    """Non-stream: a JSON body cut in half (Content-Length matches the cut). Streamed: a malformed chunk."""

    text: ReplySource | None = None


Behavior = Reply | Delay | Status | MalformedChunk | DropAfter | TruncatedJson


def reply(text: ReplySource, *, finish_reason: str = "stop") -> Reply:
    return Reply(text, finish_reason)


def delay(seconds: float, then: Behavior | None = None) -> Delay:
    return Delay(seconds, then)


def status(code: int, *, retry_after: float | None = None, message: str = "") -> Status:
    return Status(code, retry_after, message)


def malformed_chunk(after_chunks: int = 0, text: ReplySource | None = None) -> MalformedChunk:
    return MalformedChunk(after_chunks, text)


def drop_after(n_chunks: int, text: ReplySource | None = None) -> DropAfter:
    return DropAfter(n_chunks, text)


def truncated_json(text: ReplySource | None = None) -> TruncatedJson:
    return TruncatedJson(text)


# --- recording -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    received_at: float = field(default_factory=time.monotonic)


class _Dropped(Exception):
    """The handler closed the connection on purpose; nothing more to write."""


# --- the server ------------------------------------------------------------------------------


class OpenAIServer:
    """The loopback server. ``start()``/``stop()`` or use as a context manager.

    ``api_key``: when set, requests without ``Authorization: Bearer <api_key>`` get 401.
    ``chunk_chars``: how many characters of text each streamed chunk carries (small, so a side
    channel like ``[[state …]]`` is split across chunks the way real tokens split it).
    ``chunk_delay_s``: pause between streamed chunks, for benches that want token pacing.
    ``context_length``: when set, ``/v1/models`` reports it the way llama.cpp's server does (``meta.n_ctx``).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        model: str = DEFAULT_MODEL,
        api_key: str | None = None,
        chunk_chars: int = 5,
        chunk_delay_s: float = 0.0,
        default_reply: ReplySource = canned_customer_reply,
    ) -> None:
        self.model = model
        self.api_key = api_key
        self.chunk_chars = max(1, chunk_chars)
        self.chunk_delay_s = chunk_delay_s
        self.default_reply = default_reply
        self.context_length: int | None = None
        self._behaviors: deque[Behavior] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _HTTPServer((host, port), _Handler, self)
        self._thread: threading.Thread | None = None

    # lifecycle

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """What an OpenAI client takes as ``base_url``."""
        return f"http://{self._httpd.server_address[0]}:{self.port}/v1"

    def start(self) -> OpenAIServer:
        # A short poll interval keeps stop() (and so every test's teardown) quick.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="openai-test-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a delay
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # scripting and inspection

    def script(self, *behaviors: Behavior) -> None:
        """Queue behaviors; each chat request takes the next one, then the default reply."""
        with self._lock:
            self._behaviors.extend(behaviors)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def chat_requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of every chat completion request, oldest first."""
        return [
            r.body for r in self.requests if r.path.endswith("/chat/completions") and isinstance(r.body, dict)
        ]

    @property
    def pending_behaviors(self) -> int:
        with self._lock:
            return len(self._behaviors)

    # used by the handler

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_behavior(self) -> Behavior:
        with self._lock:
            return self._behaviors.popleft() if self._behaviors else Reply(self.default_reply)

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # A quick restart on the same --port shouldn't fail on TIME_WAIT.
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], owner: OpenAIServer
    ) -> None:
        self.owner = owner
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked transfer, as real providers speak
    # TCP_NODELAY, as real providers' servers (uvicorn, nginx) set it: with Nagle on, each small SSE
    # chunk after the first waits for the client's delayed ACK, up to 40 ms on loopback.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # tests read recorded requests, not access logs

    # routing

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        owner = self.server.owner
        owner._record(RecordedRequest("GET", self.path, dict(self.headers.items()), None))
        if not self._authorized():
            return
        if self.path.rstrip("/") == "/v1/models":
            model: dict[str, Any] = {"id": owner.model, "object": "model", "created": 0, "owned_by": "coachhub-tests"}
            if owner.context_length:
                model["meta"] = {"n_ctx": owner.context_length}
            self._send_json(200, {"object": "list", "data": [model]})
        else:
            self._send_error(404, "Not found.", "not_found")

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        owner = self.server.owner
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body: Any = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode("utf-8", "replace")
        owner._record(RecordedRequest("POST", self.path, dict(self.headers.items()), body))
        if not self._authorized():
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_error(404, "Not found.", "not_found")
            return
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self._send_error(400, "'messages' is required.", "invalid_request_error")
            return
        try:
            self._play(owner._next_behavior(), body)
        except (_Dropped, BrokenPipeError, ConnectionResetError):
            # Either we dropped it on purpose or the client gave up (timed out) first.
            self.close_connection = True

    def _authorized(self) -> bool:
        expected = self.server.owner.api_key
        if expected is None or self.headers.get("Authorization") == f"Bearer {expected}":
            return True
        self._send_error(401, "Incorrect API key provided.", "invalid_api_key")
        return False

    # behaviors

    def _play(self, behavior: Behavior, body: dict[str, Any]) -> None:
        owner = self.server.owner
        streaming = bool(body.get("stream"))
        messages: Messages = body["messages"]
        if isinstance(behavior, Delay):
            owner._wait(behavior.seconds)
            self._play(behavior.then or Reply(owner.default_reply), body)
        elif isinstance(behavior, Status):
            self._send_error(
                behavior.code, behavior.message or _status_message(behavior.code), None, behavior.retry_after
            )
        elif isinstance(behavior, Reply):
            text = _render(behavior.text, messages)
            if streaming:
                self._stream(body, text, finish_reason=behavior.finish_reason)
            else:
                self._send_json(200, self._completion(body, text, finish_reason=behavior.finish_reason))
        elif isinstance(behavior, MalformedChunk | TruncatedJson) and streaming:
            after = behavior.after_chunks if isinstance(behavior, MalformedChunk) else 0
            self._stream(body, _render(behavior.text or owner.default_reply, messages), malformed_after=after)
        elif isinstance(behavior, TruncatedJson | MalformedChunk):
            encoded = json.dumps(
                self._completion(body, _render(behavior.text or owner.default_reply, messages))
            )
            self._send_raw(200, "application/json", encoded[: len(encoded) // 2].encode())
        elif isinstance(behavior, DropAfter):
            text = _render(behavior.text or owner.default_reply, messages)
            if streaming:
                self._stream(body, text, drop_after=behavior.n_chunks)
            else:
                self._drop()
        else:  # pragma: no cover - exhaustive over Behavior
            raise TypeError(f"unknown behavior {behavior!r}")

    # responses

    def _completion(self, body: dict[str, Any], text: str, *, finish_reason: str = "stop") -> dict[str, Any]:
        return {
            "id": f"chatcmpl-test-{id(body):x}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.server.owner.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": _usage(body["messages"], text),
        }

    def _stream(
        self,
        body: dict[str, Any],
        text: str,
        *,
        drop_after: int | None = None,
        malformed_after: int | None = None,
        finish_reason: str = "stop",
    ) -> None:
        owner = self.server.owner
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        base = {
            "id": f"chatcmpl-test-{id(body):x}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model") or owner.model,
        }

        def event(choices: list[dict[str, Any]], **extra: Any) -> None:
            self._write_chunk(f"data: {json.dumps({**base, 'choices': choices, **extra})}\n\n")

        event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        pieces = [text[i : i + owner.chunk_chars] for i in range(0, len(text), owner.chunk_chars)]
        for sent, piece in enumerate(pieces):
            if drop_after is not None and sent >= drop_after:
                self._drop()
            if malformed_after is not None and sent >= malformed_after:
                self._write_chunk('data: {"id": "chatcmpl-broken", "choices": [{"delta": {"content": "\n\n')
                self._finish_stream()
                return
            if owner.chunk_delay_s:
                owner._wait(owner.chunk_delay_s)
            event([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
        if drop_after is not None:
            self._drop()  # asked to drop after more chunks than the text has: drop before finishing
        event([{"index": 0, "delta": {}, "finish_reason": finish_reason}])
        if (body.get("stream_options") or {}).get("include_usage"):
            event([], usage=_usage(body["messages"], text))
        self._finish_stream()

    def _finish_stream(self) -> None:
        self._write_chunk("data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_chunk(self, data: str) -> None:
        encoded = data.encode()
        self.wfile.write(f"{len(encoded):x}\r\n".encode() + encoded + b"\r\n")
        self.wfile.flush()

    def _drop(self) -> None:
        """Close the socket mid-answer, like a provider or proxy dying."""
        self.wfile.flush()
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()
        raise _Dropped

    def _send_json(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send_raw(code, "application/json", json.dumps(payload).encode(), headers)

    def _send_raw(
        self, code: int, content_type: str, data: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_error(
        self, code: int, message: str, error_code: str | None, retry_after: float | None = None
    ) -> None:
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
        error_type = "invalid_request_error" if code < 500 else "server_error"
        payload = {"error": {"message": message, "type": error_type, "param": None, "code": error_code}}
        self._send_json(code, payload, headers)


def _render(source: ReplySource, messages: Messages) -> str:
    return source(messages) if callable(source) else source


def _usage(messages: Messages, text: str) -> dict[str, int]:
    prompt = sum(4 + math.ceil(len(str(m.get("content", ""))) / 4) for m in messages)
    completion = math.ceil(len(text) / 4)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _status_message(code: int) -> str:
    return {
        401: "Incorrect API key provided.",
        403: "You are not allowed to use this model.",
        404: "The model does not exist.",
        429: "Rate limit reached. Please try again later.",
    }.get(code, "The server had an error while processing your request.")


# --- pytest ----------------------------------------------------------------------------------


@pytest.fixture(name="openai_server")
def openai_server_fixture() -> Iterator[OpenAIServer]:
    """A started server on an ephemeral loopback port, stopped after the test."""
    with OpenAIServer() as server:
        yield server


# --- standalone ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Loopback OpenAI-compatible server for manual runs and benches."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--chunk-chars", type=int, default=5)
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between streamed chunks")
    args = parser.parse_args(argv)
    server = OpenAIServer(
        host=args.host,
        port=args.port,
        model=args.model,
        chunk_chars=args.chunk_chars,
        chunk_delay_s=args.chunk_delay,
    )
    with server:
        print(
            f"OpenAI-compatible test server on http://{args.host}:{server.port}/v1 (Ctrl-C to stop)",
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
