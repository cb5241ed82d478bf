"""The programs' personal data for erasure (registered in coachhub.tenancy.retention.registry).

A person's enrollments go with their membership (its delete cascades; the erasure counts them under
"other"). Erasing a person also removes what names them here about their practice sessions: the
xAPI statements queued or sent about them (they carry the person's account and results), the LTI
grade links (the LMS's id for them) and the cmi5 launches (the LMS's actor). What the LMS or LRS
already received is theirs to erase. Their name on programs they created and on enrollments they
assigned or decided is cleared (the work stays with the tenant).
"""

from __future__ import annotations

from coachhub.tenancy.models import Membership, Tenant
from coachhub.tenancy.retention.registry import Erasure, register_personal_data
from sessions.models import PracticeSession

from .models import Cmi5Launch, LTIGradeLink, Program, ProgramEnrollment, StatementOutbox


def _session_ids(*, tenant: Tenant, membership: Membership):
    return PracticeSession.objects.for_tenant(tenant).filter(membership=membership).values("id")


def _about(tenant: Tenant, membership: Membership, model):
    return model.objects.for_tenant(tenant).filter(session_id__in=_session_ids(tenant=tenant, membership=membership))


def person_summary(*, tenant: Tenant, membership: Membership) -> dict[str, int]:
    return {
        "learning_records": _about(tenant, membership, StatementOutbox).count(),
        "lms_links": _about(tenant, membership, LTIGradeLink).count() + _about(tenant, membership, Cmi5Launch).count(),
    }


def person_erase(erasure: Erasure) -> None:
    tenant, member = erasure.tenant, erasure.member
    # The statements first: a cmi5 statement points at its launch.
    erasure.delete("learning_records", _about(tenant, member, StatementOutbox))
    links = _about(tenant, member, LTIGradeLink).delete()[0] + _about(tenant, member, Cmi5Launch).delete()[0]
    erasure.counts["lms_links"] = links


register_personal_data(
    "programs",
    tables=(ProgramEnrollment, StatementOutbox, LTIGradeLink, Cmi5Launch),
    order=50,
    # A program's steps point at scenarios; its records name sessions by id, so they go while the
    # person's sessions can still be found.
    depends_on=("roleplay", "scenarios"),
    erase=person_erase,
    user_references=(
        (Program, "created_by"), (ProgramEnrollment, "assigned_by"), (ProgramEnrollment, "live_decided_by"),
    ),
    summarize=person_summary,
)
