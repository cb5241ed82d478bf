"""Forms of the program pages: they reshape what people type; the rules live in programs.services."""

from __future__ import annotations

from django import forms

from coachhub.tenancy.models import Membership, Team
from scenarios.forms import RepChoiceField
from scenarios.models import BEHAVIOR_CHOICES, Scenario

from .models import LiveStatus


class ProgramForm(forms.Form):
    title = forms.CharField(label="Title", max_length=120)
    description = forms.CharField(label="What it prepares reps for", required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    is_ordered = forms.BooleanField(label="Reps pass the scenarios in order", required=False)
    due_on = forms.DateField(label="Due date", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    max_attempts = forms.IntegerField(label="Attempts per scenario", required=False, min_value=1, max_value=20,
                                      help_text="Empty for unlimited.")


class StepForm(forms.Form):
    """A scenario and its pass mark; one optional minimum per behavior (only the scenario's own
    rubric behaviors are accepted, which the service checks)."""

    scenario = forms.ModelChoiceField(label="Scenario", queryset=Scenario.objects.none(),
                                      empty_label="Choose a published scenario")
    pass_overall = forms.IntegerField(label="Pass mark (overall score)", min_value=0, max_value=100, initial=70)

    def __init__(self, *args, scenarios, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scenario"].queryset = scenarios
        for key, label in BEHAVIOR_CHOICES:
            self.fields[f"min_{key}"] = forms.IntegerField(
                label=f"Minimum {label.lower()}", required=False, min_value=0, max_value=100
            )

    def minimums(self) -> dict[str, int | None]:
        return {key: self.cleaned_data.get(f"min_{key}") for key, _ in BEHAVIOR_CHOICES}

    def minimum_fields(self):
        return [self[f"min_{key}"] for key, _ in BEHAVIOR_CHOICES]


class ProgramAssignForm(forms.Form):
    teams = forms.ModelMultipleChoiceField(
        label="Teams", queryset=Team.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Everyone in the team today is enrolled.",
    )
    reps = RepChoiceField(label="Reps", queryset=Membership.objects.none(), required=False,
                          widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, teams, reps, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teams"].queryset = teams
        self.fields["reps"].queryset = reps

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("teams") and not cleaned.get("reps"):
            raise forms.ValidationError("Choose at least one team or rep.")
        return cleaned


class LiveDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[(LiveStatus.CONFIRMED, "Confirm ready for live"),
                                          (LiveStatus.WITHDRAWN, "Withdraw ready for live")])
    reason = forms.CharField(label="Reason", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class LRSSettingsForm(forms.Form):
    endpoint = forms.CharField(label="xAPI endpoint", max_length=200,
                               help_text="The LRS's statement API base, e.g. https://lrs.example.com/xapi/")
    username = forms.CharField(label="Key (user name)", max_length=200)
    secret = forms.CharField(label="Secret", required=False, max_length=500,
                             widget=forms.PasswordInput(render_value=False),
                             help_text="Stored encrypted and never shown again; leave empty to keep the saved one.")
    is_enabled = forms.BooleanField(label="Send statements", required=False, initial=True)


class LTIPlatformForm(forms.Form):
    name = forms.CharField(label="LMS name", max_length=120, required=False, help_text="e.g. Canvas (production)")
    issuer = forms.CharField(label="Issuer (platform id)", max_length=255,
                             help_text="Canvas: https://canvas.instructure.com; Moodle: your site's URL")
    client_id = forms.CharField(label="Client id", max_length=255)
    deployment_ids = forms.CharField(label="Deployment ids", widget=forms.Textarea(attrs={"rows": 2}),
                                     help_text="One per line.")
    auth_login_url = forms.URLField(label="Authentication request URL", max_length=500, assume_scheme="https")
    auth_token_url = forms.URLField(label="Access token URL", max_length=500, assume_scheme="https")
    key_set_url = forms.URLField(label="Public keyset URL", max_length=500, assume_scheme="https")

    def cleaned_platform(self) -> dict:
        data = dict(self.cleaned_data)
        data["deployment_ids"] = [line.strip() for line in data["deployment_ids"].splitlines() if line.strip()]
        return data
