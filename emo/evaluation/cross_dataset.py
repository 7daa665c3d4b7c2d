"""The evaluate stage: the trained models on another dataset (cross-dataset generalisation).

The dataset's landmarks come from the extract stage's own code and settings; each binary
model is applied as `emo predict` applies it (every seed's model of an emotion averaged, the
highest of the six probabilities names the emotion), at L = 468 and at each emotion's best
K; the SVM baselines are refit on all of the training dataset's videos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emo.data.emotions import EMOTIONS
from emo.errors import EmoError

def configs(variants) -> list[tuple[str, str, int | None]]:
    """(name, variant, K) of every network configuration evaluated; K None = each emotion's best."""
    from emo.report.tables import VARIANT_NAMES

    return [(f"{VARIANT_NAMES[v]} {label}", v, k) for v in variants
            for label, k in (("L=468", 468), ("each emotion's best K", None))]


def dataset_sources(params, name: str):
    """The dataset's sequences, or one sentence on why it cannot be evaluated."""
    from emo.data import find_sequences

    if name not in params.evaluate.datasets:
        raise EmoError(f"evaluate.datasets has no dataset '{name}'; it lists: "
                       f"{', '.join(params.evaluate.datasets) or 'none'}.")
    dataset = params.evaluate.datasets[name]
    key = f"evaluate.datasets.{name}"
    if not dataset.root.is_dir():
        raise EmoError(f"{key}.root '{dataset.root}' is not a folder; put the dataset there or remove '{name}' "
                       "from evaluate.datasets.")
    sources = find_sequences(dataset.root, dataset.layout, params.data.subject_pattern)
    # The models know six emotions; a folder of another one cannot be scored. (CK+'s contempt
    # is dropped, as extract drops it.)
    unknown = sorted({s.sequence.split("/")[0] for s in sources
                      if dataset.layout == "folder" and s.label not in EMOTIONS})
    if unknown:
        raise EmoError(f"{key}.root '{dataset.root}' holds videos of {', '.join(repr(u) for u in unknown)}, which "
                       f"the models do not know (they know {', '.join(EMOTIONS)}); move those folders out or "
                       "rename them.")
    return dataset, sources, key


def evaluate_dataset(params, name: str, out_dir: Path, training_landmarks: Path, face_model: Path,
                     progress: bool = True) -> dict:
    """Extract, predict and score one dataset into out_dir: landmarks.npz, manifest.csv,
    predictions.csv and metrics.json (written last). Returns the metrics."""
    from emo.config import DataParams
    from emo.data.dataset import load_landmarks
    from emo.data.extraction import run_extract
    from emo.files import write_csv, write_json
    from emo.tracking import metric_name, stage_run

    dataset, sources, key = dataset_sources(params, name)
    out_dir.mkdir(parents=True, exist_ok=True)
    with stage_run(f"evaluate@{name}", {"dataset": {"name": name, "root": dataset.root, "layout": dataset.layout},
                                        "extract": params.extract, "baselines": params.baselines}) as run:
        run_extract(DataParams(dataset.root, dataset.layout, params.data.subject_pattern), params.extract,
                    face_model, out_dir, progress, key=key, sources=sources)
        data = load_landmarks(out_dir / "landmarks.npz")
        probabilities = network_probabilities(params.model.variants, data.X)
        probabilities.update(svm_probabilities(load_landmarks(training_landmarks), data.X, params.baselines))
        predictions = predictions_table(data, probabilities)
        metrics = {config: scores(data.y, p) for config, p in probabilities.items()}
        metrics["videos"] = len(data.y)
        write_csv(out_dir / "predictions.csv", predictions)
        write_json(out_dir / "metrics.json", metrics)
        run.log_metrics({metric_name(f"{config}.{k}"): m[k] for config, m in metrics.items() if config != "videos"
                         for k in ("six_class_accuracy", "balanced_accuracy")} | {"videos": len(data.y)})
    return metrics


def network_probabilities(variants, X: np.ndarray) -> dict[str, np.ndarray]:
    from emo.predict import choose_models, ensemble_probabilities, load_models

    out = {}
    for config, variant, k in configs(variants):
        models = choose_models(variant, k)
        out[config] = ensemble_probabilities(models, load_models(models), X)
    return out


def svm_probabilities(training, X: np.ndarray, params) -> dict[str, np.ndarray]:
    """Each kernel's six binary SVMs, fit on every video of the training dataset."""
    from emo.evaluation.baselines import KERNELS, displacement_features, fit_svm, svm_probability

    train_features, features = displacement_features(training.X), displacement_features(X)
    return {f"{kernel} SVM": np.stack([svm_probability(fit_svm(train_features, training.y == e, kernel, params), features)
                                       for e in range(len(EMOTIONS))], axis=1)
            for kernel in KERNELS}


def scores(y: np.ndarray, probabilities: np.ndarray) -> dict:
    """Six-class accuracy and balanced accuracy of the argmax, each emotion's one-vs-rest ROC
    AUC (None when the dataset has no video of it, or only those), the confusion counts."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    from emo.evaluation.six_class import confusion, six_class_decision

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
