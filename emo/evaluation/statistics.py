"""Paired comparisons over seeds: effect size, confidence intervals, p-values, Holm.

Two configurations scored on the same partitions (same seed, same test videos) give paired
values; their differences are what is tested. Pure numpy and scipy.stats: the t interval
and paired t-test (`ttest_rel`), a percentile bootstrap over the pairs (`bootstrap`), the
Wilcoxon signed-rank test (`wilcoxon`) and a sign-flip permutation test (`permutation_test`,
exact up to 2^13 pairs). Holm's step-down adjustment is written here because scipy has
only the false-discovery-rate ones (`false_discovery_control`) and statsmodels is not in
the stack.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
RESAMPLES = 9999


@dataclass(frozen=True)
class PairedComparison:
    """a - b over n pairs."""

    n: int
    difference: float  # mean of a - b
    t_low: float  # confidence interval of the mean difference, t distribution
    t_high: float
    bootstrap_low: float  # the same, percentile bootstrap over the pairs
    bootstrap_high: float
    p_t: float  # paired t-test, two-sided
    p_wilcoxon: float  # Wilcoxon signed-rank, two-sided
    p_sign_flip: float  # permutation test of the mean difference, signs flipped within pairs

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def paired_comparison(a, b, seed: int = 0, confidence: float = CONFIDENCE,
                      resamples: int = RESAMPLES) -> PairedComparison:
    """Compare paired samples a and b (same length; pairs with a NaN are dropped)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples must have equal lengths, not {a.shape} and {b.shape}")
    d = (a - b)[~(np.isnan(a) | np.isnan(b))]
    n = len(d)
    nan = float("nan")
    if n == 0:
        return PairedComparison(0, nan, nan, nan, nan, nan, nan, nan, nan)
    mean = float(d.mean())
    if n == 1:
        return PairedComparison(1, mean, nan, nan, nan, nan, nan, nan, nan)
    if np.ptp(d) <= 1e-12:  # equal up to rounding (e.g. 0.8 - 0.7 and 0.9 - 0.8)
        # Every pair differs by the same amount: no spread to test against. A zero difference
        # is no evidence of anything (p = 1); a constant non-zero one is as strong as it gets.
        p = 1.0 if mean == 0 else 0.0
        return PairedComparison(n, mean, mean, mean, mean, mean, p, p if mean == 0 else _wilcoxon(d),
                                _sign_flip(d, seed, resamples))
    t_low, t_high = stats.ttest_1samp(d, 0.0).confidence_interval(confidence)
    boot = stats.bootstrap((d,), np.mean, confidence_level=confidence, n_resamples=resamples,
                           method="percentile", rng=np.random.default_rng(seed)).confidence_interval
    return PairedComparison(n, mean, float(t_low), float(t_high), float(boot.low), float(boot.high),
                            float(stats.ttest_1samp(d, 0.0).pvalue), _wilcoxon(d), _sign_flip(d, seed, resamples))


def _wilcoxon(d: np.ndarray) -> float:
    if not np.any(d):
        return 1.0
    # Exact without ties or zeros; otherwise the normal approximation (scipy's own choice for
    # ties is a permutation test that costs ~0.4 s a call).
    exact = len(d) <= 50 and np.all(d) and len(np.unique(np.abs(d))) == len(d)
    with warnings.catch_warnings():  # scipy warns that few non-zero pairs make the approximation rough
        warnings.simplefilter("ignore")
        return float(stats.wilcoxon(d, zero_method="zsplit", method="exact" if exact else "asymptotic").pvalue)


def _sign_flip(d: np.ndarray, seed: int, resamples: int) -> float:
    if not np.any(d):
        return 1.0
    return float(stats.permutation_test((d,), lambda x, axis: np.mean(x, axis=axis), permutation_type="samples",
                                        vectorized=True, n_resamples=resamples,
                                        rng=np.random.default_rng(seed)).pvalue)


def holm(p) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error), same order as p; NaNs stay NaN
    and do not count towards the family's size."""
    p = np.asarray(p, dtype=float)
    adjusted = np.full_like(p, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = len(valid)
    if m == 0:
        return adjusted
    order = valid[np.argsort(p[valid], kind="stable")]
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted
