"""Sets of training runs over every partition, and their tables: runs, test probabilities,
mean ± std.

train_full runs each emotion x variant x seed on all 468 landmarks; retrain_k reuses the
same machinery on landmark subsets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emo.artifacts import RunSet
from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.evaluation.metrics import METRICS, rounded
from emo.evaluation.runs import PREDICTION_COLUMNS, RUN_COLUMNS, RUN_FACTS
from emo.models.model import VARIANTS, Architecture
from emo.models.runs import RunResult, RunSpec
from emo.models.selection import select, top_k_landmarks


def _keys(r: RunResult) -> dict:
    """The RUN_KEYS of a run."""
    s = r.spec
    return {"emotion": EMOTIONS[s.emotion], "variant": s.variant, "K": s.k, "selection": s.selection, "draw": s.draw,
            "seed": r.seed}


def runs_table(results: list[RunResult]) -> pd.DataFrame:
    """One row per run: RUN_KEYS, ARCHITECTURE, the test METRICS and RUN_FACTS (RunResult's fields)."""
    rows = [{**_keys(r), **r.spec.arch.as_dict(), **r.metrics, **{c: getattr(r, c) for c in RUN_FACTS}} for r in results]
    return pd.DataFrame(rows, columns=list(RUN_COLUMNS))


def summary_document(summary: pd.DataFrame) -> dict:
    """Nested emotion -> variant -> K{k}-{selection} -> metric_mean/std, for `dvc metrics show`."""
    doc: dict = {}
    for row in summary.to_dict(orient="records"):
        cell = doc.setdefault(row["emotion"], {}).setdefault(row["variant"], {})
        target = cell if row["selection"] == "all" else cell.setdefault(f"K{row['K']}-{row['selection']}", {})
        for metric in METRICS:
            target[f"{metric}_mean"] = rounded(row[f"{metric}_mean"])
            target[f"{metric}_std"] = rounded(row[f"{metric}_std"])
    return doc


def predictions_table(results: list[RunResult]) -> pd.DataFrame:
    """Every test probability of every run, for the six-emotion classifier and ROC plots."""
    frames = [pd.DataFrame({**_keys(r), "sample": r.test_index, "probability": r.test_probability},
                           columns=PREDICTION_COLUMNS) for r in results]
    return pd.concat(frames, ignore_index=True)


def full_specs(best: dict[str, Architecture], n_partitions: int, run_set: RunSet, model_dir: Path,
               variants: tuple[str, ...] = VARIANTS) -> list[RunSpec]:
    """Every emotion x variant x partition at all landmarks, saved under `model_dir` (the stage's
    temporary folder) as `run_set` names them."""
    return [
        RunSpec(emotion=e, variant=v, partition=p, arch=best[EMOTIONS[e]],
                save_to=str(run_set.model_file(EMOTIONS[e], v, N_LANDMARKS, p, model_dir)))
        for e in range(len(EMOTIONS)) for v in variants for p in range(n_partitions)
    ]


def mean_std_table(summary: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """emotion x variant as 'mean ± std' strings, the way the paper prints Tables 6 and 7."""
    cells = summary.assign(value=[f"{m:.3f} ± {s:.3f}" if s == s else f"{m:.3f}"
                                  for m, s in zip(summary[f"{metric}_mean"], summary[f"{metric}_std"])])
    return cells.pivot(index="emotion", columns="variant", values="value").reindex(EMOTIONS).reset_index()


def retrain_specs(best: dict[tuple[int, int], Architecture], rankings: np.ndarray, ks: list[int],
                  controls: list[str], partitions, run_set: RunSet, model_dir: Path,
                  variants: tuple[str, ...] = VARIANTS, random_draws: int = 1,
                  rivals: dict[str, np.ndarray] | None = None) -> list[RunSpec]:
    """T-EMO and R-EMO on each emotion's top K (models kept), and T-EMO controls with the
    same hyperparameters on K random landmarks (`random_draws` fresh draws per seed) and on
    the bottom K; and T-EMO, same hyperparameters, on the top K of each rival ranking
    ({method: [6, 468]}, the method's name as its selection): keep-and-retrain per method."""
    specs = []
    for k in ks:
        for e, emotion in enumerate(EMOTIONS):
            top = tuple(int(i) for i in select("top", rankings[e], k, 0))
            specs += [RunSpec(e, v, p, best[(k, e)], landmarks=top, selection="top",
                              save_to=str(run_set.model_file(emotion, v, k, p, model_dir)))
                      for v in variants for p in range(len(partitions))]
            specs += [RunSpec(e, "temo", p, best[(k, e)], selection=control, draw=draw,
                              landmarks=tuple(int(i) for i in select(control, rankings[e], k, part.seed, e, draw)))
                      for control in controls for p, part in enumerate(partitions)
                      for draw in range(random_draws if control == "random" else 1)]
            specs += [RunSpec(e, "temo", p, best[(k, e)], selection=method,
                              landmarks=tuple(int(i) for i in top_k_landmarks(ranking[e], k)))
                      for method, ranking in (rivals or {}).items() for p in range(len(partitions))]
    return specs
