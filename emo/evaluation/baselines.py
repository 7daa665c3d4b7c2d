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
from emo.errors import EmoError
from emo.evaluation.metrics import METRICS, binary_metrics, rounded, summarize

KERNELS = ("linear", "rbf")
OUTER_EYE_CORNERS = (33, 263)
LEFT_OUT_REASON = "a zero or non-finite distance between the outer eye corners in the first frame (a degenerate face)"


def _centred(frames: np.ndarray) -> np.ndarray:
    """[N, 2, 468] less each face's centroid (its position in the crop)."""
    return frames - frames.mean(axis=-1, keepdims=True)


def _eye_distance(first: np.ndarray) -> np.ndarray:
    """[N]: the distance between the outer eye corners of centred first frames, the face's scale."""
    a, b = OUTER_EYE_CORNERS
    with np.errstate(over="ignore", invalid="ignore"):  # a degenerate face's inf or NaN: `scalable` says so
        return np.linalg.norm(first[:, :, a] - first[:, :, b], axis=1)


def scalable(X: np.ndarray) -> np.ndarray:
    """[N] bool: the videos whose face scale can divide (a degenerate face has a zero eye distance)."""
    return _divides(_eye_distance(_centred(X[:, 0])))


def _divides(scale: np.ndarray) -> np.ndarray:
    return np.isfinite(scale) & (scale > 0)


def displacement_features(X: np.ndarray) -> np.ndarray:
    """[N, P, 2, 468] -> [N, 936]: normalised motion of every landmark, first to last frame."""
    first, last = _centred(X[:, 0]), _centred(X[:, -1])
    scale = _eye_distance(first)
    bad = ~_divides(scale)
    if bad.any():
        raise EmoError(f"{bad.sum()} of {len(X)} videos have {LEFT_OUT_REASON}, so their motion cannot be "
                       "scaled; leave them out first (emo.evaluation.baselines.scalable).")
    return ((last - first) / scale[:, None, None]).reshape(len(X), -1)


def fit_svm(features: np.ndarray, positive: np.ndarray, kernel: str, params: BaselineParams):
    return make_pipeline(StandardScaler(), SVC(kernel=kernel, C=params.C, gamma=params.gamma)).fit(features, positive)


def svm_probability(model, features: np.ndarray) -> np.ndarray:
    """The sigmoid of the margin puts the SVM's decision at 0.5, like the networks'."""
    return 1 / (1 + np.exp(-model.decision_function(features)))


def svm_runs(X: np.ndarray, y: np.ndarray, partitions, params: BaselineParams) -> pd.DataFrame:
    """Test metrics of every kernel x emotion x partition; videos that are not `scalable` are
    left out of training and test (the stage says how many)."""
    kept = scalable(X)
    features = np.zeros((len(X), 2 * N_LANDMARKS), dtype=X.dtype)  # left-out rows: never read
    features[kept] = displacement_features(X[kept])
    rows = []
    for kernel in KERNELS:
        for e, emotion in enumerate(EMOTIONS):
            positive = y == e
            for part in partitions:
                train, test = part.train[kept[part.train]], part.test[kept[part.test]]
                if len(np.unique(positive[train])) < 2:
                    lack = f"only {emotion} videos" if positive[train].any() else f"no {emotion} video"
                    after = " once degenerate faces are left out" if len(train) < len(part.train) else ""
                    raise EmoError(f"partition seed {part.seed} has {lack} in its training part{after}, so the "
                                   f"{emotion} SVM cannot be trained; rerun `dvc repro split`, which draws only "
                                   "partitions with every emotion in every part.")
                model = fit_svm(features[train], positive[train], kernel, params)
                rows.append({"emotion": emotion, "variant": f"svm_{kernel}", "K": N_LANDMARKS, "selection": "all",
                             "seed": part.seed,
                             **binary_metrics(positive[test], svm_probability(model, features[test]))})
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
