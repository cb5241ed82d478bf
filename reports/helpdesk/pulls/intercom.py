"""Intercom: conversations updated since the last sync (POST /conversations/search on updated_at,
cursor pagination with `starting_after`), each with its `statistics` and `conversation_rating`, and
the teammates' e-mails (GET /admins), read into the Intercom conversations export preset."""

from __future__ import annotations

from datetime import datetime

from .http import PullError, VendorClient
from .vendors import Pulled, PulledRecord, cell, from_epoch, iso_utc, register

COLUMNS = ("Conversation ID", "Teammate currently assigned", "Conversation last closed at", "Number of reassignments",
           "Handling time (seconds)", "Time to close (seconds)", "Conversation rating")
PER_PAGE = 150
MAX_PAGES = 10_000
API_VERSION = "2.11"


class Intercom:
    key, label, preset_key = "intercom", "Intercom", "intercom_conversations"
    columns = COLUMNS
    needs_subdomain, needs_login_email = False, False
    subdomain_hint = ""
    token_hint = "An access token of a private app in the Developer Hub, allowed to read conversations and admins."

    def client(self, *, base: str, token: str, login_email: str) -> VendorClient:
        return VendorClient(vendor_label=self.label, base=base,
                            headers={"Authorization": f"Bearer {token}", "Intercom-Version": API_VERSION})

    def pull(self, client: VendorClient, *, cursor: dict, start: datetime, limit: int) -> Pulled:
        # Search results aren't ordered by updated_at, so a pull can't stop half-way and resume: `limit`
        # doesn't apply; every conversation updated since the cursor is read in one run.
        pulled = Pulled()
        since = int(cursor.get("updated_after") or int(start.timestamp()))
        admins, _ = client.json("GET", "/admins")
        emails = {str(a.get("id")): a["email"] for a in (admins.get("admins") or []) if a.get("email")}
        conversations: dict[str, dict] = {}
        latest = since
        body = {"query": {"field": "updated_at", "operator": ">", "value": since - 1},
                "pagination": {"per_page": PER_PAGE}}
        for _ in range(MAX_PAGES):
            page, _response = client.json("POST", "/conversations/search", json=body)
            for conversation in page.get("conversations") or []:
                conversations[str(conversation.get("id"))] = conversation
                latest = max(latest, int(conversation.get("updated_at") or 0))
            following = ((page.get("pages") or {}).get("next") or {}).get("starting_after")
            if not following:
                break
            body = {**body, "pagination": {"per_page": PER_PAGE, "starting_after": following}}
        else:
            raise PullError("Intercom's pages never ended; the sync stopped.", code="endless_pages")
        pulled.fetched = len(conversations)
        for conversation_id, conversation in conversations.items():
            stats = conversation.get("statistics") or {}
            rating = (conversation.get("conversation_rating") or {}).get("rating")
            if rating not in (None, ""):
                pulled.ratings += 1
            closed = from_epoch(stats.get("last_close_at")) if conversation.get("state") == "closed" else None
            assignments = stats.get("count_assignments")
            assignee = conversation.get("admin_assignee_id")
            pulled.records.append(PulledRecord(conversation_id, closed, {
                "Conversation ID": conversation_id,
                "Teammate currently assigned": emails.get(str(assignee), cell(assignee)),
                "Conversation last closed at": iso_utc(closed),
                # Intercom counts every assignment; the export's reassignments are those after the first.
                "Number of reassignments": "" if assignments is None else str(max(int(assignments) - 1, 0)),
                "Handling time (seconds)": cell(stats.get("handling_time")),
                "Time to close (seconds)": cell(stats.get("time_to_last_close")),
                "Conversation rating": cell(rating),
            }))
        pulled.cursor = {"updated_after": latest}
        return pulled


register(Intercom())
