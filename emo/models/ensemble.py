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
from emo.models.backend import compiled
from emo.models.model import load_model, model_weights
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


def timeline_set_models(run_set: RunSet, variant: str = "temo") -> list[EmotionModels]:
    """Each emotion's models of the timeline's own set (the train_timeline stage): all 468
    landmarks, one model per seed."""
    chosen = []
    for emotion in EMOTIONS:
        folder = run_set.model_folder(emotion, variant, N_LANDMARKS)
        files = sorted(folder.glob("partition*.keras"))
        if not files:
            raise EmoError(f"no {variant} models in {folder}; run `dvc repro train_timeline` to train the "
                           "timeline's models, or use --models paper.")
        chosen.append(EmotionModels(emotion, N_LANDMARKS, None, files))
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


class CompiledEnsemble:
    """ensemble_probabilities as one compiled function of a fixed batch size: every emotion's
    every seed's model in one call, the weights passed in as arguments. A live timeline runs
    all the models on every frame, where 60 eager model calls (~4 ms each) would take longer
    than the frame; padding to `batch` keeps it to one compile."""

    def __init__(self, models: list[EmotionModels], keras_models: dict[str, list], batch: int):
        from keras import ops, tree

        self.batch = batch
        # On the backend's device once: passed from host memory, a GPU copies every model's
        # weights on every call (about 24 ms per live frame on an H200, slower than a CPU).
        self._weights = tree.map_structure(ops.convert_to_tensor,
                                           [[model_weights(k) for k in keras_models[m.emotion]] for m in models])
        subsets = [np.arange(N_LANDMARKS) if m.landmarks is None else m.landmarks for m in models]
        networks = [keras_models[m.emotion] for m in models]

        def probabilities(weights, x):
            columns = []
            for subset, nets, seeds in zip(subsets, networks, weights):
                inputs = ops.expand_dims(ops.take(x, subset, axis=-1), -1)
                positive = [net.stateless_call(w[0], w[1], inputs, training=False)[0][:, 1] for net, w in zip(nets, seeds)]
                columns.append(ops.mean(ops.stack(positive), axis=0))
            return ops.stack(columns, axis=1)

        self._probabilities = compiled(probabilities)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """[N, P, 2, 468] -> [N, 6]."""
        out = []
        for first in range(0, len(X), self.batch):
            chunk = X[first : first + self.batch].astype(np.float32)
            padded = np.concatenate([chunk, np.zeros((self.batch - len(chunk), *chunk.shape[1:]), np.float32)])
            out.append(np.asarray(self._probabilities(self._weights, padded))[: len(chunk)])
        return np.concatenate(out) if out else np.zeros((0, len(EMOTIONS)), np.float32)
