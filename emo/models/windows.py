"""Windows like those the timeline reads, made from onset clips: what the timeline's own models
train on beside the clips themselves.

A training clip runs from a neutral face (frame 0) to its expression's peak. The timeline reads
a recording as [reference, the last window's P - 1 frames], the reference being the person's
neutral face; so most windows it meets are no onset: a face at rest, an apex held, an expression
fading, or one already under way. From each clip, in the clip's own layout (frame 0 stays the
neutral face, as the timeline's reference):

- held: the peak, held for the whole window (positive for the clip's emotion);
- rest: the neutral face held (negative for every emotion): what a face at rest looks like;
- offset: from the peak back towards the neutral face, stopping at a random point; named while
  over half of the expression is left (as the demo recordings' truth names it: LABELLED_FROM);
- middle: the onset's second part, from a random point of it to the peak (positive).

Held frames get landmark noise (`jitter`), as the face mesh jitters on a still face (measured on
the demo recordings' quiet neutral stretches: 0.0012 of the face box, per coordinate). How much
of the expression a frame shows is its motion from frame 0 over the peak's (the clip's own
scale: real clips have no intensity label).
"""

from __future__ import annotations

import numpy as np

from emo.data.emotions import LABELLED_FROM

KINDS = ("held", "rest", "offset", "middle")
MIDDLE = (0.3, 0.7)  # where a 'middle' window starts, as a share of the onset


def _expression_share(X: np.ndarray) -> np.ndarray:
    """[N, P] how much of its peak's motion each frame shows (0 at frame 0, 1 at the peak)."""
    motion = np.sqrt(((X - X[:, :1]) ** 2).sum(axis=2)).mean(axis=2)  # [N, P] mean landmark displacement
    peak = motion[:, -1:]
    return np.clip(np.divide(motion, peak, out=np.zeros_like(motion), where=peak > 0), 0.0, 1.0)


def _resampled(X: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """X [N, P, ...] read at fractional frame positions [N, M] by linear interpolation -> [N, M, ...]."""
    lo = np.floor(positions).astype(int)
    hi = np.minimum(lo + 1, X.shape[1] - 1)
    w = (positions - lo).reshape(*positions.shape, *[1] * (X.ndim - 2))
    rows = np.arange(len(X))[:, None]
    return (1 - w) * X[rows, lo] + w * X[rows, hi]


def timeline_windows(X: np.ndarray, positive: np.ndarray, kinds: list[str], jitter: float, seed: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Clips X [N, P, 2, 468] (each from a neutral frame 0 to its peak) and whether each is the
    emotion's [N] -> the windows of `kinds` ([N * len(kinds), P, 2, 468], kind by kind) and
    their labels; the same seed gives the same windows."""
    rng = np.random.default_rng([seed, len(KINDS)])
    n, P = X.shape[:2]
    share = _expression_share(X)
    last = P - 1
    out, labels = [], []
    for kind in KINDS:  # every kind's draws are made, so that choosing kinds moves no other window
        span = np.linspace(0.0, 1.0, P - 1)[None]
        if kind == "held":
            positions, label = np.full((n, P - 1), float(last)), positive
        elif kind == "rest":
            positions, label = np.zeros((n, P - 1)), np.zeros(n, bool)
        elif kind == "offset":
            end = rng.uniform(0.0, last, size=(n, 1))
            positions = last + (end - last) * span
            left = _resampled(share[:, :, None], end)[:, 0, 0]
            label = positive & (left >= LABELLED_FROM)
        else:
            start = rng.uniform(*MIDDLE, size=(n, 1)) * last
            positions, label = start + (last - start) * span, positive
        noise = rng.normal(0.0, jitter, size=(n, P - 1, *X.shape[2:]))
        if kind in kinds:
            window = _resampled(X, positions) + noise
            out.append(np.concatenate([X[:, :1], window], axis=1).astype(X.dtype))
            labels.append(label)
    if not out:
        return X[:0], positive[:0]
    return np.concatenate(out), np.concatenate(labels)
