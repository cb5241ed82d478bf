"""API shapes of programs and readiness (output only: programs are built on the pages)."""

from __future__ import annotations

from rest_framework import serializers

from ..models import Program, ProgramStep


class StepOutput(serializers.ModelSerializer):
    scenario_id = serializers.IntegerField()
    scenario_title = serializers.CharField(source="scenario.title")
    behavior_minimums = serializers.DictField(child=serializers.IntegerField())

    class Meta:
        model = ProgramStep
        fields = ["id", "position", "scenario_id", "scenario_title", "pass_overall", "behavior_minimums"]


class ProgramOutput(serializers.ModelSerializer):
    step_count = serializers.IntegerField(read_only=True)
    enrolled_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Program
        fields = ["id", "title", "description", "is_ordered", "due_on", "max_attempts", "created_at", "archived_at",
                  "step_count", "enrolled_count"]


class ProgramDetailOutput(ProgramOutput):
    steps = serializers.SerializerMethodField()

    class Meta(ProgramOutput.Meta):
        fields = [*ProgramOutput.Meta.fields, "steps"]

    def get_steps(self, program) -> list[dict]:
        return StepOutput(self.context["steps"], many=True).data


class SessionEvidenceOutput(serializers.Serializer):
    session_id = serializers.IntegerField()
    ended_at = serializers.DateTimeField()
    overall = serializers.IntegerField()
    behaviors = serializers.DictField(child=serializers.IntegerField())
    adjusted = serializers.BooleanField()
    passed = serializers.BooleanField()


class StepReadinessOutput(serializers.Serializer):
    step_id = serializers.IntegerField()
    scenario_id = serializers.IntegerField()
    title = serializers.CharField()
    state = serializers.ChoiceField(choices=["not_started", "practising", "ready"])
    pass_overall = serializers.IntegerField()
    behavior_minimums = serializers.DictField(child=serializers.IntegerField())
    attempts = serializers.IntegerField()
    attempts_left = serializers.IntegerField(allow_null=True)
    standing = serializers.FloatField(allow_null=True)
    behavior_standing = serializers.DictField(child=serializers.FloatField())
    holding_back = serializers.ListField(child=serializers.CharField())
    stuck = serializers.BooleanField()
    locked = serializers.BooleanField()
    sessions = SessionEvidenceOutput(many=True)


class ReadinessOutput(serializers.Serializer):
    program_id = serializers.IntegerField()
    program_title = serializers.CharField()
    membership_id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=["not_started", "practising", "ready"])
    passed_steps = serializers.IntegerField()
    overdue = serializers.BooleanField()
    stuck = serializers.BooleanField()
    holding_back = serializers.ListField(child=serializers.CharField())
    live_status = serializers.ChoiceField(choices=["", "confirmed", "withdrawn"])
    live_reason = serializers.CharField()
    live_decided_at = serializers.DateTimeField(allow_null=True)
    steps = StepReadinessOutput(many=True)


def readiness_data(row: dict) -> dict:
    enrollment, r = row["enrollment"], row["readiness"]
    return {
        "program_id": enrollment.program_id, "program_title": enrollment.program.title,
        "membership_id": enrollment.membership_id, "email": enrollment.membership.user.email,
        "name": enrollment.membership.user.display_name, "state": r.state, "passed_steps": r.passed_steps,
        "overdue": r.overdue, "stuck": r.stuck, "holding_back": r.holding_back,
        "live_status": enrollment.live_status, "live_reason": enrollment.live_reason,
        "live_decided_at": enrollment.live_decided_at,
        "steps": [
            {
                "step_id": step.marks.step_id, "scenario_id": step.marks.scenario_id, "title": step.marks.title,
                "state": step.state, "pass_overall": step.marks.pass_overall,
                "behavior_minimums": step.marks.behavior_minimums, "attempts": step.attempts,
                "attempts_left": step.attempts_left, "standing": step.standing,
                "behavior_standing": step.behavior_standing, "holding_back": step.holding_back,
                "stuck": step.stuck, "locked": step.locked,
                "sessions": [
                    {"session_id": s.session_id, "ended_at": s.ended_at, "overall": s.overall, "behaviors": s.behaviors,
                     "adjusted": s.adjusted, "passed": s.session_id in step.passed_session_ids}
                    for s in step.sessions
                ],
            }
            for step in r.steps
        ],
    }
