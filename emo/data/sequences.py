"""Per-sequence landmark arrays: fill frames with no face from their neighbours, resample to P."""

from __future__ import annotations

import numpy as np


def fill_gaps(points: np.ndarray) -> tuple[np.ndarray, int]:
    """Replace frames holding NaN ([n, ...] with whole frames missing) by linear interpolation
    between the nearest frames that have a face; leading and trailing gaps copy the nearest one.
    Returns the filled array and how many frames were filled. Needs at least one valid frame."""
    n = points.shape[0]
    flat = points.reshape(n, -1)
    valid = ~np.isnan(flat).any(axis=1)
    if valid.all():
        return points.copy(), 0
    if not valid.any():
        raise ValueError("no frame has landmarks")
    t = np.arange(n)
    known = t[valid]
    # Index of the last valid frame at or before t, and the first at or after t.
    prev = np.maximum.accumulate(np.where(valid, t, -1))
    nxt = np.minimum.accumulate(np.where(valid, t, n)[::-1])[::-1]
    prev = np.where(prev < 0, known[0], prev)
    nxt = np.where(nxt >= n, known[-1], nxt)
    span = np.maximum(nxt - prev, 1)
    w = ((t - prev) / span)[:, None]
    filled = (1 - w) * flat[prev] + w * flat[nxt]
    return filled.reshape(points.shape).astype(points.dtype), int((~valid).sum())


def resample(points: np.ndarray, frames: int) -> np.ndarray:
    """Linearly resample [n, ...] along time to [frames, ...], keeping the first and last frame
    (CK+ sequences run from the neutral face to the peak expression)."""
    n = points.shape[0]
    if n == 1:
        return np.repeat(points, frames, axis=0)
    t = np.linspace(0, n - 1, frames)
    lo = np.floor(t).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = (t - lo).reshape(-1, *([1] * (points.ndim - 1)))
    return ((1 - w) * points[lo] + w * points[hi]).astype(points.dtype)
