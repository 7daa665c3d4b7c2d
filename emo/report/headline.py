"""The pipeline's headline: the few numbers that `dvc exp show` and the MLflow runs table put
side by side for every experiment, out of reports/metrics.json's thousands.

Flat, short keys, because DVC makes a column of every leaf, named by its path, and `dvc exp
show --only-changed` has to fit them and the changed params in a 200-column terminal:
- `anger` ... `surprise`: T-EMO's accuracy at the emotion's best K (mean over seeds);
- `six_class`: the six-emotion classifier's accuracy, T-EMO at each emotion's best K;
- pooled paired differences in accuracy, with their Holm-adjusted p (`_p`): `vs_random`, the
  top K against K random landmarks at the smallest K (where the choice matters most), and
  `vs_svm`, T-EMO against the linear SVM at L = 468;
- each other dataset's six-class accuracy (`<name>_acc`) and each recording folder's pooled
  per-frame macro-F1 (`<name>_f1`), share of neutral frames at rest named an emotion
  (`<name>_neutral_fp`) and macro-F1 of its recordings that open on an expression (`<name>_opens_f1`).
Everything else (R-EMO, every K, every comparison) is in reports/metrics.json and MLflow.
"""

from __future__ import annotations

from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.evaluation.runs import TEMO_BEST_K


def headline(metrics: dict, best_k: dict[str, int]) -> dict[str, float]:
    """reports/headline.json from reports/metrics.json's content and each emotion's best K."""
    temo = metrics["accuracy"]["temo"]
    doc = {e: temo[e][f"K{best_k[e]}"] for e in EMOTIONS}
    doc["six_class"] = metrics["six_class_accuracy"][TEMO_BEST_K]
    comparisons = metrics["comparisons"]
    by_k = comparisons.get("top_vs_random", {}).get("accuracy", {})
    if by_k:
        smallest = min(by_k, key=lambda k: int(k.removeprefix("K")))
        doc["vs_random"] = by_k[smallest]["pooled"]["difference"]
        doc["vs_random_p"] = by_k[smallest]["pooled"]["p_holm"]
    svm = comparisons.get("temo_vs_svm_linear", {}).get("accuracy", {}).get(f"K{N_LANDMARKS}")
    if svm:
        doc["vs_svm"] = svm["pooled"]["difference"]
        doc["vs_svm_p"] = svm["pooled"]["p_holm"]
    for dataset, result in metrics["evaluation"].items():
        doc[f"{dataset}_acc"] = result[TEMO_BEST_K]["six_class_accuracy"]
    for folder, result in metrics["timeline"].items():
        doc[f"{folder}_f1"] = result["macro_f1"]
        for key, value in ((f"{folder}_neutral_fp", result["neutral_false_positive_rate"]),
                           (f"{folder}_opens_f1", result.get("opening_on_expression_macro_f1"))):
            if value is not None:  # a folder without neutral frames, or without a recording opening on one
                doc[key] = value
    return doc
