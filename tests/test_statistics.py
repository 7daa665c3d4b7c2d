"""Paired statistics on constructed data with known answers."""

import numpy as np
import pandas as pd
import pytest

from emo.data.emotions import EMOTIONS
from emo.report.comparisons import POOLED, comparisons_table, sentence
from emo.evaluation.statistics import holm, paired_comparison


def test_identical_inputs_differ_by_nothing():
    a = np.random.default_rng(0).uniform(0.7, 0.9, 10)
    c = paired_comparison(a, a.copy())
    assert c.n == 10 and c.difference == 0
    assert (c.t_low, c.t_high, c.bootstrap_low, c.bootstrap_high) == (0, 0, 0, 0)
    assert c.p_t == c.p_wilcoxon == c.p_sign_flip == 1


def test_a_shift_puts_the_interval_away_from_zero():
    rng = np.random.default_rng(1)
    b = rng.uniform(0.7, 0.9, 10)
    constant = paired_comparison(b + 0.05, b)
    assert constant.difference == pytest.approx(0.05) and constant.t_low == pytest.approx(0.05)
    assert constant.p_t == 0 and constant.p_sign_flip < 0.01
    noisy = paired_comparison(b + 0.05 + rng.normal(0, 0.01, 10), b)
    assert 0 < noisy.t_low < noisy.difference < noisy.t_high
    assert 0 < noisy.bootstrap_low < noisy.bootstrap_high
    assert max(noisy.p_t, noisy.p_wilcoxon, noisy.p_sign_flip) < 0.01
    flipped = paired_comparison(b, b + 0.05 + rng.normal(0, 0.01, 10))
    assert flipped.t_high < 0


def test_pairs_with_a_missing_value_are_dropped():
    c = paired_comparison([0.8, np.nan, 0.9, 0.7], [0.7, 0.8, 0.8, 0.6])
    assert c.n == 3 and c.difference == pytest.approx(0.1)


def test_holm_on_a_known_vector():
    adjusted = holm([0.01, 0.04, 0.03, 0.005, np.nan])
    np.testing.assert_allclose(adjusted[:4], [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(adjusted[4])
    assert holm([0.5, 0.9]).tolist() == [1.0, 1.0]


def _runs(shift: float, noise: float, seeds: int = 10) -> pd.DataFrame:
    """T-EMO top-32 and random-32 (two draws per seed) whose difference is `shift` plus noise."""
    rng = np.random.default_rng(3)
    rows = []
    for emotion in EMOTIONS:
        for seed in range(seeds):
            base = rng.uniform(0.8, 0.9)
            rows.append({"emotion": emotion, "seed": seed, "variant": "temo", "K": 32, "selection": "top",
                         "accuracy": base + shift + rng.normal(0, noise), "balanced_accuracy": base, "roc_auc": base})
            for draw in range(2):
                rows.append({"emotion": emotion, "seed": seed, "variant": "temo", "K": 32, "selection": "random",
                             "draw": draw, "accuracy": base + rng.normal(0, 0.001), "balanced_accuracy": base,
                             "roc_auc": base})
    return pd.DataFrame(rows)


def test_the_pooled_test_finds_a_small_consistent_shift_the_per_emotion_tests_miss():
    table = comparisons_table(_runs(shift=0.01, noise=0.02))
    accuracy = table[(table.comparison == "top_vs_random") & (table.metric == "accuracy")]
    per_emotion = accuracy[accuracy.emotion != POOLED]
    pooled = accuracy[accuracy.emotion == POOLED].iloc[0]
    assert len(per_emotion) == 6 and (per_emotion.n == 10).all() and pooled.n == 60
    assert (per_emotion.p_holm >= 0.05).all()
    assert pooled.p_holm < 0.05 and pooled.t_low > 0
    assert sentence(pooled).startswith("top-32 beats random-32 by +0.0")
    assert "over 60 pairs" in sentence(pooled)
    # the other metrics are equal by construction: no difference, said so
    auc = table[(table.metric == "roc_auc") & (table.emotion == POOLED)].iloc[0]
    assert "no detectable difference" in sentence(auc) and auc.p == 1


def test_random_k_is_each_seeds_mean_over_its_draws():
    runs = _runs(shift=0.0, noise=0.0, seeds=2)
    runs.loc[(runs.selection == "random") & (runs.draw == 0), "accuracy"] -= 0.1
    runs.loc[(runs.selection == "random") & (runs.draw == 1), "accuracy"] += 0.1
    table = comparisons_table(runs)
    pooled = table[(table.metric == "accuracy") & (table.emotion == POOLED)].iloc[0]
    assert abs(pooled.difference) < 0.002


def test_a_metric_undefined_in_some_seeds_says_over_how_many_it_is_averaged():
    from emo.evaluation.metrics import binary_metrics, summarize
    from emo.report.tables import baselines_table, metric_table

    # A test part without the emotion: balanced accuracy, ROC AUC and F1 are undefined, not 0 or 0.5.
    m = binary_metrics(np.zeros(4, bool), np.array([0.1, 0.7, 0.2, 0.3]))
    assert np.isnan([m["balanced_accuracy"], m["roc_auc"], m["f1"]]).all() and m["accuracy"] == 0.75
    runs = pd.DataFrame([{"emotion": e, "variant": v, "K": 468, "selection": "top" if v == "temo" else "all",
                          "seed": s, "accuracy": 0.9, "balanced_accuracy": 0.8,
                          "f1": 0.5, "roc_auc": np.nan if (e == "fear" and s < 2) else 0.9 + s / 100,
                          "majority_accuracy": 0.8}
                         for e in EMOTIONS for v in ("temo", "svm_linear") for s in range(10)])
    s = summarize(runs)
    fear = s[(s.emotion == "fear") & (s.variant == "temo")].iloc[0]
    assert (fear.runs, fear.roc_auc_seeds, fear.accuracy_seeds) == (10, 8, 10)
    auc = metric_table(s, "temo", "roc_auc", [468], with_paper=False).set_index("emotion")["L=468"]
    assert auc["fear"] == "**0.955 ± 0.024 (8 of 10 seeds)**" and auc["anger"] == "**0.945 ± 0.030**"
    svm = runs[runs.variant == "svm_linear"]
    table = baselines_table(s, svm, "roc_auc").set_index("emotion")["linear SVM"]
    assert table["fear"] == "0.955 ± 0.024 (8 of 10 seeds)" and table["anger"] == "0.945 ± 0.030"
