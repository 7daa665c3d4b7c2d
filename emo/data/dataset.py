"""The extract stage's landmark tensor and the split stage's partitions, loaded and checked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.errors import EmoError
from emo.files import atomic_file

@dataclass(frozen=True)
class LandmarkData:
    X: np.ndarray  # [N, P, 2, 468] float32
    y: np.ndarray  # [N] index into EMOTIONS
    subject: np.ndarray  # [N] str
    sequence: np.ndarray  # [N] str

    @property
    def frames(self) -> int:
        return self.X.shape[1]


def load_landmarks(path: Path) -> LandmarkData:
    if not path.is_file():
        raise EmoError(f"{path} is missing; run `dvc repro extract` first.")
    try:
        with np.load(path) as z:
            data = LandmarkData(X=z["X"], y=z["y"], subject=z["subject"], sequence=z["sequence"])
    except (KeyError, ValueError, OSError) as e:
        raise EmoError(f"{path} is not a landmark file of the extract stage ({e}); rerun `dvc repro extract`.") from None
    n = len(data.y)
    if data.X.ndim != 4 or data.X.shape[2:] != (2, N_LANDMARKS) or data.X.shape[0] != n or len(data.subject) != n:
        raise EmoError(f"{path} holds X of shape {data.X.shape} for {n} labels, not [N, P, 2, 468]; rerun `dvc repro extract`.")
    return data


def save_landmarks(path: Path, data: LandmarkData) -> None:
    """The landmark tensor as the extract stage writes it (atomically)."""
    with atomic_file(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, X=data.X, y=data.y, subject=data.subject, sequence=data.sequence)


def require_every_emotion(y: np.ndarray, where: str) -> None:
    """Each binary model needs positives: stop when an emotion has no sample at all."""
    missing = [e for i, e in enumerate(EMOTIONS) if not (y == i).any()]
    if missing:
        raise EmoError(
            f"{where} has no {', '.join(missing)} sequence; every one of the six emotions needs examples "
            "(check the dataset and manifest.csv)."
        )


@dataclass(frozen=True)
class Partition:
    seed: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def load_partitions(path: Path, n_samples: int | None = None) -> list[Partition]:
    if not path.is_file():
        raise EmoError(f"{path} is missing; run `dvc repro split` first.")
    doc = json.loads(path.read_text())
    if n_samples is not None and doc["n_samples"] != n_samples:
        raise EmoError(f"{path} was made for {doc['n_samples']} sequences, not {n_samples}; rerun `dvc repro split`.")
    return [Partition(p["seed"], *(np.array(p[k], dtype=np.int64) for k in ("train", "val", "test")))
            for p in doc["partitions"]]
