"""Input and output serializers of the scenarios API. A spec is passed through as a JSON object and
validated by scenarios.spec in the services, never here."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import MOMENT_CHOICES, Assignment, AssignmentRecipient, Scenario, ScenarioVersion
from ..selectors import scenario_draft_version, scenario_published_version


@extend_schema_field(OpenApiTypes.OBJECT)
class SpecField(serializers.JSONField):
    """A scenario spec: see docs/scenarios.md for its keys."""


class VersionBriefOutput(serializers.ModelSerializer):
    # Plain text in the schema: an enum component named "status" collides with other apps' enums.
    status = serializers.CharField(help_text="draft, published or archived")
    is_locked = serializers.BooleanField()

    class Meta:
        model = ScenarioVersion
        fields = ["id", "number", "status", "created_at", "published_at", "used_at", "is_locked"]


class VersionOutput(VersionBriefOutput):
    scenario_id = serializers.IntegerField()
    spec = SpecField()

    class Meta(VersionBriefOutput.Meta):
        fields = [*VersionBriefOutput.Meta.fields, "scenario_id", "spec"]


class ScenarioOutput(serializers.ModelSerializer):
    moment = serializers.ChoiceField(choices=MOMENT_CHOICES)
    published_version_id = serializers.SerializerMethodField()
    draft_version_id = serializers.SerializerMethodField()

    class Meta:
        model = Scenario
        fields = [
            "id", "slug", "title", "moment", "source_library_slug", "created_at", "updated_at", "archived_at",
            "published_version_id", "draft_version_id",
        ]

    def get_published_version_id(self, scenario: Scenario) -> int | None:
        version = scenario_published_version(scenario)
        return version.id if version else None

    def get_draft_version_id(self, scenario: Scenario) -> int | None:
        version = scenario_draft_version(scenario)
        return version.id if version else None


class ScenarioDetailOutput(ScenarioOutput):
    versions = VersionBriefOutput(many=True)

    class Meta(ScenarioOutput.Meta):
        fields = [*ScenarioOutput.Meta.fields, "versions"]


class ScenarioInput(serializers.Serializer):
    spec = SpecField(help_text="The whole scenario, as in a YAML file (docs/scenarios.md).")


class ScenarioSavedOutput(serializers.Serializer):
    scenario = ScenarioDetailOutput()
    version = VersionOutput(help_text="The draft the content was saved to.")


class ImportInput(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="A YAML file (multipart).")
    yaml = serializers.CharField(required=False, allow_blank=False, trim_whitespace=False, help_text="Or the YAML text.")
    publish = serializers.BooleanField(default=False, help_text="Publish every imported scenario.")

    def validate(self, data):
        upload = data.get("file")
        if upload is not None:
            try:
                data["yaml"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise serializers.ValidationError({"file": "must be UTF-8 text"}) from None
        if not data.get("yaml"):
            raise serializers.ValidationError({"yaml": "send a YAML file or the YAML text"})
        return data


class ImportOutput(serializers.Serializer):
    created = serializers.ListField(child=serializers.CharField())
    new_drafts = serializers.ListField(child=serializers.CharField())
    unchanged = serializers.ListField(child=serializers.CharField())
    published = serializers.ListField(child=serializers.CharField())


class ChangeOutput(serializers.Serializer):
    path = serializers.CharField(help_text="Flattened spec path, e.g. persona.facts.1")
    change = serializers.ChoiceField(choices=["added", "removed", "changed"], source="kind")
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class DiffOutput(serializers.Serializer):
    before_id = serializers.IntegerField()
    after_id = serializers.IntegerField()
    changes = ChangeOutput(many=True)


class RecipientOutput(serializers.ModelSerializer):
    membership_id = serializers.IntegerField()
    email = serializers.EmailField(source="membership.user.email")
    via_team_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = AssignmentRecipient
        fields = ["id", "membership_id", "email", "via_team_id", "attempts", "completed_at"]


class AssignmentOutput(serializers.ModelSerializer):
    scenario_id = serializers.IntegerField()
    version_id = serializers.IntegerField()
    team_ids = serializers.SerializerMethodField()
    done = serializers.IntegerField(source="recipient_done", default=0)
    total = serializers.IntegerField(source="recipient_total", default=0)

    class Meta:
        model = Assignment
        fields = [
            "id", "scenario_id", "version_id", "team_ids", "due_on", "focus_behavior", "max_attempts", "note",
            "created_at", "cancelled_at", "done", "total",
        ]

    def get_team_ids(self, assignment: Assignment) -> list[int]:
        return [link.team_id for link in assignment.team_links.all()]


class AssignmentDetailOutput(AssignmentOutput):
    recipients = serializers.SerializerMethodField()

    class Meta(AssignmentOutput.Meta):
        fields = [*AssignmentOutput.Meta.fields, "recipients"]

    @extend_schema_field(RecipientOutput(many=True))
    def get_recipients(self, assignment: Assignment):
        from ..selectors import assignment_recipients

        recipients = assignment_recipients(membership=self.context["membership"], assignment=assignment)
        return RecipientOutput(recipients, many=True).data


class AssignmentInput(serializers.Serializer):
    scenario_id = serializers.IntegerField()
    rep_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    team_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    due_on = serializers.DateField(required=False, allow_null=True, default=None)
    focus_behavior = serializers.CharField(required=False, allow_blank=True, default="", max_length=50)
    max_attempts = serializers.IntegerField(required=False, allow_null=True, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
