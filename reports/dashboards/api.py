"""The scorecard over the API: the same rows as the page, for BI tools."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response

from coachhub.tenancy.access import REVIEWERS
from coachhub.tenancy.api.base import TenantViewSet
from coachhub.tenancy.models import Membership

from . import selectors
from .weeks import last_full_week, parse_week


class CellSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    change = serializers.FloatField(allow_null=True)


class ScorecardRowSerializer(serializers.Serializer):
    membership_id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.EmailField()
    teams = serializers.CharField()
    behaviors = serializers.SerializerMethodField()
    overall = CellSerializer()
    sessions = serializers.IntegerField()
    scored_sessions = serializers.IntegerField()
    assignments_completed = serializers.IntegerField()
    focus_behavior = serializers.CharField()
    kpis = serializers.SerializerMethodField()

    def get_behaviors(self, row) -> dict[str, dict]:
        keys = self.context["behaviors"]
        return {key: {"value": cell.value, "change": cell.change} for key, cell in zip(keys, row.behaviors, strict=True)}

    def get_kpis(self, row) -> dict[str, dict]:
        keys = self.context["metrics"]
        return {key: {"value": cell.value, "change": cell.change} for key, cell in zip(keys, row.kpis, strict=True)}


@extend_schema_serializer(many=False)  # the scorecard is one object, even though `list` serves it
class ScorecardSerializer(serializers.Serializer):
    week = serializers.DateField()
    sort = serializers.CharField()
    behaviors = serializers.ListField(child=serializers.CharField())
    metrics = serializers.ListField(child=serializers.CharField())
    rows = ScorecardRowSerializer(many=True)


class ScorecardViewSet(TenantViewSet):
    role_map = {"list": REVIEWERS}
    model = Membership
    pagination_class = None

    def scoped_queryset(self):
        return selectors.scorecard_reps(viewer=self.membership)

    @extend_schema(
        parameters=[OpenApiParameter("week", str, description="Any day of the week (YYYY-MM-DD); default: last full week"),
                    OpenApiParameter("sort", str, description="Column key, '-' for descending, e.g. -b:empathy")],
        responses=ScorecardSerializer,
    )
    def list(self, request, *args, **kwargs):
        week = parse_week(request.query_params.get("week"), default=last_full_week())
        card = selectors.scorecard_build(viewer=self.membership, week=week,
                                         sort=request.query_params.get("sort", "rep"))
        metric_keys = [metric.key for metric in card.metrics]
        context = {**self.get_serializer_context(), "behaviors": card.behaviors, "metrics": metric_keys}
        data = ScorecardSerializer(
            {"week": card.week, "sort": card.sort, "behaviors": card.behaviors, "metrics": metric_keys,
             "rows": card.rows},
            context=context,
        ).data
        return Response(data)
