"""The one face-box policy: which square of each frame the landmarker reads, frame after frame,
and which box the landmarks are measured in. Extract, evaluate_landmarks, predict, explain
(`--moment` included), the timeline and the report's faces all read faces through it.

`sequence` (extract.box, ours): the box is found on the first frame with a face, and the points
stay measured in that box (the anchor), so that they move only as the face moves. The box the
landmarker reads follows the face: it is found again when the face is lost, or when its points
have drifted out of the box's middle (DRIFT) or changed size (RESIZE), as over a long recording.
A frame of another size starts afresh (anchor included): a box found in a frame of one size
crops the wrong part of another. `frame` (the paper's per-frame crop): every frame's own box,
its points measured in it. Either way, once a box was found, a frame whose box shows no face
is read whole.

A recording is read in stretches of RESTART_S seconds, at whose starts the box is found afresh,
so that a stretch read alone (by a timeline worker, or `emo explain --moment`) finds the same
points in its frames as the whole recording's reading does (the timeline measures each
stretch in its own first box; a moment keeps its first box throughout).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from emo.config import ExtractParams
from emo.data.frames import Frame
from emo.data.landmarks import N_BLENDSHAPES, FaceBox, LandmarkDetector
from emo.data.mesh import N_LANDMARKS
from emo.parallel import prefetch

# The landmarks' extent may wander this far (a fraction of the box side) from where it was when
# the box was found, or change its size by this fraction, before the box is found again.
DRIFT = 0.12
RESIZE = 0.2
RESTART_S = 4.0


def restart_frames(fps: float) -> int:
    """Frames of a recording between the box's fresh starts."""
    return max(int(RESTART_S * fps), 16)


NO_POINTS = np.full((N_LANDMARKS, 2), np.nan, dtype=np.float32)
NO_BLENDSHAPES = np.full(N_BLENDSHAPES, np.nan, dtype=np.float32)


@dataclass
class FacesRead:
    """A sequence's faces, frame by frame: landmarks [468, 2] (NaN where the frame is unreadable
    or shows no face), the box they are measured in (None before the first face), and the
    face's 52 blendshape scores (NaN where none)."""

    points: list[np.ndarray]
    boxes: list[FaceBox | None]
    blendshapes: list[np.ndarray]

    def add(self, points: np.ndarray | None, box: FaceBox | None, blendshapes: np.ndarray | None) -> None:
        """One frame's face (points None: none found)."""
        self.points.append(NO_POINTS if points is None else points)
        self.boxes.append(box)
        self.blendshapes.append(NO_BLENDSHAPES if points is None else blendshapes)

    def point_array(self) -> np.ndarray:
        """[n, 468, 2]"""
        return np.stack(self.points) if self.points else np.zeros((0, N_LANDMARKS, 2), np.float32)

    def blendshape_array(self) -> np.ndarray:
        """[n, 52]"""
        return np.stack(self.blendshapes) if self.blendshapes else np.zeros((0, N_BLENDSHAPES), np.float32)


class FaceBoxes:
    def __init__(self, detector: LandmarkDetector, policy: Literal["sequence", "frame"] = "sequence"):
        self.detector = detector
        self.policy = policy  # params' extract.box
        self.restart_every: int | None = None  # frames of the recording between fresh starts (restart_frames)
        self.anchor: FaceBox | None = None  # the box the points are measured in
        self.box: FaceBox | None = None  # the box the landmarker reads
        self._shape: tuple | None = None  # the size of the frames the boxes belong to
        self._extent: np.ndarray | None = None  # (centre x, centre y, width) of the points when the box was found
        self.refound = 0  # times the box was found again after the first
        self.blendshapes: np.ndarray | None = None  # [52] the last landmarks' face's blendshape scores

    @classmethod
    def of(cls, model_path, extract: ExtractParams) -> FaceBoxes:
        """The policy that params' extract section sets (box, box_margin, crop_size)."""
        return cls(LandmarkDetector(model_path, extract.crop_size, extract.box_margin), extract.box)

    def close(self) -> None:
        self.detector.close()

    def __enter__(self) -> FaceBoxes:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def reset(self, restart_every: int | None = None) -> None:
        """Forget the boxes: a new recording, or a stretch of one read alone; `restart_every`:
        its frames between fresh starts (None: a clip, read in one)."""
        self.anchor = self.box = self._shape = self._extent = None
        self.restart_every = restart_every

    def _restart(self) -> None:
        """Find the landmarker's box afresh; the points stay measured in the anchor."""
        self.box = self._extent = None

    def landmarks(self, frame: Frame) -> np.ndarray | None:
        """The face's landmarks [468, 2] in this frame, in self.anchor's [0, 1] coordinates; None
        when the frame is unreadable or shows no face. self.blendshapes: its face's scores."""
        points = self._landmarks(frame)
        scores = self.detector.blendshapes
        self.blendshapes = None if points is None else NO_BLENDSHAPES if scores is None else scores
        return points

    def _landmarks(self, frame: Frame) -> np.ndarray | None:
        if self.restart_every and frame.index % self.restart_every == 0:
            self._restart()
        gray = frame.gray
        if gray is None:
            return None
        if gray.shape != self._shape:
            self.anchor = self.box = self._extent = None
            self._shape = gray.shape
        if self.policy == "frame":
            self.box = self.anchor = self.detector.find_face(gray) or self.box
            points = None if self.box is None else self.detector.landmarks_in(gray, self.box)
        else:
            points = self._followed(gray)
        if points is None and self.box is not None:
            # Nowhere in its box: read the whole frame.
            found = self.detector.detect_in_frame(gray)
            return None if found is None else self._measured(found)
        return points

    def _followed(self, gray: np.ndarray) -> np.ndarray | None:
        """The points in the followed box, as the anchor measures them; the box found again
        where the face has left it or drifted from its middle."""
        if self.box is not None:
            points = self.detector.landmarks_in(gray, self.box)
            if points is not None and not self._drifted(points):
                return self._in_anchor(points)
            drifted = points
        else:
            drifted = None
        box = self.detector.find_face(gray)
        if box is None:
            return None if drifted is None else self._in_anchor(drifted)
        self.refound += self.box is not None
        self.box = box
        self.anchor = self.anchor or box
        points = self.detector.landmarks_in(gray, box)
        if points is not None:
            self._extent = _extent(points)
        return None if points is None else self._in_anchor(points)

    def _in_anchor(self, points: np.ndarray) -> np.ndarray:
        if self.box == self.anchor:
            return points
        return self._measured(self.box.to_pixels(points))

    def _measured(self, pixels: np.ndarray) -> np.ndarray:
        return self.anchor.to_box(pixels).astype(np.float32)

    def _drifted(self, points: np.ndarray) -> bool:
        if self._extent is None:
            self._extent = _extent(points)
            return False
        now = _extent(points)
        return bool(np.abs(now[:2] - self._extent[:2]).max() > DRIFT
                    or abs(now[2] / self._extent[2] - 1) > RESIZE)

    def sequence(self, frames: Iterable[Frame], warm_up: Iterable[Frame] = (), restart_every: int | None = None
                 ) -> FacesRead:
        """Every frame's face, read afresh (see reset); `warm_up`: frames read before them only
        to place the boxes (a stretch's lead-in since its last fresh start). Decoding runs
        ahead in a second thread, overlapping the landmarker."""
        self.reset(restart_every)
        for frame in warm_up:
            self.landmarks(frame)
        read = FacesRead([], [], [])
        for frame in prefetch(frames):
            read.add(self.landmarks(frame), self.anchor, self.blendshapes)
        return read


_worker_faces: FaceBoxes | None = None  # one FaceLandmarker per worker process


def init_worker_faces(model_path: str, extract: ExtractParams) -> None:
    """A process pool's initializer: the worker's own face boxes (worker_faces)."""
    global _worker_faces
    _worker_faces = FaceBoxes.of(model_path, extract)


def worker_faces() -> FaceBoxes:
    """This worker process's face boxes (init_worker_faces)."""
    return _worker_faces


def _extent(points: np.ndarray) -> np.ndarray:
    lo, hi = points.min(axis=0), points.max(axis=0)
    return np.array([*(lo + hi) / 2, hi[0] - lo[0]])
