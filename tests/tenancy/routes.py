"""Tenancy routes in the cross-tenant matrix beyond the core ones in tests/matrix.py: data retention
and erasure. The erasure page is walked with GET (its confirmation); tests/tenancy/test_erasure.py
posts to it."""

from tests.matrix import ADMIN, TENANT_PAGE, Route, only

ROUTES = {
    # Rename and delete are walked with GET (the form and the confirmation); test_teams.py posts.
    "team_edit": Route(TENANT_PAGE, only({ADMIN}), kwargs=lambda w: {"team_id": w.team.id}, has_object_ids=True),
    "team_delete": Route(TENANT_PAGE, only({ADMIN}), kwargs=lambda w: {"team_id": w.team.id}, has_object_ids=True),
    "retention_settings": Route(TENANT_PAGE, only({ADMIN})),
    "member_erase": Route(
        TENANT_PAGE, only({ADMIN}), kwargs=lambda w: {"membership_id": w.loner.id}, has_object_ids=True
    ),
}
