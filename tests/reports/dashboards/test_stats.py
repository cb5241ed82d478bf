"""The statistics against known values (numpy and the statistics module as independent references)."""

import math
import statistics

import numpy as np
import pytest

from reports.dashboards import stats


def test_pearson_matches_a_textbook_example_and_numpy():
    xs, ys = [1, 2, 3, 4, 5], [2, 4, 5, 4, 5]
    assert stats.pearson(xs, ys) == pytest.approx(0.7745966692, abs=1e-9)
    rng = np.random.default_rng(3)
    a = rng.normal(size=200)
    b = 0.4 * a + rng.normal(size=200)
    assert stats.pearson(list(a), list(b)) == pytest.approx(np.corrcoef(a, b)[0, 1], abs=1e-12)


def test_pearson_is_undefined_without_variation_or_pairs():
    assert stats.pearson([1, 2], [3, 4]) is None
    assert stats.pearson([1, 1, 1, 1], [1, 2, 3, 4]) is None
    with pytest.raises(ValueError):
        stats.pearson([1, 2, 3], [1, 2])


def test_fisher_interval_of_r_half_with_thirty_pairs():
    low, high = stats.fisher_ci(0.5, 30)
    # z = atanh(.5) = .5493; se = 1/sqrt(27); tanh(z ± 1.96·se)
    assert low == pytest.approx(0.1704, abs=1e-4)
    assert high == pytest.approx(0.7290, abs=1e-4)
    assert stats.fisher_ci(0.5, 3) is None


def test_spread_matches_references():
    values = [7, 15, 36, 39, 40, 41]
    assert stats.stdev(values) == pytest.approx(statistics.stdev(values))
    assert stats.quantile(values, 0.25) == pytest.approx(np.percentile(values, 25))
    assert stats.iqr(values) == pytest.approx(np.percentile(values, 75) - np.percentile(values, 25))
    assert stats.median([3, 1, 2]) == 2
    assert stats.stdev([5]) is None and stats.iqr([5]) is None


def test_small_samples_say_nothing():
    c = stats.correlate([1, 2, 3, 4, 5, 6, 7], [2, 1, 4, 3, 6, 5, 8])
    assert c.n == 7 and not c.enough
    assert stats.describe(c) == "Too few data points to say anything (n=7; need at least 20)."


def test_wording_gives_strength_direction_and_the_caveat():
    xs = list(range(40))
    strong_negative = stats.correlate(xs, [100 - 2 * x + (x % 3) for x in xs], lag=2)
    text = stats.describe(strong_negative, x_label="next-step ownership", y_label="Escalation rate")
    assert text.startswith("Strong negative relationship")
    assert "2 weeks later" in text and "n=40" in text and "95% CI" in text
    assert text.endswith("Correlation, not causation.")
    noisy = stats.correlate(xs, [math.sin(x * 7.1) for x in xs])
    assert stats.describe(noisy).startswith(("No meaningful", "Weak"))


@pytest.mark.parametrize(("r", "word"), [(0.05, "negligible"), (0.2, "weak"), (-0.4, "moderate"), (0.8, "strong")])
def test_strength_bands(r, word):
    assert stats.Correlation(n=50, r=r, ci_low=None, ci_high=None).strength == word


def test_lagged_pairs_line_up_week_t_with_week_t_plus_k():
    xs = {("a", 0): 1.0, ("a", 1): 2.0, ("b", 0): 3.0}
    ys = {("a", 1): 10.0, ("a", 2): 20.0, ("b", 2): 30.0}
    assert stats.lagged_pairs(xs, ys, lag=1, step=1) == ([1.0, 2.0], [10.0, 20.0])
    assert stats.lagged_pairs(xs, ys, lag=2, step=1) == ([1.0, 3.0], [20.0, 30.0])
