"""Zendesk: the cursor-based incremental ticket export with ticket metrics and users side-loaded
(GET /api/v2/incremental/tickets/cursor.json?include=metric_sets,users), read into the
“Zendesk API ticket_metrics” preset. The satisfaction score is the ticket's own satisfaction_rating."""

from __future__ import annotations

from datetime import datetime

from .http import PullError, VendorClient
from .vendors import Pulled, PulledRecord, cell, iso_utc, parse_iso, register

SOLVED = ("solved", "closed")
COLUMNS = ("ticket_id", "assignee_email", "solved_at", "group_stations", "assignee_stations", "reopens", "replies",
           "satisfaction_score", "reply_time_in_minutes.calendar", "full_resolution_time_in_minutes.calendar")
MAX_PAGES = 10_000  # a guard against a cursor that never reaches end_of_stream


class Zendesk:
    key, label, preset_key = "zendesk", "Zendesk", "zendesk_ticket_metrics"
    columns = COLUMNS
    needs_subdomain, needs_login_email = True, True
    subdomain_hint = "the part before .zendesk.com, e.g. acme for acme.zendesk.com"
    token_hint = "An API token from Admin Center → Apps and integrations → Zendesk API, with the e-mail of the agent it belongs to."

    def client(self, *, base: str, token: str, login_email: str) -> VendorClient:
        return VendorClient(vendor_label=self.label, base=base, auth=(f"{login_email}/token", token))

    def pull(self, client: VendorClient, *, cursor: dict, start: datetime, limit: int) -> Pulled:
        pulled = Pulled()
        params = {"include": "metric_sets,users"}
        if cursor.get("cursor"):
            params["cursor"] = cursor["cursor"]
        else:
            params["start_time"] = int(start.timestamp())
        tickets: dict[str, dict] = {}
        metrics: dict[str, dict] = {}
        emails: dict[str, str] = {}
        after = cursor.get("cursor")
        for _ in range(MAX_PAGES):
            page, _response = client.json("GET", "/api/v2/incremental/tickets/cursor.json", params=params)
            for ticket in page.get("tickets") or []:
                tickets[str(ticket.get("id"))] = ticket
            for metric_set in page.get("metric_sets") or []:
                metrics[str(metric_set.get("ticket_id"))] = metric_set
            for user in page.get("users") or []:
                if user.get("email"):
                    emails[str(user.get("id"))] = user["email"]
            after = page.get("after_cursor") or after
            if page.get("end_of_stream", True) or not page.get("after_cursor"):
                break
            if len(tickets) >= limit:  # the rest next run, from after_cursor
                pulled.more = True
                break
            params = {"include": "metric_sets,users", "cursor": page["after_cursor"]}
        else:
            raise PullError("Zendesk's export never reached its end; the sync stopped.", code="endless_cursor")
        pulled.fetched = len(tickets)
        for ticket_id, ticket in tickets.items():
            metric = metrics.get(ticket_id) or {}
            rating = ticket.get("satisfaction_rating") or {}
            if rating.get("score") in ("good", "bad"):  # offered but unanswered isn't a rating
                pulled.ratings += 1
            solved = parse_iso(metric.get("solved_at")) if ticket.get("status") in SOLVED else None
            assignee = ticket.get("assignee_id")
            pulled.records.append(PulledRecord(ticket_id, solved, {
                "ticket_id": ticket_id,
                "assignee_email": emails.get(str(assignee), cell(assignee)),
                "solved_at": iso_utc(solved),
                "group_stations": cell(metric.get("group_stations")),
                "assignee_stations": cell(metric.get("assignee_stations")),
                "reopens": cell(metric.get("reopens")),
                "replies": cell(metric.get("replies")),
                "satisfaction_score": cell(rating.get("score")),
                "reply_time_in_minutes.calendar": cell((metric.get("reply_time_in_minutes") or {}).get("calendar")),
                "full_resolution_time_in_minutes.calendar": cell(
                    (metric.get("full_resolution_time_in_minutes") or {}).get("calendar")),
            }))
        pulled.cursor = {"cursor": after} if after else dict(cursor)
        return pulled


register(Zendesk())
