"""Flip augmentation on landmark coordinates (not pixels), for training data only."""

from __future__ import annotations

import numpy as np

from emo.data.mesh import face_mesh


def flip_landmarks(X: np.ndarray, mode: str) -> np.ndarray:
    """Flip landmark videos [..., 2, 468] with coordinates in [0, 1].

    'horizontal' mirrors the face: x -> 1 - x, and each landmark takes its mirror partner's
    index, so landmark 61 stays the right mouth corner of the mirrored face. 'vertical' is
    the paper's literal wording (y -> 1 - y, an upside-down face; indices unchanged).
    """
    out = X.copy()
    if mode == "horizontal":
        out[..., 0, :] = 1.0 - out[..., 0, :]
        return out[..., face_mesh().mirror]
    if mode == "vertical":
        out[..., 1, :] = 1.0 - out[..., 1, :]
        return out
    raise ValueError(f"unknown flip mode {mode!r}")


def augment(X: np.ndarray, y: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """The training set plus a flipped copy of every video (the paper flips every frame of every video)."""
    if mode == "none":
        return X, y
    return np.concatenate([X, flip_landmarks(X, mode)]), np.concatenate([y, y])
