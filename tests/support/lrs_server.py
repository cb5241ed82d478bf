"""A Learning Record Store on loopback for tests: speaks the xAPI 1.0.3 statement resource (PUT with
statementId, and GET of what it stored), parses each statement with the Tin Can reference models,
records what it receives in order, and can fail on demand."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tincan import Statement


class LoopbackLRS:
    def __init__(self, *, key: str = "lrs-key", secret: str = "lrs-secret") -> None:
        self.key, self.secret = key, secret
        self.stored: list[dict] = []  # statements in the order they were stored
        self.requests = 0
        self.failing_with: int | None = None  # answer every request with this status while set
        self.refuse_ids: set[str] = set()  # answer 400 for these statement ids
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/xapi/"

    def start(self) -> LoopbackLRS:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def ids(self) -> list[str]:
        return [statement["id"] for statement in self.stored]

    def verbs(self) -> list[str]:
        return [statement["verb"]["display"]["en-US"] for statement in self.stored]

    def _handler(self):
        lrs = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self, status: int, body: dict | list | None = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("X-Experience-API-Version", "1.0.3")
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                expected = base64.b64encode(f"{lrs.key}:{lrs.secret}".encode()).decode()
                return self.headers.get("Authorization") == f"Basic {expected}"

            def do_PUT(self):
                with lrs._lock:
                    lrs.requests += 1
                    if lrs.failing_with is not None:
                        return self._answer(lrs.failing_with, {"error": "unavailable"})
                    if not self._authorized():
                        return self._answer(401, {"error": "bad credentials"})
                    if self.headers.get("X-Experience-API-Version") != "1.0.3":
                        return self._answer(400, {"error": "X-Experience-API-Version 1.0.3 required"})
                    url = urlsplit(self.path)
                    statement_id = parse_qs(url.query).get("statementId", [""])[0]
                    if url.path != "/xapi/statements" or not statement_id:
                        return self._answer(400, {"error": "PUT /statements needs statementId"})
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                    if body.get("id", statement_id) != statement_id or statement_id in lrs.refuse_ids:
                        return self._answer(400, {"error": "statement refused"})
                    try:
                        Statement.from_json(json.dumps(body))
                    except Exception as exc:
                        return self._answer(400, {"error": f"not an xAPI statement: {exc}"})
                    for stored in lrs.stored:
                        if stored["id"] == statement_id:  # xAPI: same id again is stored once
                            return self._answer(204 if stored == body else 409)
                    lrs.stored.append(body)
                    return self._answer(204)

            def do_GET(self):
                with lrs._lock:
                    if not self._authorized():
                        return self._answer(401)
                    return self._answer(200, {"statements": list(reversed(lrs.stored)), "more": ""})

        return Handler
