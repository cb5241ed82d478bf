"""Dashboard pages and API in the cross-tenant matrix. Reps are refused the scorecard, drill-downs and
insights (their own progress page is open to everyone); only tenant admins change report settings."""

from tests.matrix import ADMIN, LEAD, MANAGER, REP, TENANT_API, TENANT_PAGE, Route, everyone, only

REVIEWERS = {MANAGER, LEAD, ADMIN}

ROUTES = {
    "scorecard": Route(TENANT_PAGE, only(REVIEWERS)),
    "rep_detail": Route(
        # The world's rep is on the manager's team, so every reviewer may drill into them.
        TENANT_PAGE, only(REVIEWERS), kwargs=lambda w: {"membership_id": w.member(REP).id}, has_object_ids=True
    ),
    "my_progress": Route(TENANT_PAGE, everyone(200)),
    "insights": Route(TENANT_PAGE, only(REVIEWERS)),
    "report_settings": Route(
        TENANT_PAGE, only({ADMIN}, 302), method="POST",
        data=lambda w: {"confidence_threshold": "75", "confidence_sessions": "3"},
    ),
    "api-scorecard": Route(TENANT_API, only(REVIEWERS)),
}
