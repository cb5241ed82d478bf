"""Home-page sections: a rep's open assignments; recent assignments with completion for the people
who assign practice."""

from __future__ import annotations

from django.http import HttpRequest

from . import selectors
from .brief import behavior_label


def rep_assignments_section(request: HttpRequest) -> dict:
    recipients = selectors.open_recipients_for(tenant=request.tenant, membership=request.membership)
    items = [
        {
            "recipient": r,
            "assignment": r.assignment,
            "title": r.assignment.version.spec["title"],
            "summary": r.assignment.version.spec["summary"],
            "focus": behavior_label(r.assignment.focus_behavior) if r.assignment.focus_behavior else "",
            "attempts_left": (
                r.assignment.max_attempts - r.attempts if r.assignment.max_attempts is not None else None
            ),
        }
        for r in recipients[:20]
    ]
    return {"template": "scenarios/partials/_rep_assignments.html", "items": items}


def assigner_section(request: HttpRequest) -> dict:
    assignments = selectors.assignment_list(membership=request.membership).filter(cancelled_at__isnull=True)[:5]
    rows = [{"assignment": a, "progress": selectors.assignment_progress(a)} for a in assignments]
    return {
        "template": "scenarios/partials/_recent_assignments.html",
        "rows": rows,
        "can_author": request.membership.role in ("enablement_lead", "tenant_admin"),
    }
