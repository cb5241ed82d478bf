"""Scoring API: session scores (with history), manager adjustments, turn comments and disputes."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from coachhub.core.limits import SCORING_LIMITED, enforce
from coachhub.tenancy.access import ALL_ROLES, REVIEWERS
from coachhub.tenancy.api.base import TenantViewSet

from .. import selectors, services
from ..models import Dispute, SessionScore, TurnComment
from . import serializers as s

SESSION_FILTER = OpenApiParameter("session", OpenApiTypes.INT, description="Only this practice session's rows.")


def _session_filter(request) -> int | None:
    raw = request.query_params.get("session")
    return int(raw) if raw and raw.isdigit() else None


@extend_schema_view(list=extend_schema(parameters=[SESSION_FILTER]))
class SessionScoreViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Scoring runs of the sessions the caller may see, newest first; `is_current` marks the one shown."""

    model = SessionScore
    serializer_class = s.SessionScoreOutput
    role_map = {"GET": ALL_ROLES, "adjust": REVIEWERS}

    def scoped_queryset(self):
        return selectors.session_score_list(
            tenant=self.tenant, viewer=self.membership, session_id=_session_filter(self.request)
        )

    @extend_schema(request=s.ScoreAdjustInput, responses=s.SessionScoreOutput)
    @action(detail=True, methods=["post"])
    def adjust(self, request, *args, **kwargs):
        """Set the score that counts for one behavior, with a required reason; the AI score stays."""
        score = self.get_object()
        data = s.ScoreAdjustInput(data=request.data)
        data.is_valid(raise_exception=True)
        row = get_object_or_404(score.behaviors.all(), behavior=data.validated_data["behavior"])
        row.session_score = score
        enforce(action="scoring", user_id=request.user.id, message=SCORING_LIMITED)
        services.score_adjust(
            tenant=self.tenant, actor=request.user, reviewer=self.membership, behavior_score=row,
            score=data.validated_data["score"], reason=data.validated_data["reason"],
        )
        fresh = selectors.session_score_get(tenant=self.tenant, viewer=self.membership, score_id=score.id)
        return Response(s.SessionScoreOutput(fresh).data)


@extend_schema_view(list=extend_schema(parameters=[SESSION_FILTER]))
class TurnCommentViewSet(mixins.ListModelMixin, TenantViewSet):
    """Coaches' comments on transcript turns."""

    model = TurnComment
    serializer_class = s.TurnCommentOutput
    role_map = {"GET": ALL_ROLES, "POST": REVIEWERS}

    def scoped_queryset(self):
        return selectors.turn_comment_list(
            tenant=self.tenant, viewer=self.membership, session_id=_session_filter(self.request)
        )

    @extend_schema(request=s.TurnCommentInput, responses={201: s.TurnCommentOutput})
    def create(self, request, *args, **kwargs):
        data = s.TurnCommentInput(data=request.data)
        data.is_valid(raise_exception=True)
        session = selectors.session_for_scores(
            tenant=self.tenant, viewer=self.membership, session_id=data.validated_data["session_id"]
        )
        enforce(action="scoring", user_id=request.user.id, message=SCORING_LIMITED)
        comment = services.turn_comment_add(
            tenant=self.tenant, actor=request.user, reviewer=self.membership, session=session,
            turn_index=data.validated_data["turn_index"], text=data.validated_data["text"],
        )
        return Response(s.TurnCommentOutput(comment).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        parameters=[SESSION_FILTER, OpenApiParameter("status", OpenApiTypes.STR, enum=["open", "resolved"])]
    )
)
class DisputeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Reps dispute a behavior score of their own session; reviewers resolve disputes."""

    model = Dispute
    serializer_class = s.DisputeOutput
    role_map = {"GET": ALL_ROLES, "POST": ALL_ROLES, "resolve": REVIEWERS}

    def scoped_queryset(self):
        wanted = self.request.query_params.get("status", "")
        return selectors.dispute_list(
            tenant=self.tenant, viewer=self.membership, session_id=_session_filter(self.request),
            status=wanted if wanted in ("open", "resolved") else "",
        )

    @extend_schema(request=s.DisputeInput, responses={201: s.DisputeOutput})
    def create(self, request, *args, **kwargs):
        data = s.DisputeInput(data=request.data)
        data.is_valid(raise_exception=True)
        row = selectors.behavior_score_get_own(
            tenant=self.tenant, rep=self.membership, behavior_score_id=data.validated_data["behavior_score_id"]
        )
        enforce(action="scoring", user_id=request.user.id, message=SCORING_LIMITED)
        dispute = services.dispute_open(
            tenant=self.tenant, rep=self.membership, behavior_score=row, note=data.validated_data["note"]
        )
        return Response(s.DisputeOutput(self.scoped_queryset().get(id=dispute.id)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=s.DisputeResolveInput, responses=s.DisputeOutput)
    @action(detail=True, methods=["post"])
    def resolve(self, request, *args, **kwargs):
        """Answer a dispute, optionally changing the score in the same step (audited as an adjustment)."""
        dispute = self.get_object()
        data = s.DisputeResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        enforce(action="scoring", user_id=request.user.id, message=SCORING_LIMITED)
        services.dispute_resolve(
            tenant=self.tenant, manager=self.membership, actor=request.user, dispute=dispute,
            resolution_note=data.validated_data["resolution_note"], score=data.validated_data["score"],
        )
        return Response(s.DisputeOutput(self.scoped_queryset().get(id=dispute.id)).data)
