"""What a practitioner tries first: SVMs on landmark displacement, on the same partitions.

Features: each landmark's motion from the first to the last frame (CK+ runs from neutral to
peak), after removing each frame's centroid (face position) and dividing by the first
frame's distance between the outer eye corners (face scale). One binary SVM per emotion,
linear and RBF, trained on each partition's training part and scored on its test part with
the deep models' metrics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from emo.config import BaselineParams
from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.evaluation.metrics import METRICS, binary_metrics, rounded, summarize

KERNELS = ("linear", "rbf")
OUTER_EYE_CORNERS = (33, 263)


def displacement_features(X: np.ndarray) -> np.ndarray:
    """[N, P, 2, 468] -> [N, 936]: normalised motion of every landmark, first to last frame."""
    first, last = X[:, 0], X[:, -1]
    first = first - first.mean(axis=-1, keepdims=True)
    last = last - last.mean(axis=-1, keepdims=True)
    a, b = OUTER_EYE_CORNERS
    scale = np.linalg.norm(first[:, :, a] - first[:, :, b], axis=1)[:, None, None]
    return ((last - first) / scale).reshape(len(X), -1)


def fit_svm(features: np.ndarray, positive: np.ndarray, kernel: str, params: BaselineParams):
    return make_pipeline(StandardScaler(), SVC(kernel=kernel, C=params.C, gamma=params.gamma)).fit(features, positive)


def svm_probability(model, features: np.ndarray) -> np.ndarray:
    """The sigmoid of the margin puts the SVM's decision at 0.5, like the networks'."""
    return 1 / (1 + np.exp(-model.decision_function(features)))


def svm_runs(X: np.ndarray, y: np.ndarray, partitions, params: BaselineParams) -> pd.DataFrame:
    features = displacement_features(X)
    rows = []
    for kernel in KERNELS:
        for e, emotion in enumerate(EMOTIONS):
            positive = y == e
            for part in partitions:
                model = fit_svm(features[part.train], positive[part.train], kernel, params)
                rows.append({"emotion": emotion, "variant": f"svm_{kernel}", "K": N_LANDMARKS, "selection": "all",
                             "seed": part.seed,
                             **binary_metrics(positive[part.test], svm_probability(model, features[part.test]))})
    return pd.DataFrame(rows)


def baselines_document(runs: pd.DataFrame) -> dict:
    """variant -> emotion -> metric mean and std over seeds, for `dvc metrics show`."""
    summary = summarize(runs).set_index(["variant", "emotion"])
    return {
        variant: {emotion: {f"{m}_{stat}": rounded(summary.loc[(variant, emotion), f"{m}_{stat}"])
                            for m in METRICS for stat in ("mean", "std")}
                  for emotion in EMOTIONS}
        for variant in runs.variant.unique()
    }
