"""The runs table: one row per trained model (train_full, retrain_k, the SVM baselines), its
columns and labels declared once for the writers, the readers and the tests."""

from __future__ import annotations

import pandas as pd

from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.evaluation.metrics import METRICS

# Which model a row is: these columns identify it in runs.csv, timings.csv and test_probabilities.csv.
RUN_KEYS = ("emotion", "variant", "K", "selection", "draw", "seed")
ARCHITECTURE = ("filters", "units", "neurons")
# A run's row: the keys, the architecture, the test metrics (emo.evaluation.metrics.METRICS), then
# these; runs.csv leaves out the wall-clock ones (emo.evaluation.metrics.TIMINGS: timings.csv).
RUN_FACTS = ("val_loss", "epochs", "seconds", "seconds_per_epoch", "parameters", "inference_ms", "n_test",
             "n_test_positive")
RUN_COLUMNS = (*RUN_KEYS, *ARCHITECTURE, *METRICS, *RUN_FACTS)
PREDICTION_COLUMNS = (*RUN_KEYS, "sample", "probability")

# The networks' variants are emo.models.model.VARIANTS, the landmark selections (top and the
# controls) emo.models.selection's; train_full's runs have the selection "all".
VARIANT_NAMES = {"temo": "T-EMO", "remo": "R-EMO", "svm_linear": "linear SVM", "svm_rbf": "RBF SVM"}

# The six-emotion classifier's configurations, as the report, evaluate and metrics.json name them.
BEST_K = "each emotion's best K"


def config_label(variant: str, k: int | None) -> str:
    """e.g. 'T-EMO L=468'; K None = each emotion's best K."""
    return f"{VARIANT_NAMES[variant]} " + (BEST_K if k is None else f"L={k}")


TEMO_468 = config_label("temo", N_LANDMARKS)
TEMO_BEST_K = config_label("temo", None)


def all_runs(full: pd.DataFrame, retrain: pd.DataFrame | None) -> pd.DataFrame:
    """train_full's runs (K = 468, counted as the top 468) with retrain_k's."""
    full = full.assign(selection="top")
    return pd.concat([full, retrain], ignore_index=True) if retrain is not None else full


def best_k_per_emotion(runs: pd.DataFrame) -> dict[str, int]:
    """Each emotion's K with the lowest mean validation loss of its T-EMO top-K models (chosen
    on validation data, never on test)."""
    top = runs[(runs.variant == "temo") & (runs.selection == "top")]
    loss = top.groupby(["emotion", "K"]).val_loss.mean()
    return {e: int(loss.loc[e].idxmin()) for e in EMOTIONS}
