"""The programs' personal data for erasure (registered in coachhub.tenancy.retention.registry).

A person's enrollments go with their membership (its delete cascades; the erasure counts them under
"other"). Still kept after an erasure, as before this registry: the xAPI statements queued or sent
about them (they carry their display name and membership id), the LTI grade links and cmi5
launches of their sessions (a cmi5 launch keeps the LMS's actor for that session), and their name
on programs they created and enrollments they assigned or decided.
"""

from __future__ import annotations

from coachhub.tenancy.retention.registry import register_personal_data

from .models import LTIGradeLink, ProgramEnrollment, StatementOutbox

register_personal_data(
    "programs",
    tables=(ProgramEnrollment, StatementOutbox, LTIGradeLink),
    order=50,
    # A program's steps point at scenarios; an outbox row or grade link names a session by id only.
    depends_on=("scenarios",),
)
