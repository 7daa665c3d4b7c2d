"""Face-mesh landmarks per frame: find the face, crop its square box, resize, run FaceLandmarker.

IMAGE running mode throughout: VIDEO mode needs one landmarker per video and is reported
non-deterministic, while IMAGE mode gives the same points for the same pixels.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from emo.mesh import N_LANDMARKS


def mediapipe_vision():
    """`mediapipe.tasks.python.vision`, imported without pulling in TensorFlow.

    mediapipe imports TensorFlow only to decorate its docs when it is installed; that
    costs about 4 s per process, paid by every extract worker. Hiding TensorFlow during
    the import makes mediapipe use its own fallback; TensorFlow stays importable after.
    """
    if "mediapipe.tasks.python.vision" not in sys.modules and "tensorflow" not in sys.modules:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]
        try:
            from mediapipe.tasks.python import vision
        finally:
            del sys.modules["tensorflow"]
    from mediapipe.tasks.python import vision

    return vision


@dataclass(frozen=True)
class FaceBox:
    """A square region of a frame, in pixels."""

    x0: float
    y0: float
    side: float

    @classmethod
    def around(cls, points_px: np.ndarray, margin: float) -> FaceBox:
        """The square centred on the points' bounding box, `margin` of its size added on each side."""
        lo, hi = points_px.min(axis=0), points_px.max(axis=0)
        centre = (lo + hi) / 2
        side = float((hi - lo).max() * (1 + 2 * margin))
        return cls(float(centre[0] - side / 2), float(centre[1] - side / 2), side)

    def crop(self, frame: np.ndarray, size: int) -> np.ndarray:
        """The box resampled to size x size; parts outside the frame repeat its border."""
        s = size / self.side
        m = np.array([[s, 0, -self.x0 * s], [0, s, -self.y0 * s]], dtype=np.float64)
        return cv2.warpAffine(frame, m, (size, size), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)

    def to_box(self, points_px: np.ndarray) -> np.ndarray:
        return (points_px - [self.x0, self.y0]) / self.side

    def to_frame(self, points_box: np.ndarray) -> np.ndarray:
        return points_box * self.side + [self.x0, self.y0]


class LandmarkDetector:
    """FaceLandmarker in IMAGE mode plus the face-box logic of the extract stage."""

    def __init__(
        self,
        model_path: str | Path,
        crop_size: int = 300,
        box: Literal["sequence", "frame"] = "sequence",
        margin: float = 0.25,
    ):
        vision = mediapipe_vision()
        import mediapipe
        from mediapipe.tasks.python import BaseOptions

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.IMAGE,
            num_faces=1,
        )
        self._landmarker = vision.FaceLandmarker.create_from_options(options)
        self._mp = mediapipe
        self.crop_size = crop_size
        self.box = box
        self.margin = margin

    def close(self) -> None:
        self._landmarker.close()

    def __enter__(self) -> LandmarkDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def detect(self, gray: np.ndarray) -> np.ndarray | None:
        """The 468 mesh landmarks of the face in a grayscale image, as (x, y) in [0, 1] of its
        width and height; None when no face is found. Iris points (468..477) are dropped."""
        rgb = cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
        result = self._landmarker.detect(self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb))
        if not result.face_landmarks:
            return None
        points = result.face_landmarks[0][:N_LANDMARKS]
        return np.array([(p.x, p.y) for p in points], dtype=np.float32)

    def detect_in_frame(self, gray: np.ndarray) -> np.ndarray | None:
        """Landmarks of the face in a whole frame, in pixels."""
        points = self.detect(gray)
        return None if points is None else points * [gray.shape[1], gray.shape[0]]

    def sequence(self, frames: Iterable[np.ndarray | None]) -> np.ndarray:
        """Landmarks of every frame, [n, 468, 2], in the face crop's [0, 1] coordinates; NaN where
        the frame was unreadable (None) or no face was found.

        The box is found on the first frame with a face. In 'sequence' mode it then stays,
        so the points move only as the face moves; in 'frame' mode each frame is re-cropped
        around its own face (the paper's per-frame crop), tracking the box from the frame before.
        """
        out: list[np.ndarray] = []
        box: FaceBox | None = None
        nan = np.full((N_LANDMARKS, 2), np.nan, dtype=np.float32)
        for frame in frames:
            if frame is None:
                out.append(nan)
                continue
            if box is None:
                found = self.detect_in_frame(frame)
                if found is None:
                    out.append(nan)
                    continue
                box = FaceBox.around(found, self.margin)
            points = self.detect(box.crop(frame, self.crop_size))
            if points is None:
                # The face left the box (fast motion): look in the whole frame instead.
                found = self.detect_in_frame(frame)
                if found is None:
                    out.append(nan)
                    continue
                points = box.to_box(found)
            if self.box == "frame":
                in_frame = box.to_frame(points)
                box = FaceBox.around(in_frame, self.margin)
                points = box.to_box(in_frame)
            out.append(points.astype(np.float32))
        if not out:
            return np.zeros((0, N_LANDMARKS, 2), dtype=np.float32)
        return np.stack(out)

