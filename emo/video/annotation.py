"""A recording's frames with the timeline drawn on them: the landmarks, the current emotion
and its probability, and the six probabilities as bars (OpenCV drawing, fast enough to keep
pace with the timeline)."""

from __future__ import annotations

import cv2
import numpy as np

from emo.data.emotions import EMOTIONS
from emo.video.mp4 import H264Writer
from emo.video.sliding_window import NONE

# BGR, one per emotion (the colour-blind palette the timeline plot uses, as 0-255 BGR)
BAR_COLOURS = [(178, 114, 0), (0, 159, 230), (115, 158, 0), (66, 94, 213), (167, 121, 204), (233, 180, 86)]
PANEL = 190  # px of the bar panel to the right of the frame


def annotated_frame(gray: np.ndarray | None, points: np.ndarray | None, probabilities: np.ndarray,
                    emotion: str, time_s: float, shape: tuple[int, int]) -> np.ndarray:
    """One output frame [h, w + PANEL, 3]: the frame (blank when unreadable) with its landmarks
    (points [468, 2] in pixels, or None), and the panel of bars; probabilities NaN when none."""
    h, w = shape
    canvas = np.zeros((h, w + PANEL, 3), np.uint8)
    if gray is not None and gray.shape == (h, w):
        canvas[:, :w] = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    if points is not None:
        for x, y in np.round(points).astype(int):
            cv2.circle(canvas, (int(x), int(y)), 1, (80, 255, 80), -1)
    label = {"": "no answer", NONE: "none"}.get(emotion, emotion)
    best = -1 if np.isnan(probabilities).any() else int(np.argmax(probabilities))
    if emotion not in ("", NONE):
        label += f" {probabilities[best]:.2f}"
    cv2.putText(canvas, label, (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
    cv2.putText(canvas, f"{time_s:.2f} s", (10, h - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (220, 220, 220), 1, cv2.LINE_AA)
    x0, length = w + 10, PANEL - 20
    for i, (name, colour) in enumerate(zip(EMOTIONS, BAR_COLOURS)):
        y = 30 + 36 * i
        cv2.putText(canvas, name, (x0, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (230, 230, 230), 1, cv2.LINE_AA)
        cv2.rectangle(canvas, (x0, y + 5), (x0 + length, y + 17), (60, 60, 60), -1)
        if best >= 0:
            cv2.rectangle(canvas, (x0, y + 5), (x0 + int(length * probabilities[i]), y + 17), colour, -1)
    return canvas


class AnnotatedVideo:
    """An H.264 MP4 of annotated frames, written as they come."""

    def __init__(self, path, fps: float, shape: tuple[int, int]):
        self.shape = shape
        h, w = shape
        self._writer = H264Writer(path, fps, (w + PANEL, h))

    def write(self, gray, points, probabilities, emotion, time_s) -> None:
        self._writer.write(annotated_frame(gray, points, probabilities, emotion, time_s, self.shape))

    def close(self) -> None:
        self._writer.close()
