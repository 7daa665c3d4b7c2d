"""Face-mesh landmarks of a frame: find the face, crop its square box, resize, run FaceLandmarker
(which box, frame after frame: emo.data.face_boxes).

IMAGE running mode throughout: VIDEO mode needs one landmarker per video and is reported
non-deterministic, while IMAGE mode gives the same points for the same pixels.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emo.data.mesh import N_LANDMARKS, mediapipe_vision

N_BLENDSHAPES = 52  # FaceLandmarker's blendshape scores (ARKit's 52 names, MediaPipe's '_neutral' first)


@dataclass(frozen=True)
class FaceBox:
    """A square region of a frame, in pixels."""

    x0: float
    y0: float
    side: float

    @classmethod
    def around(cls, lo: np.ndarray, hi: np.ndarray, margin: float) -> FaceBox:
        """The square centred on the rectangle lo..hi, `margin` of its longer side added on each side."""
        lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
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

    def to_pixels(self, points: np.ndarray) -> np.ndarray:
        return points * self.side + [self.x0, self.y0]


class LandmarkDetector:
    """The face model's two networks in IMAGE mode: its face detector finds the face box, the
    landmarker reads the 468-point mesh inside the box's crop, and in the same call scores the
    face's 52 blendshapes (self.blendshapes: the last face read's; about 2% of the call's time,
    the landmarks unchanged)."""

    def __init__(
        self,
        model_path: str | Path,
        crop_size: int = 300,
        margin: float = 0.25,
    ):
        vision = mediapipe_vision()
        import mediapipe
        from mediapipe.tasks.python import BaseOptions

        self._mp = mediapipe
        self._landmarker = vision.FaceLandmarker.create_from_options(vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.IMAGE,
            num_faces=1,
            output_face_blendshapes=True,
        ))
        # The bundle's own face detector (BlazeFace), the one FaceLandmarker runs first:
        # about 3 ms a frame against 10 ms for the whole landmarker.
        with zipfile.ZipFile(model_path) as bundle:
            detector_model = bundle.read("face_detector.tflite")
        self._face_detector = vision.FaceDetector.create_from_options(vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_buffer=detector_model),
            running_mode=vision.RunningMode.IMAGE,
        ))
        self.crop_size = crop_size
        self.margin = margin
        self.blendshapes: np.ndarray | None = None  # [52] scores of the last face read (MediaPipe's order)

    def close(self) -> None:
        self._landmarker.close()
        self._face_detector.close()

    def __enter__(self) -> LandmarkDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _image(self, gray: np.ndarray):
        return self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB))

    def _landmarks(self, image) -> np.ndarray | None:
        result = self._landmarker.detect(image)
        self.blendshapes = (np.array([c.score for c in result.face_blendshapes[0]], dtype=np.float32)
                            if result.face_blendshapes else None)
        if not result.face_landmarks:
            return None
        # 0..467 are the mesh; 468..477 the irises, which the method does not use.
        return np.array([(p.x, p.y) for p in result.face_landmarks[0][:N_LANDMARKS]], dtype=np.float32)

    def find_face(self, gray: np.ndarray) -> FaceBox | None:
        """The square face box of a grayscale frame (the most confident face), or None."""
        detections = self._face_detector.detect(self._image(gray)).detections
        if not detections:
            return None
        b = max(detections, key=lambda d: d.categories[0].score).bounding_box
        return FaceBox.around((b.origin_x, b.origin_y), (b.origin_x + b.width, b.origin_y + b.height), self.margin)

    def landmarks_in(self, gray: np.ndarray, box: FaceBox) -> np.ndarray | None:
        """Landmarks [468, 2] of the face in a box of a grayscale frame, in the box's [0, 1]
        coordinates (the crop the landmarker reads); None when there is none."""
        return self._landmarks(self._image(box.crop(gray, self.crop_size)))

    def detect_in_frame(self, gray: np.ndarray) -> np.ndarray | None:
        """Landmarks of the face in a whole grayscale frame, in pixels; None when there is none."""
        points = self._landmarks(self._image(gray))
        return None if points is None else points * [gray.shape[1], gray.shape[0]]
