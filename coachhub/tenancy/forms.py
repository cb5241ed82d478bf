"""Forms of the tenancy pages. Errors are worded for the person filling them in."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from coachhub.core.engines import engine_needs_llm

from .models import Role, Team


class EmailLoginForm(AuthenticationForm):
    username = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}))

    error_messages = {
        "invalid_login": "That email and password don't match an account. Check both and try again.",
        "inactive": "This account is disabled. Ask your admin.",
    }


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email")
    full_name = forms.CharField(label="Name", max_length=150, required=False)
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.REP)
    team = forms.ModelChoiceField(label="Team", queryset=Team.objects.none(), required=False, empty_label="No team")

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.for_tenant(tenant)


class MemberCsvForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="Columns: email, name, role, team. The first line is the header.")


class TeamForm(forms.Form):
    name = forms.CharField(label="Team name", max_length=100)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class TeamLinkForm(forms.Form):
    membership = forms.IntegerField(widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=[("member", "Member"), ("coach", "Coach")])
    present = forms.BooleanField(required=False)


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(label="Your name", max_length=150, required=False)
    password = forms.CharField(label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password_confirm = forms.CharField(
        label="Repeat the password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), required=False
    )

    def __init__(self, *args, existing_account: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.existing_account = existing_account
        if existing_account:
            del self.fields["password_confirm"]
            del self.fields["full_name"]
            self.fields["password"].label = "Your CoachHub password"
            self.fields["password"].widget.attrs["autocomplete"] = "current-password"

    def clean(self):
        data = super().clean()
        if not self.existing_account and data.get("password") != data.get("password_confirm"):
            self.add_error("password_confirm", "The two passwords don't match.")
        return data


class TenantCreateForm(forms.Form):
    name = forms.CharField(label="Organization name", max_length=120)
    slug = forms.SlugField(label="URL name", max_length=50, help_text="Lowercase letters, digits and dashes: /t/<name>/")
    admin_email = forms.EmailField(label="First admin's email")
    admin_name = forms.CharField(label="First admin's name", max_length=150, required=False)


class ApiTokenForm(forms.Form):
    name = forms.CharField(label="Token name", max_length=100)


class AISettingsForm(forms.Form):
    customer_engine = forms.ChoiceField(
        label="Customer engine", choices=[("embedded", "Embedded (offline)"), ("llm", "LLM endpoint")],
        help_text="Who plays the customer in practice sessions.",
    )
    scorer_engine = forms.ChoiceField(
        label="Scoring engine", choices=[("embedded", "Embedded (offline)"), ("llm", "LLM judge")],
        help_text="Who scores finished sessions.",
    )
    llm_base_url = forms.URLField(
        label="LLM base URL", required=False, assume_scheme="https",
        help_text="Any OpenAI-compatible Chat Completions endpoint, e.g. https://api.openai.com/v1.",
    )
    llm_model = forms.CharField(label="Model", max_length=100, required=False)
    llm_api_key = forms.CharField(
        label="API key", required=False, widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted and never shown again. Leave empty to keep the saved key.",
    )
    clear_api_key = forms.BooleanField(label="Remove the saved API key", required=False)
    monthly_token_budget = forms.IntegerField(
        label="Monthly token budget", required=False, min_value=0,
        help_text="LLM tokens per calendar month for the whole organization. Empty means no cap.",
    )
    per_minute_token_budget = forms.IntegerField(
        label="Per-minute token budget", required=False, min_value=0,
        help_text="Caps bursts across all users. Empty means no cap.",
    )
    block_publish_without_realism_check = forms.BooleanField(
        label="Block publishing when the realism check fails (or wasn't run)", required=False,
        help_text="When on, a scenario version can only be published after “Check this scenario” passed for it.",
    )

    def clean(self):
        data = super().clean()
        uses_llm = engine_needs_llm("customer", data.get("customer_engine")) or engine_needs_llm(
            "scorer", data.get("scorer_engine")
        )
        if uses_llm and not (data.get("llm_base_url") and data.get("llm_model")):
            self.add_error("llm_base_url", "The LLM engines need a base URL and a model.")
        return data
