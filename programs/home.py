"""Home-page section: a rep's programs and how far they are."""

from __future__ import annotations

from django.http import HttpRequest

from . import selectors


def rep_programs_section(request: HttpRequest) -> dict | None:
    rows = selectors.readiness_rows(tenant=request.tenant, enrollments=selectors.my_enrollments(membership=request.membership)[:10])
    if not rows:
        return None
    return {"template": "programs/partials/_rep_programs.html", "rows": rows}
