"""Forms of the KPI pages. Errors are worded for the manager filling them in."""

from django import forms

from ..helpdesk.presets import PRESET_CHOICES
from ..helpdesk.reading import WEEKLY
from ..kpi.custom_metrics import kpi_metric_definition
from ..models import KpiDateFormat, KpiDelimiter, KpiFormat, KpiUnit

REP_KEY_CHOICES = [("", "Detect from the header"), ("email", "Email"), ("external_id", "Help-desk id (external id)")]


class KpiUploadForm(forms.Form):
    file = forms.FileField(
        label="KPI file (CSV)",
        help_text="Long (rep_email, period_start, metric, value) or wide (one column per metric). The first line is "
        "the header.",
    )
    ratings = forms.FileField(
        label="Ratings file (optional)", required=False,
        help_text="Intercom keeps satisfaction ratings in a separate CSAT export (Conversation ID, Conversation "
        "rating): add it here and the ratings are joined to the conversations.",
    )
    source = forms.CharField(
        label="Source", max_length=100, initial="Help desk export",
        help_text="Where the file comes from, e.g. “Zendesk export”. Its reading settings are remembered.",
        widget=forms.TextInput(attrs={"list": "kpi-sources", "autocomplete": "off"}),
    )


class KpiReadingForm(forms.Form):
    """How to read a source's files: layout, delimiter, date format and the column mapping."""

    preset = forms.ChoiceField(
        label="Export", required=False,
        choices=[("", "Recognise from the header"), (WEEKLY, "Weekly values per rep (not a help-desk export)"),
                 *PRESET_CHOICES],
        help_text="Which help desk's ticket or call export this is, when the header isn't enough.",
    )
    timezone = forms.CharField(
        label="Time zone", max_length=64, required=False,
        help_text="For times without a zone and for the weeks (e.g. Europe/Berlin). Blank: the workspace default. "
        "A zone in a column name, like “(America/New_York)”, wins for that column.",
    )
    format = forms.ChoiceField(label="Layout", choices=KpiFormat.choices)
    delimiter = forms.ChoiceField(label="Delimiter", choices=KpiDelimiter.choices, required=False)
    date_format = forms.ChoiceField(label="Date format", choices=KpiDateFormat.choices)
    rep = forms.CharField(label="Rep column", max_length=100, required=False, help_text="Blank: detect (rep_email, agent_email, agent_id…).")
    rep_key = forms.ChoiceField(label="The rep column holds", choices=REP_KEY_CHOICES, required=False)
    period = forms.CharField(label="Week column", max_length=100, required=False, help_text="Blank: detect (period_start, week, date…).")
    metric = forms.CharField(label="Metric column (long files)", max_length=100, required=False)
    value = forms.CharField(label="Value column (long files)", max_length=100, required=False)
    metrics = forms.CharField(
        label="Metric names", required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line: file column (or metric name) = metric key, e.g. “Tickets escalated % = escalation_rate”.",
    )

    @classmethod
    def initial_for(cls, source) -> dict:
        mapping = source.column_mapping or {}
        return {
            "preset": mapping.get("preset", ""), "timezone": mapping.get("timezone", ""),
            "format": source.format, "delimiter": source.delimiter, "date_format": source.date_format,
            "rep": mapping.get("rep", ""), "rep_key": mapping.get("rep_key", ""), "period": mapping.get("period", ""),
            "metric": mapping.get("metric", ""), "value": mapping.get("value", ""),
            "metrics": "\n".join(f"{column} = {key}" for column, key in (mapping.get("metrics") or {}).items()),
        }


class KpiMetricForm(forms.Form):
    """A tenant's own KPI. The service checks the key and names against every existing metric."""

    label = forms.CharField(label="Name", max_length=100, help_text="As it reads on the scorecard, e.g. “Refund rate”.")
    key = forms.CharField(
        label="Key", max_length=50,
        help_text="The metric's name in files and the API: lowercase letters, digits and underscores (refund_rate).",
    )
    unit = forms.ChoiceField(label="Unit", choices=KpiUnit.choices, initial=KpiUnit.NUMBER)
    higher_is_better = forms.TypedChoiceField(
        label="Better when", choices=[("true", "Higher"), ("false", "Lower")], coerce=lambda v: v == "true",
        initial="true",
    )
    min_value = forms.FloatField(label="Lowest accepted value", required=False)
    max_value = forms.FloatField(label="Highest accepted value", required=False)
    aliases = forms.CharField(
        label="Other names in files", required=False, max_length=600,
        help_text="Comma-separated column or metric names your help desk uses for it, e.g. “Refund %, refunds”.",
    )


class KpiMetricEditForm(KpiMetricForm):
    """A custom KPI's definition, all but the key: files and mappings name the metric by it."""

    key = None

    @classmethod
    def for_metric(cls, metric, data=None) -> "KpiMetricEditForm":
        current = kpi_metric_definition(metric)
        initial = {
            **current, "higher_is_better": "true" if current["higher_is_better"] else "false",
            "aliases": ", ".join(current["aliases"]),
        }
        return cls(data, initial=initial)
