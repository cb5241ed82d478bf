"""The scenario spec: what authors may write, what they get back, and how mistakes are reported."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from scenarios.spec import (
    DEFAULT_BEHAVIORS,
    DIFFICULTY_PROFILES,
    PLAIN_TEXT_MESSAGE,
    ScenarioSpec,
    SpecError,
    dump_yaml,
    load_yaml,
)


def minimal() -> dict[str, Any]:
    return {
        "slug": "late-parcel",
        "title": "Late parcel",
        "moment": "delayed_resolution",
        "summary": "A parcel is a week late.",
        "persona": {
            "name": "Ana",
            "situation": "Her parcel is a week late.",
            "wants": "her parcel this week",
        },
        "opening_line": "Where is my parcel?",
        "policies": ["Verify the order number before discussing the order."],
        "success_criteria": ["Gives a delivery date the system shows."],
    }


def errors_for(data: Any) -> dict[str, str]:
    with pytest.raises(SpecError) as caught:
        ScenarioSpec.from_dict(data)
    return caught.value.errors


def test_optional_fields_get_sensible_defaults():
    spec = ScenarioSpec.from_dict(minimal())

    assert spec.difficulty == "standard"
    assert spec.show_frustration_meter is True
    assert spec.persona.base_frustration == 50
    assert (
        spec.end_conditions.resolve_frustration_at_most == DIFFICULTY_PROFILES["standard"].resolve_threshold
    )
    assert spec.end_conditions.escalate_frustration_at_least > spec.end_conditions.resolve_frustration_at_most
    assert [b.key for b in spec.rubric.behaviors] == list(DEFAULT_BEHAVIORS)
    assert sum(b.weight for b in spec.rubric.behaviors) == 100
    assert all(b.description for b in spec.rubric.behaviors)


def test_to_dict_is_the_normalized_input_and_round_trips():
    data = minimal()
    data["title"] = "  Late parcel  "
    data["persona"]["facts"] = ["  My order is 123.  "]

    normalized = ScenarioSpec.from_dict(data).to_dict()

    assert normalized["title"] == "Late parcel"
    assert normalized["persona"]["facts"] == ["My order is 123."]
    assert normalized["difficulty"] == "standard"
    assert ScenarioSpec.from_dict(normalized).to_dict() == normalized


def test_every_missing_required_field_is_named():
    errors = errors_for({"persona": {}})

    for path in (
        "slug",
        "title",
        "moment",
        "summary",
        "opening_line",
        "policies",
        "success_criteria",
        "persona.name",
        "persona.situation",
        "persona.wants",
    ):
        assert errors[path] == "is required", path


def test_missing_persona_is_one_error_not_ten():
    data = minimal()
    del data["persona"]

    assert errors_for(data) == {"persona": "is required"}


def test_unknown_moment_lists_the_choices():
    data = minimal()
    data["moment"] = "rude_customer"

    message = errors_for(data)["moment"]
    assert "angry_complaint" in message and "custom" in message


def test_unknown_behavior_without_description_is_rejected_with_a_fix():
    data = minimal()
    data["rubric"] = {"behaviors": [{"key": "empathy", "weight": 50}, {"key": "humour", "weight": 50}]}

    errors = errors_for(data)
    assert set(errors) == {"rubric.behaviors.1.key"}
    assert "description" in errors["rubric.behaviors.1.key"]


def test_custom_behavior_with_description_is_accepted():
    data = minimal()
    data["rubric"] = {
        "behaviors": [
            {"key": "empathy", "weight": 60},
            {"key": "humour", "weight": 40, "description": "Uses light humour to defuse tension."},
        ]
    }

    behaviors = ScenarioSpec.from_dict(data).rubric.behaviors
    assert [(b.key, b.is_custom) for b in behaviors] == [("empathy", False), ("humour", True)]


def test_rubric_weights_must_add_up_to_100():
    data = minimal()
    data["rubric"] = {"behaviors": [{"key": "empathy", "weight": 50}, {"key": "clarity", "weight": 40}]}

    assert errors_for(data) == {"rubric.behaviors": "weights must add up to 100 (they add up to 90)"}


def test_duplicate_behavior_is_reported():
    data = minimal()
    data["rubric"] = {"behaviors": [{"key": "empathy", "weight": 50}, {"key": "empathy", "weight": 50}]}

    assert "twice" in errors_for(data)["rubric.behaviors.1.key"]


@pytest.mark.parametrize(
    "markup", ["<script>alert(1)</script>", "Be <b>very</b> nice", "<img src=x onerror=y>", "<!-- hi -->"]
)
def test_markup_is_rejected_anywhere(markup):
    data = minimal()
    data["title"] = markup
    data["persona"]["facts"] = ["fine", markup]
    data["persona"]["hidden_details"] = [{"detail": markup, "revealed_when": ["why"]}]

    errors = errors_for(data)
    for path in ("title", "persona.facts.1", "persona.hidden_details.0.detail"):
        assert errors[path] == PLAIN_TEXT_MESSAGE


def test_less_than_signs_in_plain_text_are_fine():
    data = minimal()
    data["summary"] = "Keep the call under <5 minutes; cost a < b is fine."

    assert ScenarioSpec.from_dict(data).summary.startswith("Keep")


def test_size_limits_are_reported_by_path():
    data = minimal()
    data["title"] = "t" * 121
    data["summary"] = "s" * 2001
    data["persona"]["facts"] = ["fact"] * 21
    data["policies"] = [f"Policy {n}" for n in range(11)]

    errors = errors_for(data)
    assert errors["title"] == "must be at most 120 characters (it has 121)"
    assert errors["summary"] == "must be at most 2000 characters (it has 2001)"
    assert "at most 20 items" in errors["persona.facts"]
    assert "1 to 10 items" in errors["policies"]


def test_wrong_types_explain_themselves():
    data = minimal()
    data["title"] = 2024
    data["persona"]["base_frustration"] = "high"
    data["end_conditions"] = {"max_turns": True}
    data["show_frustration_meter"] = "yes"
    data["policies"] = "Be nice."

    errors = errors_for(data)
    assert "put it in quotes" in errors["title"]
    assert errors["persona.base_frustration"] == "must be a whole number"
    assert errors["end_conditions.max_turns"] == "must be a whole number"
    assert errors["show_frustration_meter"] == "must be true or false"
    assert errors["policies"] == "must be a list of text items"


def test_typos_in_field_names_are_caught():
    data = minimal()
    data["oppening_line"] = "Hello"
    data["persona"]["speaking_stlye"] = "fast"

    errors = errors_for(data)
    assert errors["oppening_line"] == "is not a known field"
    assert errors["persona.speaking_stlye"] == "is not a known field"


def test_out_of_range_numbers_and_bad_slug():
    data = minimal()
    data["slug"] = "Late Parcel!"
    data["persona"]["base_frustration"] = 101
    data["end_conditions"] = {"resolve_frustration_at_most": 80, "escalate_frustration_at_least": 70}

    errors = errors_for(data)
    assert "lowercase" in errors["slug"]
    assert errors["persona.base_frustration"] == "must be between 0 and 100"
    assert "lower than" in errors["end_conditions.resolve_frustration_at_most"]


def test_customer_cannot_start_at_the_escalation_level():
    data = minimal()
    data["difficulty"] = "hard"
    data["persona"]["base_frustration"] = 80  # +15 on hard = 95, past the default 90

    assert "escalation level" in errors_for(data)["persona.base_frustration"]


def test_hidden_detail_needs_triggers():
    data = minimal()
    data["persona"]["hidden_details"] = [{"detail": "I already called twice."}]

    assert errors_for(data) == {"persona.hidden_details.0.revealed_when": "is required"}


def test_hard_difficulty_starts_angrier_than_easy():
    starts = {}
    for difficulty in ("easy", "standard", "hard"):
        data = minimal()
        data["difficulty"] = difficulty
        starts[difficulty] = ScenarioSpec.from_dict(data).starting_frustration

    assert starts["easy"] < starts["standard"] < starts["hard"]
    assert DIFFICULTY_PROFILES["hard"].patience < DIFFICULTY_PROFILES["easy"].patience


# --- YAML ------------------------------------------------------------------------------------


def test_yaml_single_and_list_forms_round_trip_exactly():
    one = ScenarioSpec.from_dict(minimal())
    other_data = minimal()
    other_data["slug"] = "late-parcel-2"
    other_data["summary"] = "Line one.\nLine two: with a colon, \"quotes\" and 'yes'."
    other = ScenarioSpec.from_dict(other_data)

    single_text = dump_yaml([one])
    both_text = dump_yaml([one, other])

    assert not single_text.startswith("scenarios:")
    assert both_text.startswith("scenarios:")
    assert load_yaml(single_text) == [one]
    assert load_yaml(both_text) == [one, other]
    assert dump_yaml(load_yaml(both_text)) == both_text


def test_yaml_syntax_error_names_the_line():
    text = "slug: a\ntitle: [unclosed\nmoment: custom\n"

    with pytest.raises(SpecError) as caught:
        load_yaml(text)
    assert "line" in caught.value.errors["yaml"]


def test_yaml_errors_in_a_list_are_prefixed_by_position_and_duplicates_caught():
    second = minimal()
    second["moment"] = "nope"
    text = yaml.safe_dump({"scenarios": [minimal(), second]}, sort_keys=False)

    with pytest.raises(SpecError) as caught:
        load_yaml(text)
    errors = caught.value.errors
    assert set(errors) == {"scenarios.1.moment", "scenarios.1.slug"}
    assert "already used by scenarios.0" in errors["scenarios.1.slug"]


def test_empty_yaml_is_an_error():
    with pytest.raises(SpecError) as caught:
        load_yaml("")
    assert caught.value.errors == {"yaml": "file is empty"}
