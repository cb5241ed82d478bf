"""Input and output serializers of the sessions API."""

from rest_framework import serializers

from ..models import EndReason, Mode, PracticeSession, Turn


class TurnOutput(serializers.ModelSerializer):
    class Meta:
        model = Turn
        fields = ["index", "speaker", "text", "created_at", "latency_ms", "frustration", "cues", "revealed", "delivery"]


class SessionOutput(serializers.ModelSerializer):
    rep = serializers.EmailField(source="membership.user.email")
    scenario = serializers.CharField(source="scenario.slug")
    scenario_title = serializers.CharField(source="scenario.title")
    version_id = serializers.IntegerField()
    assignment_recipient_id = serializers.IntegerField(source="recipient_id", allow_null=True)

    class Meta:
        model = PracticeSession
        fields = [
            "id", "rep", "scenario", "scenario_title", "version_id", "assignment_recipient_id", "mode", "engine",
            "engine_model", "status", "end_reason", "frustration", "is_trial", "started_at", "ended_at",
        ]


class SessionStartInput(serializers.Serializer):
    version_id = serializers.IntegerField(required=False)
    assignment_recipient_id = serializers.IntegerField(required=False)
    mode = serializers.ChoiceField(choices=Mode.choices, default=Mode.TEXT)
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)

    def validate(self, data):
        if not data.get("version_id") and not data.get("assignment_recipient_id"):
            raise serializers.ValidationError({"version_id": ["Give version_id or assignment_recipient_id."]})
        return data


class TurnInput(serializers.Serializer):
    text = serializers.CharField(max_length=2000, allow_blank=True, trim_whitespace=True)


class TurnExchangeOutput(serializers.Serializer):
    rep_turn = TurnOutput()
    customer_turn = TurnOutput()
    session = SessionOutput()


class VoiceTurnInput(serializers.Serializer):
    audio = serializers.FileField(help_text="The rep's recording: WAV, WebM/Opus, Ogg/Opus or MP4/AAC.")


class VoiceTurnExchangeOutput(TurnExchangeOutput):
    delivery = serializers.DictField(
        help_text="How the rep spoke: words per minute, pauses, filler words, duration and transcription time."
    )


class SessionEndInput(serializers.Serializer):
    reason = serializers.ChoiceField(choices=[EndReason.REP_ENDED], default=EndReason.REP_ENDED)
