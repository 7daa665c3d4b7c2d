"""Each emotion's trained models, chosen by K and averaged over seeds: what `emo predict` and
the evaluate stage apply to new videos."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emo.artifacts import RunSet
from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.errors import EmoError
from emo.evaluation.runs import all_runs, best_k_per_emotion
from emo.models.model import load_model
from emo.models.training import model_input


@dataclass
class EmotionModels:
    emotion: str
    k: int
    landmarks: np.ndarray | None  # the gathered subset; None = all 468
    files: list[Path]


def trained_runs(full: RunSet, retrain: RunSet) -> pd.DataFrame:
    if not full.runs.is_file():
        raise EmoError(f"{full.runs} is missing: there are no trained models yet; run `dvc repro` first.")
    return all_runs(pd.read_csv(full.runs), pd.read_csv(retrain.runs) if retrain.runs.is_file() else None)


def choose_models(full: RunSet, retrain: RunSet, variant: str = "temo", k: int | None = None) -> list[EmotionModels]:
    """Each emotion's models: at K = `k`, or (None) at the K with the lowest mean validation
    loss in the pipeline's runs, which is 468 when retrain_k has not run."""
    runs = trained_runs(full, retrain)
    available = sorted(runs.K.unique())
    if k is not None and k not in available:
        raise EmoError(f"no models were trained at K = {k}; the pipeline has K = {', '.join(map(str, available))}.")
    best = best_k_per_emotion(runs) if k is None else {e: k for e in EMOTIONS}
    chosen = []
    for emotion in EMOTIONS:
        kk = best[emotion]
        run_set = full if kk == N_LANDMARKS else retrain
        subset = None if kk == N_LANDMARKS else np.array(
            json.loads(retrain.hparams.read_text())["landmarks"][f"K{kk}"][emotion])
        folder = run_set.model_folder(emotion, variant, kk)
        files = sorted(folder.glob("partition*.keras"))
        if not files:
            raise EmoError(f"no {variant} models in {folder}; run `dvc repro` to train them.")
        chosen.append(EmotionModels(emotion, kk, subset, files))
    return chosen


def load_models(models: list[EmotionModels]) -> dict[str, list]:
    """Each emotion's Keras models, one per seed."""
    return {m.emotion: [load_model(f) for f in m.files] for m in models}


def ensemble_probabilities(models: list[EmotionModels], keras_models: dict[str, list], X: np.ndarray) -> np.ndarray:
    """[N, P, 2, 468] landmark videos -> [N, 6]: each emotion's positive-class probability, the
    mean over its seeds' models, each model fed its own landmarks."""
    columns = []
    for m in models:
        inputs = model_input(X, m.landmarks)
        # An eager call: tracing a predict step costs ~0.1 s a model, 4x what one eager call does,
        # and `emo predict` calls each model once.
        seeds = [np.asarray(model(inputs, training=False))[:, 1] for model in keras_models[m.emotion]]
        columns.append(np.mean(seeds, axis=0))
    return np.stack(columns, axis=1)
