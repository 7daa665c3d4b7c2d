"""Small landmark datasets with a planted signal, for tests that train models."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emo import artifacts
from emo.config import SplitParams
from emo.data.dataset import LandmarkData, save_landmarks
from emo.data.mesh import face_mesh
from emo.data.splits import make_partitions, partitions_document
from emo.files import write_json


def planted_landmarks(subjects: int = 8, frames: int = 4, signal: slice = slice(10, 20), seed: int = 0):
    """One video per emotion per subject: a canonical face with per-subject jitter; only the
    landmarks in `signal` move, in a direction that depends on the emotion."""
    rng = np.random.default_rng(seed)
    v = face_mesh().vertices
    face = np.stack([(v[:, 0] + 8) / 16, (9 - v[:, 1]) / 18])  # [2, 468] in [0, 1], y down
    X, y, subject = [], [], []
    for s in range(subjects):
        base = face + rng.normal(0, 0.01, face.shape)
        for e in range(6):
            video = np.repeat(base[None], frames, axis=0)
            angle = 2 * np.pi * e / 6
            step = 0.02 * np.array([np.cos(angle), np.sin(angle)])[:, None]
            for t in range(frames):
                video[t, :, signal] += step * t
            X.append(video + rng.normal(0, 0.001, video.shape))
            y.append(e)
            subject.append(f"S{s:03d}")
    return np.array(X, dtype=np.float32), np.array(y), np.array(subject)


def write_dataset(root: Path, subjects: int = 8, frames: int = 4, seeds=(0,), signal=slice(10, 20)):
    """The planted landmarks and their partitions where the extract and split stages put them under `root`."""
    X, y, subject = planted_landmarks(subjects, frames, signal)
    landmarks, splits = root / artifacts.LANDMARKS, root / artifacts.SPLITS
    save_landmarks(landmarks, LandmarkData(X, y, subject, np.array([f"{s}/{i}" for i, s in enumerate(subject)])))
    params = SplitParams(seeds=list(seeds), mode="subject", test_fraction=0.25, val_fraction=0.2)
    write_json(splits, partitions_document(make_partitions(y, subject, params), params, len(y)))
    return landmarks, splits
