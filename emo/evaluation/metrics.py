"""The test metrics of a binary model and their mean ± std over seeds, apart from TensorFlow
so that the SVM baselines and the report can use them without loading it."""

from __future__ import annotations

import numpy as np
import pandas as pd

METRICS = ("accuracy", "balanced_accuracy", "f1", "roc_auc", "majority_accuracy")
TIMINGS = ("seconds", "seconds_per_epoch", "inference_ms")  # wall-clock: differ on every run
SUMMARY_COLUMNS = (*METRICS, "val_loss", "seconds_per_epoch", "inference_ms", "epochs", "parameters")


def binary_metrics(positive: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """The paper's accuracy and what a careful reader wants beside it on a 1:5 task. A test part
    with one class only leaves balanced accuracy and ROC AUC undefined, and F1 without positives:
    NaN, which summarize counts out, never a made-up 0 or 0.5."""
    # scikit-learn loads SciPy (~0.8 s): imported here so that `emo predict` answers a bad path at once.
    from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score

    positive = np.asarray(positive, dtype=bool)
    predicted = probability >= 0.5
    share = positive.mean()
    both = 0 < positive.sum() < len(positive)
    return {
        "accuracy": float((predicted == positive).mean()),
        "balanced_accuracy": float(balanced_accuracy_score(positive, predicted)) if both else float("nan"),
        "f1": float(f1_score(positive, predicted, zero_division=0.0)) if positive.any() else float("nan"),
        "roc_auc": float(roc_auc_score(positive, probability)) if both else float("nan"),
        # What always answering the larger class scores on the same test part.
        "majority_accuracy": float(max(share, 1 - share)),
    }


def rounded(x: float, digits: int = 4) -> float | None:
    """A number for a JSON document: rounded, or None (null) when it is NaN."""
    return None if x != x else round(float(x), digits)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample standard deviation over seeds, per emotion x variant x K x selection,
    of every SUMMARY_COLUMNS column the runs have (the SVM baselines' runs have the metrics only).
    A seed's random draws count once, as their mean; `runs` counts the seeds, and `{metric}_seeds`
    those with the metric defined (a NaN is left out of the mean and std, and counted out here)."""
    columns = [c for c in SUMMARY_COLUMNS if c in runs]
    keys = ["emotion", "variant", "K", "selection"]
    runs = runs.groupby([*keys, "seed"], sort=False)[columns].mean().reset_index()
    grouped = runs.groupby(keys, sort=False)[columns]
    table = grouped.mean().add_suffix("_mean").join(grouped.std(ddof=1).add_suffix("_std"))
    table["runs"] = grouped.size()
    table = table.join(grouped.count()[[m for m in METRICS if m in columns]].add_suffix("_seeds"))
    return table.reset_index()


def summary_metrics(summary: pd.DataFrame) -> dict[str, float]:
    """A run set's mean and std per emotion x variant x K x selection, as parent-run metrics
    with stable names, e.g. anger.temo.K128.top.accuracy_mean."""
    return {f"{row['emotion']}.{row['variant']}.K{row['K']}.{row['selection']}.{m}_{stat}": row[f"{m}_{stat}"]
            for row in summary.to_dict(orient="records") for m in ("accuracy", "balanced_accuracy", "roc_auc")
            for stat in ("mean", "std")}
