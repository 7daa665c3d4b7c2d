"""The face followed through a recording: one face box, kept while the face stays in it (the
extract stage's `sequence` box, so that the points move as the face moves), found again
when the face is lost, has drifted out of the box's middle, or the frame's size changes."""

from __future__ import annotations

import numpy as np

from emo.data.landmarks import FaceBox, LandmarkDetector

# The landmarks' extent may wander this far (a fraction of the box side) from where it was when
# the box was found, or change its size by this fraction, before the box is found again.
DRIFT = 0.12
RESIZE = 0.2


class FaceTracker:
    def __init__(self, detector: LandmarkDetector):
        self.detector = detector
        self.box: FaceBox | None = None
        self._shape: tuple | None = None  # the size of the frame the box was found in
        self._extent: np.ndarray | None = None  # (centre x, centre y, width) of the points in the box when found
        self.refound = 0  # times the box was found again after the first

    def reset(self) -> None:
        """Forget the box: the next face is found afresh (a new recording, or a new stretch of one)."""
        self.box, self._extent = None, None

    def landmarks(self, gray: np.ndarray | None) -> np.ndarray | None:
        """The face's landmarks [468, 2] in this frame, in the current box's [0, 1] coordinates
        (self.box after the call); None when the frame is unreadable or shows no face."""
        if gray is None:
            return None
        if self.box is not None and gray.shape == self._shape:
            points = self.detector.landmarks_in(gray, self.box)
            if points is not None and not self._drifted(points):
                return points
        if not self._find(gray):
            return None
        points = self.detector.landmarks_in(gray, self.box)
        if points is not None:
            self._extent = _extent(points)
        return points

    def _find(self, gray: np.ndarray) -> bool:
        box = self.detector.find_face(gray)
        if box is None:
            return False
        self.refound += self.box is not None
        self.box, self._shape = box, gray.shape
        return True

    def _drifted(self, points: np.ndarray) -> bool:
        if self._extent is None:
            self._extent = _extent(points)
            return False
        now = _extent(points)
        return bool(np.abs(now[:2] - self._extent[:2]).max() > DRIFT
                    or abs(now[2] / self._extent[2] - 1) > RESIZE)


def _extent(points: np.ndarray) -> np.ndarray:
    lo, hi = points.min(axis=0), points.max(axis=0)
    return np.array([*(lo + hi) / 2, hi[0] - lo[0]])
