"""The neutral face a recording is read against, estimated from the recording itself.

The models read motion from a neutral face, and a recording does not say which of its frames
are neutral: people may open on an expression, and a face at rest need not look neutral in
absolute terms. So each face frame is scored by how neutral it looks without any reference:
the log-odds of the linear discriminant between the training clips' neutral first frames and
their peaks, on pose-free face shapes (emo.video.onset.NeutralFace; within one person, whose
identity is constant, it ranks expressions). The reference is the median, after head motion
is removed, of the `size` most neutral-looking frames seen:

- offline, of the whole recording (a first pass scores every frame, the second reads the
  timeline against the estimate);
- live, of the frames seen so far: it settles on the first seconds and moves to the neutral
  frames as they come, so that a recording opening on an expression corrects itself once the
  person relaxes.

A recording whose first seconds look less neutral than the estimate's frames by more than
OPENING_NATS (or the discriminant's own threshold, where too few training clips make it rise)
is said to open on an expression. The pool is the most neutral-looking frames, so even a neutral
opening looks a few nats less neutral than it.
"""

from __future__ import annotations

import heapq

import numpy as np

from emo.video.alignment import aligned
from emo.video.onset import NeutralFace

# Chosen on the demo recordings of the people the models trained on: 8.9 nats where the recording
# opens neutral, 16.2 where it opens on an expression (the held-apart people's: 1.7 and 37).
OPENING_NATS = 12.0


class NeutralEstimate:
    """The most neutral-looking face frames fed so far (at most `size`), and the reference made of
    them; `opening_s`: the first seconds, compared with the reference for the warning."""

    def __init__(self, face: NeutralFace, size: int, opening_s: float):
        self.face = face
        self.size = max(1, size)
        self.opening_s = opening_s
        self._pool: list[tuple[float, int, np.ndarray, float]] = []  # min-heap: (score, order, points, time)
        self._fed = 0
        self._start: float | None = None
        self._opening: list[float] = []  # scores of the first opening_s seconds' face frames

    def add(self, times: np.ndarray, points: np.ndarray) -> None:
        """Face frames' times [n] and landmarks [n, 468, 2] (NaN rows: no face, skipped)."""
        found = ~np.isnan(points).any(axis=(1, 2))
        if not found.any():
            return
        times, points = times[found], points[found]
        scores = self.face.log_odds(points.transpose(0, 2, 1))
        if self._start is None:
            self._start = float(times[0])
        self._opening.extend(scores[times - self._start < self.opening_s].tolist())
        for score, p, t in zip(scores.tolist(), points, times.tolist()):
            item = (score, self._fed, p, t)
            self._fed += 1
            if len(self._pool) < self.size:
                heapq.heappush(self._pool, item)
            elif score > self._pool[0][0]:
                heapq.heapreplace(self._pool, item)

    def reference(self) -> np.ndarray | None:
        """[468, 2] the median of the pool, each frame first mapped onto the most neutral one's pose;
        None before any face."""
        if not self._pool:
            return None
        best = max(self._pool)[2]
        frames = np.stack([item[2] for item in self._pool])
        return np.median(aligned(frames, best), axis=0).astype(np.float32)

    def opening_gap(self) -> float:
        """Nats by which the first seconds look less neutral than the reference's frames (median against median)."""
        if not self._pool or not self._opening:
            return 0.0
        return float(np.median([item[0] for item in self._pool]) - np.median(self._opening))

    def opens_expressive(self) -> bool:
        return self.opening_gap() > max(OPENING_NATS, self.face.threshold)

    def describe(self) -> str:
        """Which frames the reference is made of, for the user."""
        if not self._pool:
            return "no face yet"
        times = sorted(item[3] for item in self._pool)
        return (f"estimated: the {len(times)} most neutral-looking of {self._fed} face frames, between "
                f"{times[0]:.1f} and {times[-1]:.1f} s")

    def warning(self) -> str:
        """'' or one sentence: the first seconds look expressive, so they were not taken as neutral."""
        if not self.opens_expressive():
            return ""
        return (f"the first {self.opening_s:g} s look expressive ({self.opening_gap():.0f} nats less neutral than "
                f"the most neutral frames), so the reference comes from later frames; with --reference neutral "
                "they would be read as the neutral face")
