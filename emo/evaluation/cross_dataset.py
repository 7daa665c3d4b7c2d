"""The trained models on another dataset (cross-dataset generalisation).

The dataset's landmarks come from the extract stage's own code and settings; each binary
model is applied as `emo predict` applies it (every seed's model of an emotion averaged, the
highest of the six probabilities names the emotion), at L = 468 and at each emotion's best
K; the SVM baselines are refit on all of the training dataset's videos.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from emo.config import BaselineParams, EvaluationDataset
from emo.data.dataset import LandmarkData
from emo.data.emotions import EMOTIONS
from emo.data.layouts import find_sequences
from emo.data.mesh import N_LANDMARKS
from emo.data.sources import DatasetVideo
from emo.errors import EmoError
from emo.evaluation.baselines import KERNELS, displacement_features, fit_svm, svm_probability
from emo.evaluation.runs import config_label
from emo.evaluation.six_class import confusion, six_class_decision

def configs(variants) -> list[tuple[str, str, int | None]]:
    """(name, variant, K) of every network configuration evaluated; K None = each emotion's best."""
    return [(config_label(v, k), v, k) for v in variants for k in (N_LANDMARKS, None)]


def evaluated_dataset(datasets: dict[str, EvaluationDataset], name: str) -> EvaluationDataset:
    if name not in datasets:
        raise EmoError(f"evaluate.datasets has no dataset '{name}'; it lists: {', '.join(datasets) or 'none'}.")
    return datasets[name]


def dataset_sources(datasets: dict[str, EvaluationDataset], name: str, subject_pattern: str
                    ) -> tuple[EvaluationDataset, list[DatasetVideo], str]:
    """The dataset's sequences and its params key, or one sentence on why it cannot be evaluated."""
    dataset = evaluated_dataset(datasets, name)
    key = f"evaluate.datasets.{name}"
    if not dataset.root.is_dir():
        raise EmoError(f"{key}.root '{dataset.root}' is not a folder; put the dataset there or remove '{name}' "
                       "from evaluate.datasets.")
    sources = find_sequences(dataset.root, dataset.layout, subject_pattern)
    # The models know six emotions; a folder of another one cannot be scored. (CK+'s contempt
    # is dropped, as extract drops it.)
    unknown = sorted({s.sequence.split("/")[0] for s in sources
                      if dataset.layout == "folder" and s.label not in EMOTIONS})
    if unknown:
        raise EmoError(f"{key}.root '{dataset.root}' holds videos of {', '.join(repr(u) for u in unknown)}, which "
                       f"the models do not know (they know {', '.join(EMOTIONS)}); move those folders out or "
                       "rename them.")
    return dataset, sources, key


def svm_probabilities(training: LandmarkData, X: np.ndarray, params: BaselineParams) -> dict[str, np.ndarray]:
    """Each kernel's six binary SVMs, fit on every video of the training dataset."""
    train_features, features = displacement_features(training.X), displacement_features(X)
    return {f"{kernel} SVM": np.stack([svm_probability(fit_svm(train_features, training.y == e, kernel, params), features)
                                       for e in range(len(EMOTIONS))], axis=1)
            for kernel in KERNELS}


def scores(y: np.ndarray, probabilities: np.ndarray) -> dict:
    """Six-class accuracy and balanced accuracy of the argmax, each emotion's one-vs-rest ROC
    AUC (None when the dataset has no video of it, or only those), the confusion counts."""
    predicted = six_class_decision(probabilities)
    auc = {}
    for e, emotion in enumerate(EMOTIONS):
        positive = y == e
        auc[emotion] = round(float(roc_auc_score(positive, probabilities[:, e])), 4) if 0 < positive.sum() < len(y) else None
    return {"six_class_accuracy": round(float((predicted == y).mean()), 4),
            "balanced_accuracy": round(float(balanced_accuracy_score(y, predicted)), 4),
            "roc_auc": auc,
            "confusion": confusion(y, predicted).tolist()}


def predictions_table(data, probabilities: dict[str, np.ndarray]) -> pd.DataFrame:
    frames = []
    for config, p in probabilities.items():
        frame = pd.DataFrame(p, columns=[f"p_{e}" for e in EMOTIONS])
        frame.insert(0, "predicted", np.array(EMOTIONS)[p.argmax(axis=1)])
        frame.insert(0, "actual", np.array(EMOTIONS)[data.y])
        frame.insert(0, "config", config)
        frame.insert(0, "subject", data.subject)
        frame.insert(0, "sequence", data.sequence)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
