"""Reads: programs a member may follow, their enrollments, and readiness computed from scores.

Readiness for many reps is computed in a fixed number of queries (steps, sessions, scores with their
behaviors), whatever the number of reps or sessions."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from coachhub.tenancy.access import AUTHORS
from coachhub.tenancy.models import Membership, Role, Tenant
from coachhub.tenancy.people_status import PersonStatus
from coachhub.tenancy.selectors import visible_rep_memberships
from scenarios.behaviors import behavior_label as scenario_behavior_label
from scoring.models import BehaviorScore, ScoreStatus, SessionScore
from sessions.models import PracticeSession, SessionStatus

from . import readiness
from .models import Program, ProgramEnrollment, ProgramStep


def behavior_label(key: str) -> str:
    """A pass mark's name: "overall" or one of the behaviors."""
    return "Overall score" if key == "overall" else scenario_behavior_label(key)


def program_list(*, membership: Membership) -> QuerySet[Program]:
    """Leads and admins follow every program, and so do managers (they may assign any of them to
    the reps they coach) with only their own reps counted; reps none (they see their enrollments)."""
    tenant = membership.tenant
    programs = Program.objects.for_tenant(tenant)
    counted = Q()
    if membership.role == Role.MANAGER:
        reps = visible_rep_memberships(membership=membership).values("id")
        counted = Q(enrollments__membership_id__in=reps)
    elif membership.role not in AUTHORS:
        return programs.none()
    return programs.annotate(
        step_count=Count("steps", distinct=True),
        enrolled_count=Count("enrollments", filter=counted, distinct=True),
    ).order_by("archived_at", "title")


def program_get(*, membership: Membership, program_id: int) -> Program:
    return get_object_or_404(program_list(membership=membership), id=program_id)


def program_steps(*, program: Program) -> list[ProgramStep]:
    return list(
        ProgramStep.objects.for_tenant(program.tenant).filter(program=program).select_related("scenario").order_by("position")
    )


def step_get(*, program: Program, step_id: int) -> ProgramStep:
    return get_object_or_404(ProgramStep.objects.for_tenant(program.tenant), program=program, id=step_id)


def enrollment_list(*, membership: Membership, program: Program) -> QuerySet[ProgramEnrollment]:
    """The program's reps this member may see: a manager only the reps they coach."""
    enrollments = ProgramEnrollment.objects.for_tenant(program.tenant).filter(program=program)
    if membership.role == Role.MANAGER:
        enrollments = enrollments.filter(membership_id__in=visible_rep_memberships(membership=membership).values("id"))
    elif membership.role not in AUTHORS:
        enrollments = enrollments.filter(membership=membership)
    return enrollments.select_related("membership__user", "via_team", "live_decided_by", "program").order_by(
        "membership__user__full_name", "membership__user__email"
    )


def enrollment_get(*, membership: Membership, program: Program, rep_id: int) -> ProgramEnrollment:
    return get_object_or_404(enrollment_list(membership=membership, program=program), membership_id=rep_id)


def my_enrollments(*, membership: Membership) -> QuerySet[ProgramEnrollment]:
    return (
        ProgramEnrollment.objects.for_tenant(membership.tenant)
        .filter(membership=membership, program__archived_at__isnull=True)
        .select_related("program", "live_decided_by", "membership__user")
        .order_by("program__due_on", "program__title")
    )


def _step_marks(step: ProgramStep) -> readiness.StepMarks:
    return readiness.StepMarks(
        step_id=step.id, scenario_id=step.scenario_id, title=step.scenario.title,
        pass_overall=step.pass_overall, behavior_minimums=dict(step.behavior_minimums or {}),
    )


def _counting_score(score: SessionScore) -> readiness.ScoredSession | None:
    """The score that counts for readiness: a reviewer's adjustment replaces the AI's behavior score,
    and the overall is then the rubric-weighted mean of the counting behavior scores (the same rule
    the scorers use for their own overall)."""
    behaviors = list(score.behaviors.all())
    finals = {b.behavior: b.final_score for b in behaviors if b.final_score is not None}
    adjusted = any(b.is_adjusted for b in behaviors)
    overall = score.overall
    if adjusted:
        weights = [(b.weight, b.final_score) for b in behaviors if b.final_score is not None]
        total = sum(weight for weight, _ in weights)
        overall = round(sum(w * s for w, s in weights) / total) if total > 0 else None
    if overall is None:
        return None
    return readiness.ScoredSession(
        session_id=score.session_id, ended_at=score.session.ended_at or score.finished_at,
        overall=overall, behaviors=finals, adjusted=adjusted,
    )


def readiness_score_of(*, tenant: Tenant, session: PracticeSession) -> tuple[readiness.ScoredSession, dict] | None:
    """The counting score of one session (for its learning record), with its behavior scores."""
    score = (
        SessionScore.objects.for_tenant(tenant).filter(session=session, is_current=True, status=ScoreStatus.DONE)
        .select_related("session")
        .prefetch_related(Prefetch("behaviors", queryset=BehaviorScore.objects.for_tenant(tenant).order_by("id")))
        .first()
    )
    counted = _counting_score(score) if score is not None else None
    return (counted, dict(counted.behaviors)) if counted is not None else None


def readiness_for(*, tenant: Tenant, enrollments: list[ProgramEnrollment]) -> dict[int, readiness.ProgramReadiness]:
    """enrollment id → its readiness. Sessions count from the moment the rep was enrolled."""
    if not enrollments:
        return {}
    program_ids = {e.program_id for e in enrollments}
    steps_by_program: dict[int, list[ProgramStep]] = defaultdict(list)
    for step in ProgramStep.objects.for_tenant(tenant).filter(program_id__in=program_ids).select_related("scenario").order_by("position"):
        steps_by_program[step.program_id].append(step)
    programs = {e.program_id: e.program for e in enrollments}
    scenario_ids = {step.scenario_id for steps in steps_by_program.values() for step in steps}
    rep_ids = {e.membership_id for e in enrollments}
    earliest = min(e.assigned_at for e in enrollments)
    sessions = list(
        PracticeSession.objects.for_tenant(tenant)
        .filter(membership_id__in=rep_ids, scenario_id__in=scenario_ids, status=SessionStatus.ENDED,
                is_trial=False, started_at__gte=earliest)
        .values("id", "membership_id", "scenario_id", "started_at")
    )
    scores = (
        SessionScore.objects.for_tenant(tenant)
        .filter(session_id__in=[s["id"] for s in sessions], is_current=True, status=ScoreStatus.DONE)
        .select_related("session")
        .prefetch_related(Prefetch("behaviors", queryset=BehaviorScore.objects.for_tenant(tenant).order_by("id")))
    )
    counted = {score.session_id: _counting_score(score) for score in scores}
    by_rep_scenario: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for session in sessions:
        by_rep_scenario[(session["membership_id"], session["scenario_id"])].append(session)

    today = timezone.localdate()
    result = {}
    for enrollment in enrollments:
        program = programs[enrollment.program_id]
        step_results = []
        for step in steps_by_program.get(enrollment.program_id, []):
            mine = sorted(
                (s for s in by_rep_scenario[(enrollment.membership_id, step.scenario_id)]
                 if s["started_at"] >= enrollment.assigned_at),
                key=lambda s: (s["started_at"], s["id"]),
            )
            if program.max_attempts is not None:
                mine = mine[: program.max_attempts]  # sessions past the limit don't count for the program
            scored = [counted[s["id"]] for s in mine if counted.get(s["id"]) is not None]
            step_results.append(
                readiness.step_readiness(_step_marks(step), scored, attempts=len(mine), max_attempts=program.max_attempts)
            )
        result[enrollment.id] = readiness.program_readiness(
            step_results, is_ordered=program.is_ordered, due_on=program.due_on, today=today
        )
    return result


def readiness_rows(*, tenant: Tenant, enrollments) -> list[dict]:
    enrollments = list(enrollments)
    computed = readiness_for(tenant=tenant, enrollments=enrollments)
    return [{"enrollment": e, "readiness": computed[e.id]} for e in enrollments]


def readiness_overview(*, membership: Membership) -> dict:
    """Everyone this member follows across live programs, grouped for a manager: stuck, overdue,
    ready awaiting confirmation, confirmed, practising, not started."""
    tenant = membership.tenant
    enrollments = ProgramEnrollment.objects.for_tenant(tenant).filter(program__archived_at__isnull=True)
    if membership.role == Role.MANAGER:
        enrollments = enrollments.filter(membership_id__in=visible_rep_memberships(membership=membership).values("id"))
    elif membership.role not in AUTHORS:
        enrollments = enrollments.filter(membership=membership)
    rows = readiness_rows(
        tenant=tenant,
        enrollments=enrollments.select_related("membership__user", "program", "live_decided_by").order_by(
            "program__title", "membership__user__email"
        ),
    )
    groups: dict[str, list[dict]] = {key: [] for key in ("stuck", "overdue", "awaiting", "confirmed", "practising", "not_started")}
    for row in rows:
        r, e = row["readiness"], row["enrollment"]
        if e.live_status == "confirmed":
            groups["confirmed"].append(row)
        elif r.state == readiness.READY:
            groups["awaiting"].append(row)
        elif r.stuck:
            groups["stuck"].append(row)
        elif r.overdue:
            groups["overdue"].append(row)
        elif r.state == readiness.PRACTISING:
            groups["practising"].append(row)
        else:
            groups["not_started"].append(row)
    return groups


def rep_readiness(*, tenant: Tenant, membership: Membership) -> dict:
    """One rep's readiness per program and overall: for the scorecard and insights pages."""
    rows = readiness_rows(tenant=tenant, enrollments=my_enrollments(membership=membership))
    return {
        "state": readiness.overall_state([row["readiness"].state for row in rows]) if rows else None,
        "programs": rows,
    }


def people_readiness(*, viewer: Membership, membership_ids: list[int]) -> dict[int, PersonStatus]:
    """The people-status provider for the scorecard and insights: each rep's readiness across their
    live programs ("Ready", "Practising", "Not started"), a line of evidence, and a link to the
    program that most needs a look. Reps in no program are left out. One query when nobody is
    enrolled, five otherwise, however many reps."""
    tenant = viewer.tenant
    enrollments = ProgramEnrollment.objects.for_tenant(tenant).filter(
        membership_id__in=membership_ids, program__archived_at__isnull=True
    )
    if viewer.role == Role.MANAGER:
        enrollments = enrollments.filter(membership_id__in=visible_rep_memberships(membership=viewer).values("id"))
    elif viewer.role not in AUTHORS:
        enrollments = enrollments.filter(membership=viewer)
    enrollments = list(enrollments.select_related("program").order_by("program__due_on", "program__title", "id"))
    computed = readiness_for(tenant=tenant, enrollments=enrollments)
    by_rep: dict[int, list[ProgramEnrollment]] = defaultdict(list)
    for enrollment in enrollments:
        by_rep[enrollment.membership_id].append(enrollment)
    answers = {}
    for rep_id, mine in by_rep.items():
        states = [computed[e.id] for e in mine]
        state = readiness.overall_state([r.state for r in states])
        # The evidence to open: the first program (by due date) not yet ready, else the first one.
        focus = next((e for e in mine if computed[e.id].state != readiness.READY), mine[0])
        focus_state = computed[focus.id]
        if len(mine) == 1:
            detail = f"{focus.program.title}: {focus_state.passed_steps} of {len(focus_state.steps)} scenarios passed"
        else:
            ready = sum(1 for r in states if r.state == readiness.READY)
            detail = f"{ready} of {len(mine)} programs ready"
        flags = [label for label, on in (("stuck", any(r.stuck for r in states)),
                                          ("overdue", any(r.overdue for r in states))) if on]
        if any(e.live_status == "confirmed" for e in mine):
            flags.insert(0, "confirmed for live")
        if flags:
            detail += f" ({', '.join(flags)})"
        if state == readiness.PRACTISING and focus_state.holding_back:  # not started: nothing holds them back yet
            detail += "; holding back: " + ", ".join(behavior_label(key) for key in focus_state.holding_back[:3])
        answers[rep_id] = PersonStatus(
            state=state, text=readiness.STATE_LABELS[state], detail=detail,
            url=reverse("program_readiness", kwargs={"tenant_slug": tenant.slug, "program_id": focus.program_id,
                                                     "rep_id": rep_id}),
        )
    return answers
