"""What one search is: an emotion's F, Q, R lists, its objective, its landmarks and the Keras
Tuner project it keeps its state in, named after everything that shapes its numbers."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

import numpy as np

from emo.config import TuneParams
from emo.data.dataset import LandmarkData, Partition
from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.models.runs import TrainingContext

DIRECTION = {"val_loss": "min", "val_accuracy": "max", "val_auc": "max"}


@dataclass(frozen=True)
class SearchJob:
    emotion: int
    filters: tuple[int, ...]
    units: tuple[int, ...]
    neurons: tuple[int, ...]
    objective: str
    directory: str
    project: str
    landmarks: tuple[int, ...] | None = None  # subset of the 468; None = all
    partition: int = 0
    strategy: str = "grid"
    factor: int = 3  # Hyperband's reduction factor

    @property
    def k(self) -> int:
        return N_LANDMARKS if self.landmarks is None else len(self.landmarks)

    @property
    def size(self) -> int:
        return len(self.filters) * len(self.units) * len(self.neurons)


def search_job(
    emotion: int,
    tune: TuneParams,
    data: LandmarkData,
    partition: Partition,
    context: TrainingContext,
    landmarks: tuple[int, ...] | None = None,
    stage: str = "tune",
) -> SearchJob:
    """A search job whose project name digests the data, the grid and the training settings."""
    digest = hashlib.sha256()
    for part in (partition.train, partition.val):
        digest.update(np.ascontiguousarray(data.X[part]).tobytes())
        digest.update((data.y[part] == emotion).tobytes())
    settings = {"grid": [tune.filters, tune.lstm_units, tune.dense_units, tune.objective],
                "strategy": [tune.strategy, tune.factor] if tune.strategy == "hyperband" else "grid",
                # which models train_full trains and how many processes do not shape a search
                "model": {f.name: getattr(context.model, f.name) for f in dataclasses.fields(context.model)
                          if f.name != "variants"},
                "train": {f.name: getattr(context.train, f.name) for f in dataclasses.fields(context.train)
                          if f.name != "workers"},
                "landmarks": landmarks, "seed": partition.seed}
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    k = N_LANDMARKS if landmarks is None else len(landmarks)
    return SearchJob(
        emotion=emotion, filters=tuple(tune.filters), units=tuple(tune.lstm_units), neurons=tuple(tune.dense_units),
        objective=tune.objective, directory=str(tune.directory),
        project=f"{stage}-{EMOTIONS[emotion]}-K{k}-{digest.hexdigest()[:12]}", landmarks=landmarks,
        strategy=tune.strategy, factor=tune.factor,
    )
