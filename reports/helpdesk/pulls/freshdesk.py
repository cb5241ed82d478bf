"""Freshdesk: tickets changed since the last sync with their stats (GET /api/v2/tickets?updated_since=
…&include=stats, page/per_page with the Link header's next page), the satisfaction ratings created
since then (GET /api/v2/surveys/satisfaction_ratings?created_since=…) and the agents' e-mails
(GET /api/v2/agents), read into the Freshdesk ticket export preset."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from .http import PullError, VendorClient, next_link
from .vendors import Pulled, PulledRecord, cell, hhmmss, iso_utc, parse_iso, register

RESOLVED, CLOSED = 4, 5
COLUMNS = ("Ticket ID", "Agent email", "Status", "Created time", "Resolved time", "Survey results",
           "First response time (in hrs)", "Resolution time (in hrs)")
PER_PAGE = 100
MAX_PAGES = 10_000
# Freshdesk's satisfaction scale (the default question's answer) as its ticket export words it.
SURVEY_WORDS = {103: "Extremely happy", 102: "Very happy", 101: "Happy", 100: "Neutral", -101: "Unhappy",
                -102: "Very unhappy", -103: "Extremely unhappy"}
STATUS_WORDS = {2: "Open", 3: "Pending", RESOLVED: "Resolved", CLOSED: "Closed"}


def survey_word(ratings: dict) -> str:
    value = (ratings or {}).get("default_question")
    try:
        return SURVEY_WORDS.get(int(value), "")
    except (TypeError, ValueError):
        return ""


def page_limit() -> int:
    """Freshdesk's list endpoints refuse pages past 300; a longer window is read in several."""
    return int(getattr(settings, "HELPDESK_FRESHDESK_PAGE_LIMIT", 300))


def _pages(client: VendorClient, path: str, params: dict, *, limit: int = MAX_PAGES):
    """Yields (page, has_next, beyond): the list on each page, whether a next page exists, and whether
    it lies beyond `limit` (the query must start again)."""
    url, query = path, dict(params)
    for number in range(1, limit + 1):
        page, response = client.json("GET", url, params=query)
        if not isinstance(page, list):
            raise PullError(f"Freshdesk sent an unexpected answer from {path}.", code="bad_response")
        url, query = next_link(response), None
        yield page, bool(url), bool(url) and number == limit
        if not url:
            return
    if limit == MAX_PAGES:
        raise PullError("Freshdesk's pages never ended; the sync stopped.", code="endless_pages")


class Freshdesk:
    key, label, preset_key = "freshdesk", "Freshdesk", "freshdesk_tickets"
    columns = COLUMNS
    needs_subdomain, needs_login_email = True, False
    sticky_columns = ("Survey results",)  # ratings come from their own endpoint, not with the ticket
    subdomain_hint = "the part before .freshdesk.com, e.g. acme for acme.freshdesk.com"
    token_hint = "Your API key from Profile settings → View API key (an admin's key sees every ticket)."

    def client(self, *, base: str, token: str, login_email: str) -> VendorClient:
        return VendorClient(vendor_label=self.label, base=base, auth=(token, "X"))

    def pull(self, client: VendorClient, *, cursor: dict, start: datetime, limit: int) -> Pulled:
        pulled = Pulled()
        since = cursor.get("updated_since") or iso_utc(start)
        ratings_since = cursor.get("ratings_since") or since
        emails: dict[str, str] = {}
        for page, _, _ in _pages(client, "/api/v2/agents", {"per_page": PER_PAGE}):
            for agent in page:
                email = (agent.get("contact") or {}).get("email")
                if email:
                    emails[str(agent.get("id"))] = email
        surveys: dict[str, str] = {}
        latest_rating = parse_iso(ratings_since)
        for page, _, _ in _pages(client, "/api/v2/surveys/satisfaction_ratings",
                              {"created_since": ratings_since, "per_page": PER_PAGE}):
            for rating in sorted(page, key=lambda r: str(r.get("created_at") or "")):
                word = survey_word(rating.get("ratings"))
                if word and rating.get("ticket_id") is not None:
                    surveys[str(rating["ticket_id"])] = word
                    pulled.ratings += 1
                created = parse_iso(rating.get("created_at"))
                if created and (latest_rating is None or created > latest_rating):
                    latest_rating = created
        tickets: dict[str, dict] = {}
        latest = parse_iso(since)
        window = since
        while True:  # oldest change first; past the page limit, a new window from the newest change read
            more = False
            for page, has_next, beyond in _pages(client, "/api/v2/tickets", {
                "updated_since": window, "include": "stats", "order_by": "updated_at", "order_type": "asc",
                "per_page": PER_PAGE}, limit=page_limit()):
                for ticket in page:
                    tickets[str(ticket.get("id"))] = ticket
                    updated = parse_iso(ticket.get("updated_at"))
                    if updated and (latest is None or updated > latest):
                        latest = updated
                more = beyond
                if has_next and len(tickets) >= limit:  # oldest change first: the rest resumes from `latest`
                    pulled.more = True
                    break
            if not more or pulled.more:
                break
            following = iso_utc(latest)
            if following == window:
                raise PullError("More Freshdesk tickets changed in one second than its pages can list; the sync "
                                "stopped.", code="endless_pages")
            window = following
        pulled.fetched = len(tickets)
        for ticket_id, ticket in tickets.items():
            stats = ticket.get("stats") or {}
            created = parse_iso(ticket.get("created_at"))
            status = ticket.get("status")
            resolved = parse_iso(stats.get("resolved_at") or stats.get("closed_at")) if status in (RESOLVED, CLOSED) else None
            responded = parse_iso(stats.get("first_responded_at"))
            responder = ticket.get("responder_id")
            pulled.records.append(PulledRecord(ticket_id, resolved, {
                "Ticket ID": ticket_id,
                "Agent email": emails.get(str(responder), cell(responder)),
                "Status": STATUS_WORDS.get(status, cell(status)),
                "Created time": iso_utc(created),
                "Resolved time": iso_utc(resolved),
                "Survey results": surveys.pop(ticket_id, ""),
                "First response time (in hrs)": hhmmss((responded - created).total_seconds()) if responded and created else "",
                "Resolution time (in hrs)": hhmmss((resolved - created).total_seconds()) if resolved and created else "",
            }))
        # Ratings of tickets that didn't change since the last sync: merged into the stored rows.
        pulled.rating_updates = {ticket_id: {"Survey results": word} for ticket_id, word in surveys.items()}
        # Freshdesk's updated_since is inclusive to the second: start again one second before the newest
        # change seen, and re-reading it is harmless (upserted by ticket id).
        pulled.cursor = {
            "updated_since": iso_utc(latest - timedelta(seconds=1)) if latest else since,
            # Stopped half-way: ratings of tickets still to come are read again with them.
            "ratings_since": iso_utc(latest_rating) if latest_rating and not pulled.more else ratings_since,
        }
        return pulled


register(Freshdesk())
