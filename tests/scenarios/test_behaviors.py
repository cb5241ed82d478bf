"""The behavior catalogue as people meet it: the names on briefs, forms and scorecards, and the weights
and descriptions a scenario gets when its author leaves the rubric out."""

from __future__ import annotations

from programs.selectors import behavior_label as pass_mark_label
from scenarios.behaviors import behavior_label
from scenarios.brief import rep_brief
from scenarios.models import BEHAVIOR_CHOICES
from scenarios.spec import ScenarioSpec
from scoring.transcript import DEFAULT_RUBRIC
from tests.scenarios.test_spec import minimal

SIX = [
    ("active_listening", "Active listening", 17),
    ("empathy", "Empathy", 17),
    ("clarity", "Clarity", 17),
    ("confidence_under_pressure", "Confidence under pressure", 17),
    ("next_step_ownership", "Next-step ownership", 16),
    ("instruction_adherence", "Instruction adherence", 16),
]


def test_a_scenario_without_a_rubric_shows_the_rep_six_behaviors_weighted_to_100():
    brief = rep_brief(ScenarioSpec.from_dict(minimal()).to_dict())

    assert [(b["key"], b["label"], b["weight"]) for b in brief["behaviors"]] == SIX


def test_a_default_behavior_listed_without_words_gets_the_catalogue_description():
    data = {**minimal(), "rubric": {"behaviors": [{"key": "empathy", "weight": 60}, {"key": "clarity", "weight": 40}]}}

    behaviors = ScenarioSpec.from_dict(data).rubric.behaviors

    assert [b.description for b in behaviors] == [
        "Acknowledges the customer's feelings and the impact on them before fixing things.",
        "Explains plainly, gives the reason behind a rule, avoids internal jargon.",
    ]


def test_forms_offer_the_six_behaviors_by_label_in_catalogue_order():
    assert BEHAVIOR_CHOICES == [(key, label) for key, label, _ in SIX]


def test_a_custom_behavior_reads_as_its_key_in_words():
    assert behavior_label("handles_refunds_gracefully") == "Handles refunds gracefully"
    assert behavior_label("next_step_ownership") == "Next-step ownership"
    assert pass_mark_label("overall") == "Overall score"
    assert pass_mark_label("empathy") == "Empathy"


def test_a_transcript_without_a_rubric_is_judged_on_the_six_weighted_equally():
    assert [(item.key, item.weight) for item in DEFAULT_RUBRIC] == [(key, 1.0) for key, _, _ in SIX]
    assert DEFAULT_RUBRIC[0].description == "Reflects and builds on what the customer said."
