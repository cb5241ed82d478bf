"""Input and output serializers of the KPI API."""

from rest_framework import serializers

from ..models import KpiImport, KpiMetric, KpiUnit


class KpiMetricOutput(serializers.ModelSerializer):
    class Meta:
        model = KpiMetric
        fields = ["id", "key", "label", "unit", "higher_is_better", "is_builtin", "min_value", "max_value", "aliases"]


class KpiMetricInput(serializers.Serializer):
    key = serializers.CharField(max_length=50, help_text="lowercase letters, digits and underscores, e.g. refund_rate")
    label = serializers.CharField(max_length=100)
    unit = serializers.ChoiceField(choices=KpiUnit.choices, default=KpiUnit.NUMBER)
    higher_is_better = serializers.BooleanField(default=True)
    min_value = serializers.FloatField(required=False, allow_null=True, default=None)
    max_value = serializers.FloatField(required=False, allow_null=True, default=None)
    aliases = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, default=list, max_length=10,
        help_text="Other column or metric names in files that mean this metric.",
    )


class KpiMetricChangeInput(serializers.Serializer):
    """The fields to change on a custom KPI; the key can't change. Omitted fields keep their value."""

    label = serializers.CharField(max_length=100, required=False)
    unit = serializers.ChoiceField(choices=KpiUnit.choices, required=False)
    higher_is_better = serializers.BooleanField(required=False)
    min_value = serializers.FloatField(required=False, allow_null=True)
    max_value = serializers.FloatField(required=False, allow_null=True)
    aliases = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=10)


class KpiRowErrorOutput(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, help_text="Line in the file; the header is line 1.")
    column = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class KpiUnknownAgentOutput(serializers.Serializer):
    agent = serializers.CharField(help_text="As the export writes it.")
    rows = serializers.IntegerField()
    line = serializers.IntegerField(allow_null=True, help_text="Its first line in the file.")


class KpiSampleRowOutput(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, help_text="Null for values aggregated from a help-desk export.")
    rows = serializers.IntegerField(required=False, help_text="Help-desk exports: the rows this weekly value came from.")
    rep = serializers.CharField()
    metric = serializers.CharField()
    period_start = serializers.DateField()
    value = serializers.FloatField()
    change = serializers.ChoiceField(choices=["new", "update", "same"], required=False)


class KpiImportOutput(serializers.ModelSerializer):
    source = serializers.CharField(source="source.name")
    uploaded_by = serializers.EmailField(source="uploaded_by.email", allow_null=True, default=None)
    ok = serializers.SerializerMethodField()
    progress_percent = serializers.IntegerField()
    errors = KpiRowErrorOutput(many=True)
    sample = KpiSampleRowOutput(many=True)
    notices = serializers.ListField(child=serializers.CharField())
    preset = serializers.CharField(help_text="The help-desk export the file was read as; blank for weekly files.")
    preset_confidence = serializers.FloatField(allow_null=True, help_text="Share (0–1) of the export's columns found.")
    definitions = serializers.DictField(child=serializers.CharField(),
                                        help_text="Per metric key: how this import's weekly values were computed.")
    unknown_agents = KpiUnknownAgentOutput(many=True)

    class Meta:
        model = KpiImport
        fields = [
            "id", "file_name", "source", "uploaded_by", "sha256", "size_bytes", "status", "ok", "total_rows",
            "processed_rows", "progress_percent", "created_count", "updated_count", "unchanged_count",
            "error_count", "errors", "notices", "sample", "preset", "preset_confidence", "definitions",
            "unknown_agents", "created_at", "finished_at",
        ]

    def get_ok(self, obj: KpiImport) -> bool:
        return obj.error_count == 0


class KpiImportInput(serializers.Serializer):
    file = serializers.FileField(help_text="A CSV file (UTF-8; comma or semicolon separated).")
    dry_run = serializers.BooleanField(
        default=True, help_text="Only check the file and report what would change (the default)."
    )
    source = serializers.CharField(
        max_length=100, required=False, default="Help desk export",
        help_text="Name of the source whose saved reading settings apply; created if new.",
    )
