"""The labeled evaluation set and its metrics: the set is well-formed, the figures are computed
correctly, and the embedded scorer meets its quality targets on the development split."""

from __future__ import annotations

from collections import Counter
from io import StringIO

from django.core.management import call_command

from scoring.engines import EmbeddedScorer
from scoring.evaluation import Counts, evaluate, load_cases

CASES = load_cases()
MOMENTS = {
    "angry_complaint",
    "policy_refusal",
    "delayed_resolution",
    "billing_dispute",
    "cancellation",
    "technical_outage",
}


def test_eval_set_covers_every_moment_with_twins_violations_and_injections():
    assert len(CASES) >= 40
    assert {case.moment for case in CASES} == MOMENTS
    roles = Counter((case.pair_id, case.pair_role) for case in CASES if case.pair_id)
    pairs = {pair for pair, _ in roles}
    assert all(roles[(pair, "strong")] == 1 and roles[(pair, "weak")] == 1 for pair in pairs)
    assert len(pairs) >= 18
    assert sum(status == "violated" for case in CASES for status in case.policy_labels) >= 20
    assert sum("injection" in labels for case in CASES for labels in case.signal_labels.values()) >= 5
    for case in CASES:
        assert len(case.policy_labels) == len(case.transcript.scenario.policies), case.id
        for turn in case.signal_labels:
            assert case.transcript.turns[turn].speaker == "rep", (case.id, turn)


def test_counts_compute_precision_recall_f1():
    counts = Counts(tp=8, fp=2, fn=8)
    assert counts.precision == 0.8
    assert counts.recall == 0.5
    assert round(counts.f1, 4) == round(2 * 0.8 * 0.5 / 1.3, 4)
    assert Counts().f1 == 0.0


def test_embedded_scorer_meets_its_targets_on_the_dev_split():
    report = evaluate(EmbeddedScorer(), CASES, "dev")
    assert report.micro.f1 >= 0.8
    assert report.injection_lift == 0
    assert report.injection_newly_scored == 0
    for behavior, pairs in report.twin_pairs.items():
        assert report.twin_wins.get(behavior, 0) / pairs >= 0.95, behavior
    assert report.policy_violations.recall >= 0.8


def test_injection_never_lifts_a_score_on_any_split():
    assert evaluate(EmbeddedScorer(), CASES, "all").injection_lift == 0


def test_evaluate_scorer_command_prints_every_figure():
    out = StringIO()
    call_command("evaluate_scorer", "--engine", "embedded", stdout=out)
    text = out.getvalue()
    for heading in ("team set", "blind set (written by someone who never saw the rules)"):
        for split in ("dev", "holdout", "all"):
            assert f"{heading}" in text and f"split: {split} (" in text
    assert text.count("strong twin outscores weak twin") == 6  # three splits of each set
    for figure in ("micro", "strong twin outscores weak twin", "policy-violation recall", "injection lift"):
        assert figure in text
