"""The pipeline's headline: the few numbers that `dvc exp show` and the MLflow runs table put
side by side for every experiment, out of reports/metrics.json's thousands.

Flat, short keys, because DVC makes a column of every leaf, named by its path, and `dvc exp
show` has to fit them in a terminal:
- `anger` ... `surprise`: T-EMO's accuracy at the emotion's best K (mean over seeds);
- `six_class`, `six_class_468`: the six-emotion classifier's accuracy at each emotion's best K
  and at L = 468;
- pooled paired differences in accuracy with their Holm-adjusted p (`_p`): the top K against
  random K at the smallest K (where the choice of landmarks matters most), T-EMO against
  R-EMO and against the linear SVM at L = 468;
- each other dataset's six-class accuracy (`<name>_acc`) and each recording folder's pooled
  macro-F1 (`<name>_f1`).
"""

from __future__ import annotations

from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.evaluation.runs import TEMO_468, TEMO_BEST_K

# metrics.json's comparison -> its headline name
COMPARISONS = {"top_vs_random": "vs_random", "temo_vs_remo": "vs_remo", "temo_vs_svm_linear": "vs_svm"}


def headline(metrics: dict, best_k: dict[str, int]) -> dict[str, float]:
    """reports/headline.json from reports/metrics.json's content and each emotion's best K."""
    temo = metrics["accuracy"]["temo"]
    doc = {e: temo[e][f"K{best_k[e]}"] for e in EMOTIONS}
    doc["six_class"] = metrics["six_class_accuracy"][TEMO_BEST_K]
    doc["six_class_468"] = metrics["six_class_accuracy"][TEMO_468]
    for comparison, name in COMPARISONS.items():
        by_k = metrics["comparisons"].get(comparison, {}).get("accuracy", {})
        if not by_k:
            continue
        if comparison == "top_vs_random":
            k = min(by_k, key=lambda key: int(key.removeprefix("K")))
            name = f"{name}_{k}"
        else:
            k = f"K{N_LANDMARKS}"
        doc[name] = by_k[k]["pooled"]["difference"]
        doc[f"{name}_p"] = by_k[k]["pooled"]["p_holm"]
    for dataset, result in metrics["evaluation"].items():
        doc[f"{dataset}_acc"] = result[TEMO_BEST_K]["six_class_accuracy"]
    for folder, result in metrics["timeline"].items():
        doc[f"{folder}_f1"] = result["macro_f1"]
    return doc
