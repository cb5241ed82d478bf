"""Reads of practice sessions and turns, always inside one tenant and within the viewer's reach."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from coachhub.tenancy.models import Membership, Role, Tenant
from coachhub.tenancy.selectors import visible_rep_memberships

from .engines.base import CUE_LABELS
from .models import PracticeSession, Turn


def session_list_visible(*, tenant: Tenant, viewer: Membership) -> QuerySet[PracticeSession]:
    """Sessions the viewer may see: their own, plus (managers) their teams' reps', plus (leads and
    admins) everyone's."""
    sessions = PracticeSession.objects.for_tenant(tenant).select_related("scenario", "membership__user")
    if viewer.role in (Role.ENABLEMENT_LEAD, Role.TENANT_ADMIN):
        return sessions
    if viewer.role == Role.MANAGER:
        reps = visible_rep_memberships(membership=viewer).values("id")
        return sessions.filter(membership_id__in=reps) | sessions.filter(membership=viewer)
    return sessions.filter(membership=viewer)


def session_get_visible(*, tenant: Tenant, viewer: Membership, session_id: int) -> PracticeSession:
    return get_object_or_404(session_list_visible(tenant=tenant, viewer=viewer).select_related("version"), id=session_id)


def session_get_own(*, tenant: Tenant, rep: Membership, session_id: int) -> PracticeSession:
    """A session the viewer is practicing themself: only its rep may take turns in it."""
    return get_object_or_404(
        PracticeSession.objects.for_tenant(tenant).select_related("version", "scenario"), id=session_id, membership=rep
    )


def turn_list(*, tenant: Tenant, session: PracticeSession) -> QuerySet[Turn]:
    return Turn.objects.for_tenant(tenant).filter(session=session).order_by("index")


def frustration_curve(turns: list[Turn]) -> list[dict]:
    """Customer frustration after each customer line, with the rep line that preceded it, so the
    results page can show which of the rep's turns raised or lowered it."""
    points = []
    previous = None
    last_rep = None
    for turn in turns:
        if turn.speaker == "rep":
            last_rep = turn
            continue
        if turn.frustration is None:
            continue
        delta = None if previous is None else turn.frustration - previous
        cues = [CUE_LABELS.get(cue, cue.replace("_", " ")) for cue in turn.cues]
        points.append(
            {"index": turn.index, "frustration": turn.frustration, "delta": delta, "cues": cues, "rep_turn": last_rep}
        )
        previous = turn.frustration
    return points
