"""Input and output serializers of the scoring API."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import BehaviorScore, Dispute, DisputeStatus, ScoreStatus, SessionScore, TurnComment


class EvidenceOutput(serializers.Serializer):
    turn = serializers.IntegerField(help_text="The transcript turn's index.")
    quote = serializers.CharField()


class BehaviorScoreOutput(serializers.ModelSerializer):
    evidence = EvidenceOutput(many=True)
    final_score = serializers.IntegerField(allow_null=True, help_text="The adjusted score when there is one.")
    adjusted_by = serializers.EmailField(source="adjusted_by.email", allow_null=True, default=None)

    class Meta:
        model = BehaviorScore
        fields = [
            "id", "behavior", "weight", "ai_score", "final_score", "rationale", "confidence", "evidence",
            "adjusted_score", "adjusted_by", "adjusted_reason", "adjusted_at",
        ]


class FocusOutput(serializers.Serializer):
    behavior = serializers.CharField(source="focus_behavior")
    tip = serializers.CharField(source="focus_tip")
    example = serializers.CharField(source="focus_example")


class PolicyVerdictOutput(serializers.Serializer):
    policy = serializers.IntegerField(help_text="Index into the scenario version's policies.")
    status = serializers.ChoiceField(choices=["followed", "violated", "not_applicable"])
    turn = serializers.IntegerField(allow_null=True)


class DeliveryOutput(serializers.Serializer):
    words_per_minute = serializers.FloatField(allow_null=True)
    pauses = serializers.IntegerField(allow_null=True)
    fillers = serializers.IntegerField(allow_null=True)


class SessionScoreOutput(serializers.ModelSerializer):
    session_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ScoreStatus.choices)
    behaviors = BehaviorScoreOutput(many=True)
    focus = serializers.SerializerMethodField()
    policies = serializers.SerializerMethodField()
    delivery = DeliveryOutput(allow_null=True)

    class Meta:
        model = SessionScore
        fields = [
            "id", "session_id", "engine", "scorer_version", "rubric_version", "status", "is_current", "overall",
            "behaviors", "focus", "policies", "delivery", "error", "attempts", "created_at", "started_at",
            "finished_at",
        ]

    @extend_schema_field(FocusOutput(allow_null=True))
    def get_focus(self, obj):
        return FocusOutput(obj).data if obj.focus_behavior else None

    @extend_schema_field(PolicyVerdictOutput(many=True))
    def get_policies(self, obj):
        return PolicyVerdictOutput((obj.result or {}).get("policies", []), many=True).data


class ScoreAdjustInput(serializers.Serializer):
    behavior = serializers.CharField(max_length=50, help_text="The behavior key, e.g. empathy.")
    score = serializers.IntegerField(min_value=0, max_value=100)
    reason = serializers.CharField(max_length=1000)


class TurnCommentOutput(serializers.ModelSerializer):
    session_id = serializers.IntegerField()
    author = serializers.EmailField(source="author.email", allow_null=True, default=None)

    class Meta:
        model = TurnComment
        fields = ["id", "session_id", "turn_index", "author", "text", "created_at"]


class TurnCommentInput(serializers.Serializer):
    session_id = serializers.IntegerField()
    turn_index = serializers.IntegerField(min_value=0)
    text = serializers.CharField(max_length=2000)


class DisputeOutput(serializers.ModelSerializer):
    session_id = serializers.IntegerField(source="session_score.session_id")
    behavior = serializers.CharField(source="behavior_score.behavior")
    rep = serializers.EmailField(source="rep.user.email")
    status = serializers.ChoiceField(choices=DisputeStatus.choices)
    resolved_by = serializers.EmailField(source="resolved_by.email", allow_null=True, default=None)

    class Meta:
        model = Dispute
        fields = [
            "id", "session_id", "session_score_id", "behavior_score_id", "behavior", "rep", "note", "status",
            "resolution_note", "resolved_by", "created_at", "resolved_at",
        ]


class DisputeInput(serializers.Serializer):
    behavior_score_id = serializers.IntegerField()
    note = serializers.CharField(max_length=2000)


class DisputeResolveInput(serializers.Serializer):
    resolution_note = serializers.CharField(max_length=2000)
    score = serializers.IntegerField(min_value=0, max_value=100, required=False, allow_null=True, default=None)
