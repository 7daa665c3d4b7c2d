from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emo.config import BaselineParams
from emo.data.dataset import Partition
from emo.data.emotions import EMOTIONS
from emo.errors import EmoError
from emo.evaluation.baselines import displacement_features, svm_runs
from emo.evaluation.six_class import accuracy_table, confusion, merge, six_class_decision
from emo.models.selection import bottom_k_landmarks, random_k_landmarks, select, top_k_landmarks
from emo.paper import HYPERPARAMETERS
from tests.synthetic import planted_landmarks

RANKING = np.array([5, 3, 9, 0, 1, 2, 4, 6, 7, 8, *range(10, 468)])


def test_top_and_bottom_gather_the_ranking_ends():
    assert list(top_k_landmarks(RANKING, 3)) == [5, 3, 9]
    assert list(bottom_k_landmarks(RANKING, 2)) == [466, 467]
    assert len(top_k_landmarks(RANKING, 468)) == 468


def test_random_is_a_fresh_draw_per_seed_and_emotion():
    a = random_k_landmarks(32, seed=0)
    assert len(set(a)) == 32 and a.min() >= 0 and a.max() < 468
    assert np.array_equal(a, random_k_landmarks(32, seed=0))
    assert not np.array_equal(a, random_k_landmarks(32, seed=1))
    assert not np.array_equal(a, random_k_landmarks(32, seed=0, emotion=3))
    assert np.array_equal(select("random", RANKING, 32, 0), a)


def test_random_draws_differ_across_draws_and_seeds_and_come_back_the_same():
    from emo.artifacts import RETRAIN
    from emo.models.experiments import retrain_specs
    from emo.models.model import Architecture

    parts = [Partition(seed=s, train=np.arange(3), val=np.arange(3, 4), test=np.arange(4, 5)) for s in (0, 1)]
    best = {(32, e): Architecture(4, 8, 8) for e in range(len(EMOTIONS))}
    rankings = np.tile(RANKING, (len(EMOTIONS), 1))

    def random_sets():
        specs = retrain_specs(best, rankings, [32], ["random", "bottom"], parts, RETRAIN, Path("models"), ("temo",),
                              random_draws=3)
        return {(s.emotion, s.partition, s.draw): s.landmarks for s in specs if s.selection == "random"}

    sets = random_sets()
    assert len(sets) == len(EMOTIONS) * 2 * 3
    assert len(set(sets.values())) == len(sets)  # every draw of every seed and emotion its own
    assert sets == random_sets()
    assert sets[(0, 0, 1)] == tuple(random_k_landmarks(32, seed=0, emotion=0, draw=1))


@pytest.mark.parametrize("k", [0, 469, 1000])
def test_k_out_of_range_is_refused(k):
    with pytest.raises(EmoError, match="fix retrain_k.ks"):
        top_k_landmarks(RANKING, k)


def test_gathered_subset_is_the_same_tensor():
    from emo.models.training import model_input

    X = np.random.default_rng(0).random((2, 3, 2, 468)).astype(np.float32)
    sub = model_input(X, top_k_landmarks(RANKING, 4))
    assert sub.shape == (2, 3, 2, 4, 1)
    np.testing.assert_array_equal(sub[..., 1, 0], X[..., 3])


def test_six_class_decision_and_merge_on_hand_made_probabilities():
    assert list(six_class_decision(np.array([[0.1, 0.9, 0, 0, 0, 0], [0.3, 0.2, 0.1, 0.6, 0.5, 0.0]]))) == [1, 3]
    y = np.array([0, 1, 2, 3, 4, 5, 0])
    rows = []
    for seed in (0, 1):
        for e, emotion in enumerate(EMOTIONS):
            for sample in range(7):
                # seed 0: every video right; seed 1: video 6 (anger) goes to surprise
                p = 0.9 if y[sample] == e else 0.1
                if seed == 1 and sample == 6:
                    p = 0.95 if emotion == "surprise" else 0.05
                rows.append({"config": "T-EMO L=468", "emotion": emotion, "seed": seed, "sample": sample,
                             "probability": p})
    # an incomplete config (one emotion's model missing) is left out
    rows += [{"config": "partial", "emotion": "anger", "seed": 0, "sample": 0, "probability": 0.9}]
    merged = merge(pd.DataFrame(rows), y)
    assert set(merged.config) == {"T-EMO L=468"}
    table = accuracy_table(merged).set_index("config")
    assert table.loc["T-EMO L=468", "mean"] == pytest.approx((1 + 6 / 7) / 2)
    assert table.loc["T-EMO L=468", "seeds"] == 2
    m = confusion(merged.actual.to_numpy(), merged.predicted.to_numpy())
    assert m.sum() == 14 and m[0, 5] == 1 and m[0, 0] == 3 and np.trace(m) == 13


def test_displacement_features_ignore_position_and_scale():
    X, _, _ = planted_landmarks(subjects=2, frames=3)
    moved = X * 1.5 + 0.2  # the same faces, bigger and elsewhere in the crop
    np.testing.assert_allclose(displacement_features(moved), displacement_features(X), atol=1e-5)
    assert displacement_features(X).shape == (len(X), 936)


def test_svm_baseline_separates_separable_toy_data():
    X, y, subject = planted_landmarks(subjects=10, frames=4)
    order = np.arange(len(y))
    part = Partition(seed=0, train=order[subject != "S009"], val=order[:0], test=order[subject == "S009"])
    runs = svm_runs(X, y, [part], BaselineParams(C=1.0, gamma="scale"))
    assert set(runs.variant) == {"svm_linear", "svm_rbf"} and len(runs) == 12
    assert (runs.roc_auc == 1.0).all()  # both kernels rank every test video right
    assert (runs[runs.variant == "svm_linear"].accuracy == 1.0).all()
    assert np.allclose(runs.majority_accuracy, 5 / 6)


def test_paper_profile_grid_holds_every_published_value():
    from emo.config import load_params
    from tests.support import REPO

    tune = load_params(REPO / "profiles" / "paper.yaml").tune
    published = [fqr for table in HYPERPARAMETERS.values() for fqr in table.values()]  # Tables 1-5
    assert {f for f, _, _ in published} <= set(tune.filters)
    assert {q for _, q, _ in published} <= set(tune.lstm_units)
    assert {r for _, _, r in published} <= set(tune.dense_units)
