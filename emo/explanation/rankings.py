"""The per-emotion landmark rankings alone, apart from the attributions they come from: what
retrain_k reads, so that an attribute change that leaves them unchanged stops there."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.errors import EmoError
from emo.files import atomic_file


def save_rankings(path: Path, rankings: np.ndarray) -> None:
    """[6, 468] rankings as {emotion: [landmark, ...]}, one emotion per line."""
    lines = [f'  "{emotion}": {json.dumps([int(i) for i in rankings[e]])}' for e, emotion in enumerate(EMOTIONS)]
    with atomic_file(path) as tmp:
        tmp.write_text("{\n" + ",\n".join(lines) + "\n}\n")


def load_rankings(path: Path) -> np.ndarray:
    """[6, 468] landmark indices, most important first, in EMOTIONS order."""
    if not path.is_file():
        raise EmoError(f"{path} is missing; run `dvc repro attribute` first.")
    doc = json.loads(path.read_text())
    if sorted(doc) != sorted(EMOTIONS) or any(sorted(doc[e]) != list(range(N_LANDMARKS)) for e in EMOTIONS):
        raise EmoError(f"{path} does not rank the 468 landmarks of each of the six emotions; "
                       "rerun `dvc repro attribute`.")
    return np.array([doc[e] for e in EMOTIONS], dtype=np.int64)
