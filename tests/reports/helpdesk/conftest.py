"""Loopback stand-ins for the Zendesk, Freshdesk and Intercom APIs, speaking their documented shapes:
Zendesk's cursor-based incremental ticket export with metric_sets and users side-loaded, Freshdesk's
ticket list (updated_since, include=stats, page/per_page with a Link header), satisfaction ratings
and agents, Intercom's POST /conversations/search (cursor `starting_after`) and /admins. Each checks
the credentials the way the vendor does, pages small so pagination is exercised, and can be told to
answer 429 with Retry-After or to revoke the token after some requests."""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest


def epoch(moment: datetime) -> int:
    return int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp())


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Fault:
    """Answer `status` (with `headers`) to the next `times` requests whose path contains `path`."""

    status: int
    path: str = ""
    times: int = 1
    headers: dict = field(default_factory=dict)


@dataclass
class Desk:
    """One vendor account's data and behaviour."""

    token: str
    login_email: str = ""
    page_size: int = 2
    tickets: list[dict] = field(default_factory=list)  # vendor-shaped objects, each with a "_updated" epoch
    users: list[dict] = field(default_factory=list)  # zendesk users / freshdesk agents / intercom admins
    ratings: list[dict] = field(default_factory=list)  # freshdesk satisfaction ratings
    faults: list[Fault] = field(default_factory=list)
    revoke_after: int | None = None  # successful requests before the token stops working
    served: int = 0
    requests: list[dict] = field(default_factory=list)
    foreign_next: bool = False  # Freshdesk: a Link header pointing at another host
    max_page: int = 300  # Freshdesk refuses pages past this
    next_headers: list[dict] = field(default_factory=list)  # extra headers on the next successful answers

    def touch(self, ticket_id, **changes) -> None:
        for ticket in self.tickets:
            if str(ticket["id"]) == str(ticket_id):
                ticket.update(changes)
                ticket["_updated"] = max(t["_updated"] for t in self.tickets) + 60
                return
        raise KeyError(ticket_id)


class VendorServers:
    def __init__(self):
        self.desks: dict[tuple[str, str], Desk] = {}
        self.lock = threading.Lock()
        servers = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output quiet
                pass

            def do_GET(self):
                servers.handle(self, "GET")

            def do_POST(self):
                servers.handle(self, "POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def base_urls(self) -> dict:
        return {"zendesk": self.origin + "/zendesk/{subdomain}", "freshdesk": self.origin + "/freshdesk/{subdomain}",
                "intercom": self.origin + "/intercom/api"}

    def add(self, vendor: str, account: str, desk: Desk) -> Desk:
        self.desks[(vendor, account)] = desk
        return desk

    # --- dispatch ---------------------------------------------------------------------------------

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        segments = parts.path.split("/")
        vendor, account = segments[1], segments[2]
        path = "/" + "/".join(segments[3:])
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length) or b"{}") if length else {}
        desk = self.desks.get((vendor, account))
        if desk is None:
            return self.send(handler, 404, {"error": "RecordNotFound"})
        with self.lock:
            desk.requests.append({"method": method, "path": path, "query": query, "body": body})
            for fault in desk.faults:
                if fault.times and fault.path in path:
                    fault.times -= 1
                    return self.send(handler, fault.status, {"error": "TooManyRequests"}, fault.headers)
            if not self.authorised(vendor, desk, handler.headers.get("Authorization") or ""):
                return self.send(handler, 401, {"error": "Couldn't authenticate you"})
            if desk.revoke_after is not None and desk.served >= desk.revoke_after:
                return self.send(handler, 401, {"error": "Couldn't authenticate you"})
            desk.served += 1
            route = getattr(self, f"{vendor}_{method.lower()}")
            status, payload, headers = route(desk, path, query, body, f"{self.origin}/{vendor}/{account}")
            if desk.next_headers:
                headers = {**headers, **desk.next_headers.pop(0)}
        return self.send(handler, status, payload, headers)

    def authorised(self, vendor: str, desk: Desk, header: str) -> bool:
        if vendor == "intercom":
            return header == f"Bearer {desk.token}"
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        if vendor == "zendesk":
            return user == f"{desk.login_email}/token" and password == desk.token
        return user == desk.token and password == "X"

    def send(self, handler, status: int, payload, headers: dict | None = None) -> None:
        raw = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(raw)))
        for name, value in {"X-Rate-Limit-Remaining": "97", **(headers or {})}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(raw)

    # --- Zendesk ---------------------------------------------------------------------------------

    def zendesk_get(self, desk: Desk, path, query, body, base):
        if path != "/api/v2/incremental/tickets/cursor.json":
            return 404, {"error": "InvalidEndpoint"}, {}
        ordered = sorted(desk.tickets, key=lambda t: (t["_updated"], t["id"]))
        if "cursor" in query:
            after = tuple(int(x) for x in base64.b64decode(query["cursor"]).decode().split("|"))
            remaining = [t for t in ordered if (t["_updated"], t["id"]) > after]
        else:
            remaining = [t for t in ordered if t["_updated"] >= int(query["start_time"])]
            after = (int(query["start_time"]) - 1, 0)
        page = remaining[: desk.page_size]
        last = (page[-1]["_updated"], page[-1]["id"]) if page else after
        cursor = base64.b64encode(f"{last[0]}|{last[1]}".encode()).decode()
        includes = set((query.get("include") or "").split(","))
        payload = {
            "tickets": [{k: v for k, v in t.items() if not k.startswith("_")} | {"updated_at": iso(datetime.fromtimestamp(t["_updated"], UTC))}
                        for t in page],
            "after_cursor": cursor, "after_url": f"{base}{path}?cursor={cursor}", "before_cursor": None,
            "end_of_stream": len(remaining) <= desk.page_size,
        }
        if "metric_sets" in includes:
            payload["metric_sets"] = [t["_metrics"] | {"ticket_id": t["id"]} for t in page if "_metrics" in t]
        if "users" in includes:
            wanted = {t.get("assignee_id") for t in page}
            payload["users"] = [u for u in desk.users if u["id"] in wanted]
        return 200, payload, {}

    # --- Freshdesk -------------------------------------------------------------------------------

    def _fd_page(self, desk, items, path, query, base):
        page_no, per_page = int(query.get("page", 1)), min(int(query.get("per_page", 30)), desk.page_size)
        if page_no > desk.max_page:
            return 400, {"description": "Validation failed", "errors": [
                {"field": "page", "message": f"It should be less than or equal to {desk.max_page}",
                 "code": "invalid_value"}]}, {}
        chunk = items[(page_no - 1) * per_page: page_no * per_page]
        headers = {}
        if page_no * per_page < len(items):
            origin = "https://evil.example" if desk.foreign_next else base
            headers["Link"] = f'<{origin}{path}?{urlencode({**query, "page": page_no + 1})}>; rel="next"'
        return 200, chunk, headers

    def freshdesk_get(self, desk: Desk, path, query, body, base):
        if path == "/api/v2/agents":
            return self._fd_page(desk, desk.users, path, query, base)
        if path == "/api/v2/surveys/satisfaction_ratings":
            since = query["created_since"]
            items = sorted((r for r in desk.ratings if r["created_at"] >= since), key=lambda r: r["created_at"])
            return self._fd_page(desk, items, path, query, base)
        if path == "/api/v2/tickets":
            since = query["updated_since"]
            items = []
            for t in sorted(desk.tickets, key=lambda t: (t["_updated"], t["id"])):
                updated = iso(datetime.fromtimestamp(t["_updated"], UTC))
                if updated >= since:
                    shaped = {k: v for k, v in t.items() if not k.startswith("_")} | {"updated_at": updated}
                    if query.get("include") != "stats":
                        shaped.pop("stats", None)
                    items.append(shaped)
            return self._fd_page(desk, items, path, query, base)
        return 404, {"code": "invalid_path"}, {}

    # --- Intercom --------------------------------------------------------------------------------

    def intercom_get(self, desk: Desk, path, query, body, base):
        if path == "/admins":
            return 200, {"type": "admin.list", "admins": desk.users}, {}
        return 404, {"type": "error.list", "errors": [{"code": "not_found"}]}, {}

    def intercom_post(self, desk: Desk, path, query, body, base):
        if path != "/conversations/search":
            return 404, {"type": "error.list", "errors": [{"code": "not_found"}]}, {}
        rule = body["query"]
        assert rule["field"] == "updated_at" and rule["operator"] == ">"
        matching = sorted((t for t in desk.tickets if t["_updated"] > rule["value"]), key=lambda t: (t["_updated"], t["id"]))
        per_page = min(int(body.get("pagination", {}).get("per_page", 20)), desk.page_size)
        start = int(base64.b64decode(body["pagination"]["starting_after"]).decode()) if body.get("pagination", {}).get("starting_after") else 0
        chunk = matching[start: start + per_page]
        pages = {"type": "pages", "page": start // per_page + 1, "per_page": per_page,
                 "total_pages": max(1, -(-len(matching) // per_page))}
        if start + per_page < len(matching):
            pages["next"] = {"page": pages["page"] + 1,
                             "starting_after": base64.b64encode(str(start + per_page).encode()).decode()}
        return 200, {"type": "conversation.list", "total_count": len(matching), "pages": pages,
                     "conversations": [{k: v for k, v in t.items() if not k.startswith("_")} | {"updated_at": t["_updated"]}
                                       for t in chunk]}, {"X-RateLimit-Limit": "10000", "X-RateLimit-Remaining": "9999"}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def vendor_servers(settings):
    servers = VendorServers()
    settings.HELPDESK_API_BASE_URLS = servers.base_urls()
    yield servers
    servers.close()
