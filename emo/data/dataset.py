"""The extract stage's landmark tensor and the split stage's partitions, loaded and checked."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.errors import EmoError
from emo.files import atomic_file

LANDMARK_ARRAYS = ("X", "y", "subject", "sequence")


@dataclass(frozen=True)
class LandmarkData:
    X: np.ndarray  # [N, P, 2, 468] float32
    y: np.ndarray  # [N] index into EMOTIONS
    subject: np.ndarray  # [N] str
    sequence: np.ndarray  # [N] str
    # [N, 2, 52] each video's first and last face's blendshape scores: extract's, saved apart
    # (save_end_blendshapes), so that landmarks.npz and the stages that read it stay as they are
    end_blendshapes: np.ndarray | None = None

    @property
    def frames(self) -> int:
        return self.X.shape[1]


def load_landmarks(path: Path) -> LandmarkData:
    """The extract stage's landmark tensor, checked: readable, the arrays of the contract with
    their shapes and types, labels among EMOTIONS and every coordinate finite."""
    if not path.is_file():
        raise EmoError(f"{path} is missing; run `dvc repro extract` first.")
    rerun = "rerun `dvc repro extract` (or delete the file and rerun it)"
    try:
        with np.load(path) as z:
            missing = [k for k in LANDMARK_ARRAYS if k not in z.files]
            if missing:
                raise EmoError(f"{path} lacks the array(s) {', '.join(missing)} of the extract stage; {rerun}.")
            data = LandmarkData(**{k: z[k] for k in LANDMARK_ARRAYS})
    # A truncated or damaged zip (BadZipFile, EOFError), an object array (ValueError), an unreadable file (OSError).
    except (zipfile.BadZipFile, EOFError, ValueError, OSError):
        raise EmoError(f"{path} is truncated or damaged and cannot be read; {rerun}.") from None
    n = len(data.y)
    if data.X.ndim != 4 or data.X.shape[2:] != (2, N_LANDMARKS) or data.X.shape[0] != n or data.X.shape[1] < 1:
        raise EmoError(f"{path} holds X of shape {data.X.shape} for {n} labels, not [N, P, 2, 468]; {rerun}.")
    if not np.issubdtype(data.X.dtype, np.floating):
        raise EmoError(f"{path} holds X of type {data.X.dtype}, not floating-point coordinates; {rerun}.")
    if data.y.ndim != 1 or not np.issubdtype(data.y.dtype, np.integer) or ((data.y < 0) | (data.y >= len(EMOTIONS))).any():
        raise EmoError(f"{path} holds labels y that are not emotion indices 0-{len(EMOTIONS) - 1}; {rerun}.")
    for name in ("subject", "sequence"):
        a = getattr(data, name)
        if a.shape != (n,) or a.dtype.kind != "U":
            raise EmoError(f"{path} holds {name} of shape {a.shape} and type {a.dtype}, not {n} strings; {rerun}.")
    broken = ~np.isfinite(data.X).all(axis=(1, 2, 3))
    if broken.any():
        raise EmoError(f"{path} has NaN or infinite landmarks in {named_sequences(data.sequence[broken])}; {rerun}.")
    return data


def named_sequences(names: np.ndarray, shown: int = 5) -> str:
    """'3 sequences (S001/002, S004/001, S010/003)', the first `shown` named (for messages)."""
    listed = ", ".join(map(str, names[:shown])) + (", ..." if len(names) > shown else "")
    return f"{len(names)} sequence{'s' * (len(names) != 1)} ({listed})"


def save_landmarks(path: Path, data: LandmarkData) -> None:
    """The landmark tensor as the extract stage writes it (atomically)."""
    with atomic_file(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, X=data.X, y=data.y, subject=data.subject, sequence=data.sequence)


def save_end_blendshapes(path: Path, data: LandmarkData) -> None:
    """The first and last faces' blendshape scores as the extract stage writes them, with the
    sequences they belong to (landmarks.npz's order)."""
    with atomic_file(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, sequence=data.sequence, first=data.end_blendshapes[:, 0], last=data.end_blendshapes[:, 1])


def load_end_blendshapes(path: Path, data: LandmarkData) -> np.ndarray:
    """[N, 2, 52] the first and last faces' blendshape scores of landmarks `data`'s videos."""
    if not Path(path).is_file():
        raise EmoError(f"{path} is missing; run `dvc repro extract`, which writes it beside landmarks.npz.")
    with np.load(path) as f:
        if not np.array_equal(f["sequence"], data.sequence):
            raise EmoError(f"{path} does not belong to the landmarks beside it; run `dvc repro extract`.")
        return np.stack([f["first"], f["last"]], axis=1)


def require_every_emotion(y: np.ndarray, where: str) -> None:
    """Each binary model needs positives: stop when an emotion has no sample at all."""
    missing = [e for i, e in enumerate(EMOTIONS) if not (y == i).any()]
    if missing:
        raise EmoError(
            f"{where} has no {', '.join(missing)} sequence; every one of the six emotions needs examples "
            "(check the dataset and manifest.csv)."
        )


PARTS = ("train", "val", "test")
PART_NAMES = {"train": "training", "val": "validation", "test": "test"}


@dataclass(frozen=True)
class Partition:
    seed: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def missing_emotions(part: Partition, y: np.ndarray) -> list[tuple[str, str]]:
    """(part, emotion) for each of the six emotions absent from the partition's train, val or test part."""
    return [(name, emotion) for name in PARTS for e, emotion in enumerate(EMOTIONS)
            if not (y[getattr(part, name)] == e).any()]


def require_every_emotion_per_part(part: Partition, y: np.ndarray, where: str) -> None:
    """Every binary model needs positives to train on, to choose its epoch on and to be scored on."""
    gaps = missing_emotions(part, y)
    if gaps:
        name, emotion = gaps[0]
        raise EmoError(f"partition seed {part.seed} in {where} has no {emotion} video in its {PART_NAMES[name]} part; "
                       "rerun `dvc repro split`, which draws only partitions with every emotion in every part.")


def load_partitions(path: Path, n_samples: int | None = None, *, labels: np.ndarray | None = None) -> list[Partition]:
    """The split stage's partitions, checked: readable, indices in range and in one part each,
    and, given the landmarks' labels, every emotion in every part."""
    if not path.is_file():
        raise EmoError(f"{path} is missing; run `dvc repro split` first.")
    rerun = "rerun `dvc repro split` (or delete the file and rerun it)"
    try:
        doc = json.loads(path.read_text())
        expected = doc["n_samples"]
        partitions = [Partition(int(p["seed"]), *(np.array(p[k], dtype=np.int64) for k in PARTS))
                      for p in doc["partitions"]]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise EmoError(f"{path} is truncated or not a partition file of the split stage; {rerun}.") from None
    if labels is not None:
        n_samples = len(labels)
    if n_samples is not None and expected != n_samples:
        raise EmoError(f"{path} was made for {expected} sequences, not {n_samples}; rerun `dvc repro split`.")
    for part in partitions:
        every = np.concatenate([getattr(part, k) for k in PARTS])
        if any(getattr(part, k).ndim != 1 for k in PARTS) or len(np.unique(every)) != len(every) or (
                len(every) and (every.min() < 0 or every.max() >= expected)):
            raise EmoError(f"partition seed {part.seed} in {path} has indices out of range or in two parts; {rerun}.")
        if labels is not None:
            require_every_emotion_per_part(part, labels, str(path))
    return partitions
