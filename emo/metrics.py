"""The test metrics of a binary model, apart from TensorFlow so that the SVM baselines and
the report can use them without loading it."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score

METRICS = ("accuracy", "balanced_accuracy", "f1", "roc_auc", "majority_accuracy")


def binary_metrics(positive: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """The paper's accuracy and what a careful reader wants beside it on a 1:5 task."""
    positive = np.asarray(positive, dtype=bool)
    predicted = probability >= 0.5
    share = positive.mean()
    both = 0 < positive.sum() < len(positive)
    return {
        "accuracy": float((predicted == positive).mean()),
        "balanced_accuracy": float(balanced_accuracy_score(positive, predicted)) if both else float("nan"),
        "f1": float(f1_score(positive, predicted, zero_division=0.0)),
        "roc_auc": float(roc_auc_score(positive, probability)) if both else float("nan"),
        # What always answering the larger class scores on the same test part.
        "majority_accuracy": float(max(share, 1 - share)),
    }
