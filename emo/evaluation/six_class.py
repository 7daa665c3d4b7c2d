"""One six-emotion classifier from the six binary models.

The paper says its per-emotion models cannot be merged because their inputs differ. They
can: each model gathers its own landmarks from the same 468-landmark video, and the emotion
whose model gives the highest positive-class probability wins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from emo.data.emotions import EMOTIONS


def six_class_decision(probabilities: np.ndarray) -> np.ndarray:
    """[N, 6] positive-class probabilities, one column per emotion's model -> [N] emotion index."""
    return np.argmax(probabilities, axis=1)


def confusion(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """[6, 6] counts, rows actual, columns predicted."""
    m = np.zeros((len(EMOTIONS), len(EMOTIONS)), dtype=np.int64)
    np.add.at(m, (actual, predicted), 1)
    return m


def merge(predictions: pd.DataFrame, y: np.ndarray) -> pd.DataFrame:
    """Six-class predictions of every (config, seed) whose six emotions' models were all tested
    on the same partition: one row per test video with actual and predicted emotion.

    `predictions` has columns config, emotion, seed, sample, probability (config names a
    choice of models, e.g. 'T-EMO K=128' or 'T-EMO best K')."""
    rows = []
    for (config, seed), part in predictions.groupby(["config", "seed"], sort=False):
        wide = part.pivot(index="sample", columns="emotion", values="probability")
        if list(wide.columns.intersection(EMOTIONS)) != sorted(EMOTIONS) or wide.isna().any().any():
            continue  # not every emotion's model saw these videos
        wide = wide[list(EMOTIONS)]
        predicted = six_class_decision(wide.to_numpy())
        rows.append(pd.DataFrame({"config": config, "seed": seed, "sample": wide.index.to_numpy(),
                                  "actual": y[wide.index.to_numpy()], "predicted": predicted}))
    return pd.concat(rows, ignore_index=True)


def accuracy_table(merged: pd.DataFrame) -> pd.DataFrame:
    """Six-class accuracy per config: mean and sample std over seeds."""
    per_seed = (merged.assign(correct=merged.actual == merged.predicted)
                .groupby(["config", "seed"], sort=False).correct.mean())
    table = per_seed.groupby(level="config", sort=False).agg(["mean", "std", "count"])
    return table.rename(columns={"count": "seeds"}).reset_index()
