"""Forms of the retention settings and erasure pages."""

from django import forms

from .services import MAX_RETENTION_DAYS


class RetentionSettingsForm(forms.Form):
    audio_retention_days = forms.IntegerField(
        label="Delete voice recordings after (days)", required=False, min_value=1, max_value=MAX_RETENTION_DAYS,
        help_text="Counted from the end of each practice session. Leave empty to keep recordings forever.",
    )
    transcript_retention_days = forms.IntegerField(
        label="Remove transcripts after (days)", required=False, min_value=1, max_value=MAX_RETENTION_DAYS,
        help_text="The lines of each conversation and the quotes in its feedback. Scores and dashboards stay. "
        "Leave empty to keep transcripts forever.",
    )


class ErasureConfirmForm(forms.Form):
    confirm_email = forms.CharField(
        label="Type the person's email address to confirm", max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean_confirm_email(self) -> str:
        typed = self.cleaned_data["confirm_email"].strip().lower()
        if typed != self.email.lower():
            raise forms.ValidationError("That isn't this person's email address, so nothing was erased.")
        return typed
