"""The statistics behind the dashboards, in plain Python: Pearson correlation with a Fisher-z 95%
confidence interval, lagged pairs, spread (standard deviation, IQR), and honest wording."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_PAIRS = 20  # fewer pairs than this and a correlation says nothing worth reading
Z_95 = 1.959963984540054


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def stdev(values: Sequence[float]) -> float | None:
    """Sample standard deviation (n − 1); None below two values."""
    if len(values) < 2:
        return None
    m = sum(values) / len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (the default of numpy and Excel's QUARTILE.INC)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def iqr(values: Sequence[float]) -> float | None:
    if len(values) < 2:
        return None
    return quantile(values, 0.75) - quantile(values, 0.25)


def median(values: Sequence[float]) -> float | None:
    return quantile(values, 0.5)


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r; None when there are fewer than three pairs or either side doesn't vary."""
    if len(xs) != len(ys):
        raise ValueError("pearson() needs pairs: both sides must have the same length.")
    n = len(xs)
    if n < 3:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def fisher_ci(r: float, n: int, z_crit: float = Z_95) -> tuple[float, float] | None:
    """The 95% confidence interval of r by Fisher's z transformation; None below four pairs."""
    if n < 4:
        return None
    if abs(r) >= 1:
        return (r, r)
    z = math.atanh(r)
    half = z_crit / math.sqrt(n - 3)
    return (math.tanh(z - half), math.tanh(z + half))


@dataclass(frozen=True)
class Correlation:
    n: int
    r: float | None
    ci_low: float | None
    ci_high: float | None
    lag: int = 0

    @property
    def enough(self) -> bool:
        return self.n >= MIN_PAIRS and self.r is not None

    @property
    def strength(self) -> str:
        """Conventional bands on |r| (Cohen): below .1 negligible, .1 weak, .3 moderate, .5 strong."""
        if not self.enough:
            return "too few"
        size = abs(self.r)
        if size < 0.1:
            return "negligible"
        if size < 0.3:
            return "weak"
        if size < 0.5:
            return "moderate"
        return "strong"

    @property
    def excludes_zero(self) -> bool:
        return self.ci_low is not None and (self.ci_low > 0 or self.ci_high < 0)

    @property
    def wording(self) -> str:
        return describe(self)


def correlate(xs: Sequence[float], ys: Sequence[float], *, lag: int = 0) -> Correlation:
    r = pearson(xs, ys)
    ci = fisher_ci(r, len(xs)) if r is not None else None
    return Correlation(n=len(xs), r=r, ci_low=ci[0] if ci else None, ci_high=ci[1] if ci else None, lag=lag)


def describe(c: Correlation, *, x_label: str = "the behavior score", y_label: str = "the KPI") -> str:
    """Plain words for a manager, never stronger than the data: small samples say so, a CI that spans
    zero says so, and every finding carries "correlation, not causation"."""
    if c.n < MIN_PAIRS or c.r is None:
        if c.r is None and c.n >= MIN_PAIRS:
            return f"No relationship can be measured: one side doesn't vary (n={c.n})."
        return f"Too few data points to say anything (n={c.n}; need at least {MIN_PAIRS})."
    when = f" {c.lag} week{'s' if c.lag != 1 else ''} later" if c.lag else ""
    ci = f"95% CI {c.ci_low:+.2f} to {c.ci_high:+.2f}, n={c.n}"
    if c.strength == "negligible":
        return f"No meaningful relationship (r={c.r:+.2f}; {ci})."
    direction = "rises" if c.r > 0 else "falls"
    caveat = "" if c.excludes_zero else " The interval includes zero, so it may be chance."
    return (
        f"{c.strength.capitalize()} {'positive' if c.r > 0 else 'negative'} relationship: when {x_label} is "
        f"higher, {y_label}{when} tends to be {'higher' if c.r > 0 else 'lower'} "
        f"(it {direction}; r={c.r:+.2f}; {ci}).{caveat} Correlation, not causation."
    )


def lagged_pairs(
    xs_by_key: dict, ys_by_key: dict, *, lag: int, step
) -> tuple[list[float], list[float]]:
    """Pairs x at (unit, t) with y at (unit, t + lag·step). Keys are (unit, week) tuples."""
    xs, ys = [], []
    for (unit, week), x in xs_by_key.items():
        y = ys_by_key.get((unit, week + lag * step))
        if y is not None:
            xs.append(x)
            ys.append(y)
    return xs, ys
