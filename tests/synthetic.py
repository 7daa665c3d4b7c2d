"""Small landmark datasets with a planted signal, for tests that train models."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emo import artifacts
from emo.config import SplitParams
from emo.data.action_units import EMOTION_ACTION_UNITS, action_unit_field
from emo.data.dataset import LandmarkData, save_landmarks
from emo.data.emotions import EMOTIONS
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


def expression_clips(rng, subjects: int, frames: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Landmark clips [N, P, 2, 468] from a neutral face (the canonical one with each subject's
    own shape) to each emotion's action units at the subject's intensity, head still."""
    canonical = face_mesh().vertices[:, :2] * np.array([1, -1])
    X, y = [], []
    for _ in range(subjects):
        neutral = canonical + rng.normal(0, 0.15, canonical.shape)  # cm: a face differs more than an expression
        gain = rng.uniform(0.5, 1.0)
        for e, emotion in enumerate(EMOTIONS):
            peak = sum(action_unit_field(au) for au in EMOTION_ACTION_UNITS[emotion]) * np.array([1, -1])
            alpha = np.linspace(0, 1, frames) ** 2
            clip = neutral + gain * alpha[:, None, None] * peak + rng.normal(0, 0.01, (frames, *canonical.shape))
            X.append((clip / 20 + 0.5).transpose(0, 2, 1))  # into a crop's [0, 1], [P, 2, 468]
            y.append(e)
    return np.array(X, np.float32), np.array(y)
