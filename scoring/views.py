"""Score pages: the results partial the session page loads (and polls while scoring runs), and the
review actions on it — adjust a behavior score, comment on a turn, dispute, resolve a dispute.

Every action answers an HTMX request with the re-rendered partial; without HTMX it redirects to the
standalone scores page, or shows it again with the form's errors."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from coachhub.core.errors import ApplicationError
from coachhub.core.limits import SCORING_LIMITED, enforce
from coachhub.tenancy.access import ALL_ROLES, REVIEWERS, role_required
from scenarios.behaviors import behavior_label
from sessions.models import PracticeSession, SessionStatus
from sessions.selectors import turn_list

from . import selectors, services
from .models import DisputeStatus, ScoreStatus

# Keep polling quickly while a job should be close; after this long without a run, poll slowly.
SLOW_POLL_AFTER_S = 120


class AdjustForm(forms.Form):
    score = forms.IntegerField(min_value=0, max_value=100, label="New score (0–100)")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=services.REASON_MAX,
        label="Why", help_text="Required: the rep sees it next to the AI's score.",
    )


class CommentForm(forms.Form):
    turn_index = forms.TypedChoiceField(coerce=int, label="Turn")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=services.NOTE_MAX, label="Comment")

    def __init__(self, *args, turns=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["turn_index"].choices = [
            (turn.index, f"#{turn.index + 1} {turn.get_speaker_display()}: {turn.text[:60]}") for turn in turns
        ]


class DisputeForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=services.NOTE_MAX,
        label="What did the score miss?",
    )


class ResolveForm(forms.Form):
    resolution_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=services.NOTE_MAX, label="Your answer"
    )
    score = forms.IntegerField(min_value=0, max_value=100, required=False, label="Change the score to (optional)")


# --- building the partial -----------------------------------------------------------------------


def _partial_context(request: HttpRequest, session: PracticeSession, *, forms_with_errors: dict | None = None
                     ) -> dict:
    tenant, viewer = request.tenant, request.membership
    forms_with_errors = forms_with_errors or {}
    context: dict = {"session": session, "can_review": selectors.can_review(viewer=viewer, session=session),
                     "can_dispute": selectors.can_dispute(viewer=viewer, session=session)}
    if session.status != SessionStatus.ENDED:
        context["state"] = "in_progress"
        return context
    current = selectors.session_score_current(tenant=tenant, session=session)
    latest = selectors.session_score_latest(tenant=tenant, session=session)
    if current is None:
        if latest is not None and latest.status == ScoreStatus.FAILED:
            context.update(state="failed", latest=latest)
        else:
            waited = (timezone.now() - (session.ended_at or timezone.now())).total_seconds()
            context.update(state="pending", latest=latest, poll="every 1s" if waited < SLOW_POLL_AFTER_S else "every 10s")
        return context

    spec = session.version.as_spec()
    in_rubric = {behavior.key for behavior in spec.rubric.behaviors}
    trends = selectors.rep_behavior_trends(tenant=tenant, rep_id=session.membership_id, until=session.ended_at)
    disputes = list(selectors.dispute_list(tenant=tenant, viewer=viewer, session_id=session.id))
    behaviors = []
    for row in current.behaviors.all():
        row_disputes = [d for d in disputes if d.behavior_score_id == row.id]
        open_dispute = next((d for d in row_disputes if d.status == DisputeStatus.OPEN), None)
        behaviors.append({
            "row": row,
            "label": behavior_label(row.behavior),
            "in_rubric": row.behavior in in_rubric,
            "trend": trends.get(row.behavior),
            "disputes": row_disputes,
            "open_dispute": open_dispute,
            "adjust_form": forms_with_errors.get(("adjust", row.id)) or AdjustForm(
                prefix=f"adjust-{row.id}", initial={"score": row.final_score}),
            "dispute_form": forms_with_errors.get(("dispute", row.id)) or DisputeForm(prefix=f"dispute-{row.id}"),
            "resolve_form": (forms_with_errors.get(("resolve", open_dispute.id)) if open_dispute else None)
            or ResolveForm(prefix=f"resolve-{open_dispute.id if open_dispute else 0}"),
        })
    policies_text = spec.policies
    policies = [
        {
            "text": policies_text[item["policy"]] if isinstance(item.get("policy"), int)
            and 0 <= item["policy"] < len(policies_text) else f"Policy {item.get('policy')}",
            "status": item.get("status"),
            "turn": item.get("turn"),
        }
        for item in (current.result or {}).get("policies", [])
    ]
    turns = list(turn_list(tenant=tenant, session=session))
    comments = list(selectors.turn_comment_list(tenant=tenant, viewer=viewer, session_id=session.id))
    context.update(
        state="done",
        score=current,
        rescoring=latest is not None and latest.id != current.id and latest.is_pending,
        behaviors=behaviors,
        policies=policies,
        focus_label=behavior_label(current.focus_behavior) if current.focus_behavior else "",
        comments=comments,
        comment_form=forms_with_errors.get("comment") or CommentForm(prefix="comment", turns=turns),
    )
    return context


def _render(request: HttpRequest, session: PracticeSession, *, status: int = 200, forms_with_errors=None
            ) -> HttpResponse:
    context = _partial_context(request, session, forms_with_errors=forms_with_errors)
    if request.htmx:
        # HTMX swaps only 2xx answers, so form errors travel in a 200 partial.
        return render(request, "scoring/partials/_session_scores.html", context)
    return render(request, "scoring/session_scores.html", context, status=status)


def _done(request: HttpRequest, session: PracticeSession, message: str) -> HttpResponse:
    if request.htmx:
        messages.success(request, message)
        return _render(request, session)
    messages.success(request, message)
    return redirect("session_scores", tenant_slug=request.tenant.slug, session_id=session.id)


def _refused(request: HttpRequest, session: PracticeSession, exc: ApplicationError, *, form=None, form_key=None
             ) -> HttpResponse:
    """A domain rule said no: 403/404 as such; a field problem back on the form; otherwise a message."""
    if exc.status_code == 403:
        raise PermissionDenied(exc.message)
    if exc.status_code == 404:
        raise Http404(exc.message)
    if form is not None and exc.fields:
        for name, problem in exc.fields.items():
            form.add_error(name if name in form.fields else None, problem)
        return _render(request, session, status=400, forms_with_errors={form_key: form})
    messages.error(request, exc.message)
    if request.htmx:
        return _render(request, session)
    return redirect("session_scores", tenant_slug=request.tenant.slug, session_id=session.id)


def _session(request: HttpRequest, session_id: int) -> PracticeSession:
    return selectors.session_for_scores(tenant=request.tenant, viewer=request.membership, session_id=session_id)


# --- views --------------------------------------------------------------------------------------


@require_GET
@role_required(ALL_ROLES)
def session_scores(request: HttpRequest, tenant_slug: str, session_id: int) -> HttpResponse:
    return _render(request, _session(request, session_id))


@require_POST
@role_required(REVIEWERS)
def score_adjust(request: HttpRequest, tenant_slug: str, session_id: int, behavior_score_id: int) -> HttpResponse:
    session = _session(request, session_id)
    row = selectors.behavior_score_get(tenant=request.tenant, viewer=request.membership,
                                       behavior_score_id=behavior_score_id, session_id=session.id)
    if not selectors.can_review(viewer=request.membership, session=session):
        raise PermissionDenied("You can't review your own practice.")
    prefix = f"adjust-{row.id}"
    form = AdjustForm(request.POST if f"{prefix}-score" in request.POST else _prefixed(request.POST, prefix),
                      prefix=prefix)
    if not form.is_valid():
        return _render(request, session, status=400, forms_with_errors={("adjust", row.id): form})
    try:
        enforce(action="scoring", user_id=request.user.id, message=SCORING_LIMITED)
        services.score_adjust(tenant=request.tenant, actor=request.user, reviewer=request.membership,
                              behavior_score=row, **form.cleaned_data)
    except ApplicationError as exc:
        return _refused(request, session, exc, form=form, form_key=("adjust", row.id))
    return _done(request, session, f"{behavior_label(row.behavior)} set to {form.cleaned_data['score']}.")


@require_POST
@role_required(REVIEWERS)
def turn_comment_add(request: HttpRequest, tenant_slug: str, session_id: int) -> HttpResponse:
    session = _session(request, session_id)
    if not selectors.can_review(viewer=request.membership, session=session):
        raise PermissionDenied("You can't review your own practice.")
    turns = list(turn_list(tenant=request.tenant, session=session))
    data = request.POST if "comment-text" in request.POST else _prefixed(request.POST, "comment")
    form = CommentForm(data, prefix="comment", turns=turns)
    if not form.is_valid():
        return _render(request, session, status=400, forms_with_errors={"comment": form})
    try:
        enforce(action="scoring", user_id=request.user.id, message=SCORING_LIMITED)
        services.turn_comment_add(tenant=request.tenant, actor=request.user, reviewer=request.membership,
                                  session=session, **form.cleaned_data)
    except ApplicationError as exc:
        return _refused(request, session, exc, form=form, form_key="comment")
    return _done(request, session, f"Comment added to turn {form.cleaned_data['turn_index'] + 1}.")


@require_POST
@role_required(ALL_ROLES)
def dispute_open(request: HttpRequest, tenant_slug: str, session_id: int, behavior_score_id: int) -> HttpResponse:
    # Like the runner's actions: only the session's own rep acts here; others get the same 404.
    session = _session(request, session_id)
    if not selectors.can_dispute(viewer=request.membership, session=session):
        raise Http404("No such session of yours.")
    row = selectors.behavior_score_get(tenant=request.tenant, viewer=request.membership,
                                       behavior_score_id=behavior_score_id, session_id=session.id)
    prefix = f"dispute-{row.id}"
    form = DisputeForm(request.POST if f"{prefix}-note" in request.POST else _prefixed(request.POST, prefix),
                       prefix=prefix)
    if not form.is_valid():
        return _render(request, session, status=400, forms_with_errors={("dispute", row.id): form})
    try:
        enforce(action="scoring", user_id=request.user.id, message=SCORING_LIMITED)
        services.dispute_open(tenant=request.tenant, rep=request.membership, behavior_score=row,
                              note=form.cleaned_data["note"])
    except ApplicationError as exc:
        return _refused(request, session, exc, form=form, form_key=("dispute", row.id))
    return _done(request, session, "Your coach will look at this score again.")


@require_POST
@role_required(REVIEWERS)
def dispute_resolve(request: HttpRequest, tenant_slug: str, session_id: int, dispute_id: int) -> HttpResponse:
    session = _session(request, session_id)
    dispute = selectors.dispute_get(tenant=request.tenant, viewer=request.membership, dispute_id=dispute_id,
                                    session_id=session.id)
    if not selectors.can_review(viewer=request.membership, session=session):
        raise PermissionDenied("You can't review your own practice.")
    prefix = f"resolve-{dispute.id}"
    form = ResolveForm(
        request.POST if f"{prefix}-resolution_note" in request.POST else _prefixed(request.POST, prefix),
        prefix=prefix,
    )
    if not form.is_valid():
        return _render(request, session, status=400, forms_with_errors={("resolve", dispute.id): form})
    try:
        enforce(action="scoring", user_id=request.user.id, message=SCORING_LIMITED)
        services.dispute_resolve(tenant=request.tenant, manager=request.membership, actor=request.user,
                                 dispute=dispute, **form.cleaned_data)
    except ApplicationError as exc:
        return _refused(request, session, exc, form=form, form_key=("resolve", dispute.id))
    return _done(request, session, "Dispute resolved.")


def _prefixed(data, prefix: str) -> dict:
    """Accept unprefixed field names too (scripts and tests post plain `note=…`)."""
    return {f"{prefix}-{key}": value for key, value in data.items() if key != "csrfmiddlewaretoken"}
