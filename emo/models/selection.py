"""Landmark subsets: each emotion's top K of its ranking, and the controls the paper lacks
(K landmarks at random, the bottom K). A subset is a gather on the landmark axis of the
same 468-landmark tensor; nothing is extracted again."""

from __future__ import annotations

import numpy as np

from emo.data.mesh import N_LANDMARKS
from emo.errors import EmoError

CONTROLS = ("random", "bottom")  # the T-EMO controls beside the top K
SELECTIONS = ("top", *CONTROLS)


def _check(k: int) -> None:
    if not 1 <= k <= N_LANDMARKS:
        raise EmoError(f"K = {k} is not between 1 and {N_LANDMARKS} landmarks; fix retrain_k.ks.")


def top_k_landmarks(ranking: np.ndarray, k: int) -> np.ndarray:
    """The K most important landmarks, most important first."""
    _check(k)
    return np.asarray(ranking[:k])


def bottom_k_landmarks(ranking: np.ndarray, k: int) -> np.ndarray:
    """The K least important landmarks."""
    _check(k)
    return np.asarray(ranking[-k:])


def random_k_landmarks(k: int, seed: int, emotion: int = 0, draw: int = 0) -> np.ndarray:
    """K landmarks drawn uniformly without replacement, a fresh draw per seed, emotion and
    draw number (several draws per seed make 'random' an estimate, not one sample)."""
    _check(k)
    return np.sort(np.random.default_rng([seed, k, emotion, draw]).choice(N_LANDMARKS, size=k, replace=False))


def select(selection: str, ranking: np.ndarray, k: int, seed: int, emotion: int = 0, draw: int = 0) -> np.ndarray:
    if selection == "top":
        return top_k_landmarks(ranking, k)
    if selection == "bottom":
        return bottom_k_landmarks(ranking, k)
    if selection == "random":
        return random_k_landmarks(k, seed, emotion, draw)
    raise ValueError(f"unknown selection {selection!r}; use one of {SELECTIONS}")
