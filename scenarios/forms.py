"""Forms of the scenario pages. The scenario form only reshapes what people type into a spec dict;
every content rule lives in scenarios.spec, and its error paths are mapped back onto the fields
here, in words an enablement lead understands."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.text import slugify

from coachhub.tenancy.models import Membership, Team

from .models import MOMENT_CHOICES, Scenario
from .selectors import STATUS_FILTERS
from .spec import DIFFICULTIES, SLUG_MAX, ScenarioSpec, SpecError


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _textarea(rows: int = 4, **attrs) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, **attrs})


def _int_or_text(raw: str) -> Any:
    """Numbers go to the spec as numbers; anything else goes as typed, so the spec names the problem."""
    raw = (raw or "").strip()
    if not raw:
        return None
    return int(raw) if re.fullmatch(r"-?\d+", raw) else raw


class ScenarioForm(forms.Form):
    """One form for every spec field. Lists are one item per line."""

    title = forms.CharField(label="Title", required=False)
    slug = forms.CharField(
        label="Short name (slug)", required=False,
        help_text="Lowercase letters, digits and hyphens; used in exports. Leave empty to make one from the title.",
    )
    moment = forms.ChoiceField(label="Moment", choices=[("", "Choose…"), *MOMENT_CHOICES], required=False)
    difficulty = forms.ChoiceField(
        label="Difficulty", choices=[(d, d.capitalize()) for d in DIFFICULTIES], initial="standard", required=False,
        help_text="Harder customers start angrier, lose patience sooner and calm down more slowly.",
    )
    summary = forms.CharField(label="Summary for the rep", required=False, widget=_textarea(3))
    persona_name = forms.CharField(label="Customer's name", required=False)
    persona_situation = forms.CharField(label="Situation", required=False, widget=_textarea(3))
    persona_facts = forms.CharField(
        label="Facts the customer knows", required=False, widget=_textarea(4),
        help_text="One per line, in the customer's own words.",
    )
    persona_wants = forms.CharField(label="What the customer wants", required=False)
    persona_temperament = forms.CharField(label="Temperament", required=False)
    persona_base_frustration = forms.CharField(
        label="Starting frustration (0–100)", required=False, widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        help_text="Leave empty for 50. Difficulty adds or removes 15.",
    )
    persona_calmed_by = forms.CharField(
        label="Calmed by", required=False, widget=_textarea(3), help_text="Phrases that calm the customer, one per line."
    )
    persona_inflamed_by = forms.CharField(
        label="Inflamed by", required=False, widget=_textarea(3), help_text="Phrases that make it worse, one per line."
    )
    persona_hidden_details = forms.CharField(
        label="Hidden details", required=False, widget=_textarea(4),
        help_text="One per line: “detail | keyword, keyword”. The customer reveals the detail only when "
        "the rep says one of the keywords.",
    )
    persona_speaking_style = forms.CharField(label="Speaking style", required=False)
    opening_line = forms.CharField(label="Opening line", required=False, widget=_textarea(2))
    policies = forms.CharField(
        label="Policies", required=False, widget=_textarea(4), help_text="The rules the rep must follow, one per line."
    )
    success_criteria = forms.CharField(
        label="Success criteria", required=False, widget=_textarea(4), help_text="What a good conversation achieves, one per line."
    )
    end_max_turns = forms.CharField(label="Most turns", required=False, help_text="Empty for 20.")
    end_time_limit_minutes = forms.CharField(label="Time limit (minutes)", required=False, help_text="Empty for 15.")
    end_resolve_frustration_at_most = forms.CharField(
        label="Resolved at frustration ≤", required=False, help_text="Empty for the difficulty's default."
    )
    end_escalate_frustration_at_least = forms.CharField(
        label="Escalates at frustration ≥", required=False, help_text="Empty for 90."
    )
    rubric = forms.CharField(
        label="Rubric", required=False, widget=_textarea(7),
        help_text="One behavior per line: “key: weight”. Weights add up to 100. A custom behavior also needs "
        "a description: “key: weight | what good looks like”. Empty for the default rubric.",
    )
    show_frustration_meter = forms.BooleanField(label="Show the rep a frustration meter", required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.spec: ScenarioSpec | None = None
        for name, field in self.fields.items():
            if name != "show_frustration_meter":
                field.widget.attrs.setdefault("aria-describedby", f"id_{name}_help")

    # --- form → spec -------------------------------------------------------------------------

    def to_spec_dict(self) -> dict[str, Any]:
        d = self.cleaned_data
        slug = d["slug"].strip() or slugify(d["title"])[:SLUG_MAX].strip("-")
        data: dict[str, Any] = {
            "slug": slug or None,
            "title": d["title"] or None,
            "moment": d["moment"] or None,
            "difficulty": d["difficulty"] or "standard",
            "summary": d["summary"] or None,
            "persona": {
                "name": d["persona_name"] or None,
                "situation": d["persona_situation"] or None,
                "facts": _lines(d["persona_facts"]),
                "wants": d["persona_wants"] or None,
                "temperament": d["persona_temperament"],
                "base_frustration": _int_or_text(d["persona_base_frustration"]),
                "calmed_by": _lines(d["persona_calmed_by"]),
                "inflamed_by": _lines(d["persona_inflamed_by"]),
                "hidden_details": [_hidden_detail(line) for line in _lines(d["persona_hidden_details"])],
                "speaking_style": d["persona_speaking_style"],
            },
            "opening_line": d["opening_line"] or None,
            "policies": _lines(d["policies"]),
            "success_criteria": _lines(d["success_criteria"]),
            "end_conditions": {
                key: _int_or_text(d[f"end_{key}"])
                for key in ("max_turns", "time_limit_minutes", "resolve_frustration_at_most", "escalate_frustration_at_least")
            },
            "show_frustration_meter": d["show_frustration_meter"],
        }
        data["end_conditions"] = {k: v for k, v in data["end_conditions"].items() if v is not None} or None
        if d["persona_base_frustration"].strip() == "":
            del data["persona"]["base_frustration"]
        rubric_lines = _lines(d["rubric"])
        if rubric_lines:
            data["rubric"] = {"behaviors": [_behavior(line) for line in rubric_lines]}
        return data

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.spec = ScenarioSpec.from_dict(self.to_spec_dict())
        except SpecError as exc:
            self.apply_spec_errors(exc.errors)
        return cleaned

    def apply_spec_errors(self, errors: dict[str, str]) -> None:
        for path, message in errors.items():
            name, text = spec_error_to_field(path, message)
            self.add_error(name if name in self.fields else None, text)

    # --- spec → form -------------------------------------------------------------------------

    @staticmethod
    def initial_from_spec(spec: dict[str, Any]) -> dict[str, Any]:
        persona, ends = spec["persona"], spec["end_conditions"]
        return {
            "title": spec["title"],
            "slug": spec["slug"],
            "moment": spec["moment"],
            "difficulty": spec["difficulty"],
            "summary": spec["summary"],
            "persona_name": persona["name"],
            "persona_situation": persona["situation"],
            "persona_facts": "\n".join(persona["facts"]),
            "persona_wants": persona["wants"],
            "persona_temperament": persona["temperament"],
            "persona_base_frustration": str(persona["base_frustration"]),
            "persona_calmed_by": "\n".join(persona["calmed_by"]),
            "persona_inflamed_by": "\n".join(persona["inflamed_by"]),
            "persona_hidden_details": "\n".join(
                f"{h['detail']} | {', '.join(h['revealed_when'])}" for h in persona["hidden_details"]
            ),
            "persona_speaking_style": persona["speaking_style"],
            "opening_line": spec["opening_line"],
            "policies": "\n".join(spec["policies"]),
            "success_criteria": "\n".join(spec["success_criteria"]),
            **{f"end_{key}": str(value) for key, value in ends.items()},
            "rubric": "\n".join(_behavior_line(b) for b in spec["rubric"]["behaviors"]),
            "show_frustration_meter": spec["show_frustration_meter"],
        }


def _hidden_detail(line: str) -> dict[str, Any]:
    detail, _, keywords = line.partition("|")
    revealed_when = [k.strip() for k in keywords.split(",") if k.strip()]
    return {"detail": detail.strip() or None, "revealed_when": revealed_when or None}


def _behavior(line: str) -> dict[str, Any]:
    head, _, description = line.partition("|")
    key, _, weight = head.partition(":")
    behavior: dict[str, Any] = {"key": key.strip() or None, "weight": _int_or_text(weight)}
    if description.strip():
        behavior["description"] = description.strip()
    return behavior


def _behavior_line(behavior: dict[str, Any]) -> str:
    from .spec import DEFAULT_BEHAVIOR_DESCRIPTIONS

    line = f"{behavior['key']}: {behavior['weight']}"
    if behavior["description"] != DEFAULT_BEHAVIOR_DESCRIPTIONS.get(behavior["key"]):
        line += f" | {behavior['description']}"
    return line


# Spec paths → form fields. List items become "Line N" of their textarea.
_LIST_FIELDS = {
    "persona.facts": "persona_facts",
    "persona.calmed_by": "persona_calmed_by",
    "persona.inflamed_by": "persona_inflamed_by",
    "persona.hidden_details": "persona_hidden_details",
    "policies": "policies",
    "success_criteria": "success_criteria",
    "rubric.behaviors": "rubric",
}
_PART_WORDS = {
    "detail": "the detail",
    "revealed_when": "the keywords after “|”",
    "key": "the behavior name",
    "weight": "the weight",
    "description": "the description",
}


_VERBS = ("is ", "must ", "starts ")


def _sentence(subject: str, message: str) -> str:
    text = f"{subject} {message}" if message.startswith(_VERBS) else f"{subject}: {message}"
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


def spec_error_to_field(path: str, message: str) -> tuple[str | None, str]:
    """("persona.facts.2", "must not be empty") → ("persona_facts", "Line 3 must not be empty.")."""
    if path in ("rubric", "rubric.behaviors"):
        if message.startswith(_VERBS):
            return "rubric", _sentence("the rubric", message)
        return "rubric", message[0].upper() + message[1:] + "."
    for prefix, field in _LIST_FIELDS.items():
        if path == prefix:
            return field, _sentence("this list", message)
        if path.startswith(prefix + "."):
            index, _, rest = path[len(prefix) + 1 :].partition(".")
            subject = f"line {int(index) + 1}" if index.isdigit() else "this list"
            part = rest.split(".")[0]
            if part in _PART_WORDS:
                subject += f" ({_PART_WORDS[part]})"
            return field, _sentence(subject, message)
    if path == "persona":
        return "persona_name", _sentence("the customer", message)
    field = path.replace("persona.", "persona_", 1).replace("end_conditions.", "end_", 1)
    if field == "end_conditions":
        field = None
    return field, _sentence("this field", message)


class ScenarioFilterForm(forms.Form):
    moment = forms.ChoiceField(label="Moment", choices=[("", "All moments"), *MOMENT_CHOICES], required=False)
    status = forms.ChoiceField(label="Status", choices=[("", "Any status"), *STATUS_FILTERS.items()], required=False)
    team = forms.ModelChoiceField(label="Assigned to team", queryset=Team.objects.none(), required=False, empty_label="Any team")

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.for_tenant(tenant).order_by("name")


class ImportForm(forms.Form):
    file = forms.FileField(label="YAML file", required=False, help_text="A file exported from CoachHub, or written by hand.")
    text = forms.CharField(label="…or paste YAML", required=False, widget=_textarea(8, spellcheck="false"))
    publish = forms.BooleanField(label="Publish every imported scenario", required=False)

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload:
            raw = upload.read()
            try:
                cleaned["yaml"] = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file isn't UTF-8 text. Save it as UTF-8 and try again.") from None
        else:
            cleaned["yaml"] = cleaned.get("text") or ""
        if not cleaned["yaml"].strip():
            raise forms.ValidationError("Choose a YAML file or paste its text.")
        return cleaned


class RepChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Membership) -> str:
        return obj.user.display_name if obj.user.full_name else obj.user.email


class AssignmentForm(forms.Form):
    scenario = forms.ModelChoiceField(label="Scenario", queryset=Scenario.objects.none(), empty_label="Choose a published scenario")
    teams = forms.ModelMultipleChoiceField(
        label="Teams", queryset=Team.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Everyone in the team gets the assignment.",
    )
    reps = RepChoiceField(
        label="Reps", queryset=Membership.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    due_on = forms.DateField(label="Due date", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    focus_behavior = forms.ChoiceField(
        label="Focus behavior", required=False, choices=[("", "No particular focus")],
        help_text="Optional: the rubric behavior reps should work on most.",
    )
    max_attempts = forms.IntegerField(label="Attempts allowed", required=False, min_value=1, max_value=20,
                                      help_text="Empty for unlimited.")
    note = forms.CharField(label="Note to reps", required=False, max_length=500, widget=_textarea(2))

    def __init__(self, *args, scenarios, teams, reps, behaviors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["focus_behavior"].choices = [("", "No particular focus"), *behaviors]
        self.fields["scenario"].queryset = scenarios
        self.fields["teams"].queryset = teams
        self.fields["reps"].queryset = reps

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("teams") and not cleaned.get("reps"):
            raise forms.ValidationError("Choose at least one team or rep.")
        return cleaned
