"""Home-page sections: a rep's week at a glance; a reviewer's scorecard summary."""

from __future__ import annotations

from django.http import HttpRequest

from scenarios.behaviors import behavior_label

from . import selectors
from .weeks import current_week, last_full_week


def rep_progress_section(request: HttpRequest) -> dict:
    me = request.membership
    focus = selectors.rep_focus(rep=me, week=current_week())
    return {
        "template": "reports/dashboards/partials/_home_rep.html",
        "focus_label": behavior_label(focus.focus_behavior) if focus else "",
        "focus_source": focus.focus_source if focus else "",
        "this_week": focus if focus and focus.week_start == current_week() else None,
    }


def scorecard_summary(*, viewer, week=None) -> dict:
    """One week (default: the last full one) in numbers, for the home page and the digest."""
    card = selectors.scorecard_build(viewer=viewer, week=week or last_full_week(), sort="-overall")
    practiced = [row for row in card.rows if row.sessions]
    changes = [row.overall.change for row in card.rows if row.overall.change is not None]
    improved = sorted((row for row in card.rows if row.overall.change is not None),
                      key=lambda row: row.overall.change, reverse=True)
    return {
        "card": card,
        "reps": len(card.rows),
        "practiced": len(practiced),
        "sessions": sum(row.sessions for row in card.rows),
        "assignments": sum(row.assignments_completed for row in card.rows),
        "mean_change": round(sum(changes) / len(changes), 1) if changes else None,
        "most_improved": [row for row in improved[:3] if row.overall.change > 0],
        "needs_attention": [row for row in card.rows if not row.sessions][:5],
    }


def scorecard_section(request: HttpRequest) -> dict:
    return {"template": "reports/dashboards/partials/_home_scorecard.html",
            **scorecard_summary(viewer=request.membership)}
