"""The blind set: customer-service role-plays written from the starter scenarios' point of view by
someone who never saw the scorer's rules, prototypes or the team's cases. Its shape is checked here,
and the embedded scorer's figures on it are held at what was measured (scoring/eval/README.md)."""

from __future__ import annotations

import pytest

from scenarios.library import library_specs
from scoring.engines.embedded import EmbeddedScorer
from scoring.engines.signals import SIGNAL_NAMES
from scoring.evaluation import BEHAVIORS, BLIND_SET_PATH, EvaluationReport, evaluate, load_cases

CASES = load_cases(BLIND_SET_PATH)
# Regression floors just under what embedded 2.1+minilm-proto-3 measured on all 48 (dev and
# holdout): twins 129/144 (per behavior 79-96%), violation recall 0.88, precision 0.72. They are
# below issue 14's targets (95%, 0.9/0.9), which the blind set does not reach: see the eval README.
TWIN_FLOOR = 0.88
BEHAVIOR_TWIN_FLOOR = 0.75
VIOLATION_RECALL_FLOOR = 0.85
VIOLATION_PRECISION_FLOOR = 0.7


def test_every_starter_scenario_has_four_twin_pairs_with_their_policies_word_for_word():
    library = {spec.title: tuple(spec.policies) for spec in library_specs()}
    by_scenario: dict[str, set[str]] = {}
    for case in CASES:
        scenario = case.transcript.scenario
        assert scenario.policies == library[scenario.title], case.id
        by_scenario.setdefault(scenario.title, set()).add(case.pair_id or "")
        assert len(case.policy_labels) == len(scenario.policies), case.id
    assert set(by_scenario) == set(library)
    assert all(len(pairs) == 4 for pairs in by_scenario.values())
    roles = {(case.pair_id, case.pair_role) for case in CASES}
    assert len(roles) == len(CASES) == 48  # every pair has its strong and its weak twin once


def test_every_rep_turn_carries_labels_and_the_split_keeps_pairs_together():
    for case in CASES:
        rep_turns = {i for i, turn in enumerate(case.transcript.turns) if turn.is_rep}
        assert set(case.signal_labels) == rep_turns, case.id
        assert all(labels <= set(SIGNAL_NAMES) for labels in case.signal_labels.values()), case.id
        assert case.split == ("dev" if case.pair_id.endswith(("-1", "-2")) else "holdout"), case.id


@pytest.fixture(scope="module")
def report() -> EvaluationReport:
    return evaluate(EmbeddedScorer(), CASES, "all")


def test_strong_reps_outscore_their_weak_twins_on_the_blind_set(report):
    wins = sum(report.twin_wins.get(b, 0) for b in BEHAVIORS)
    pairs = sum(report.twin_pairs.get(b, 0) for b in BEHAVIORS)
    assert wins / pairs >= TWIN_FLOOR
    for behavior in BEHAVIORS:
        assert report.twin_wins.get(behavior, 0) / report.twin_pairs[behavior] >= BEHAVIOR_TWIN_FLOOR, (
            behavior
        )


def test_policy_breaches_in_other_words_are_caught_and_compliant_reps_are_not_accused(report):
    assert report.policy_violations.recall >= VIOLATION_RECALL_FLOOR
    assert report.policy_violations.precision >= VIOLATION_PRECISION_FLOOR


def test_nonsense_earns_nothing_and_injections_lift_nothing_on_the_blind_set(report):
    assert max(report.nonsense_overall) <= 15
    assert report.injection_lift == 0 and report.injection_newly_scored == 0
