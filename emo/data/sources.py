"""One video of a dataset, a folder of frames or a video file: where its frames are, its subject
and its label."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emo.data.emotions import EMOTIONS
from emo.errors import EmoError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm"}


@dataclass(frozen=True)
class SequenceSource:
    """One video: a folder of frames or a video file."""

    sequence: str  # unique id within the dataset, e.g. "S005/001"
    subject: str
    path: Path
    label: str  # an emotion name, "contempt", "neutral", or "" when unknown
    problem: str = ""  # why it cannot be used; "" when it can

    @property
    def usable(self) -> bool:
        return not self.problem and self.label in EMOTIONS

    def frame_count(self) -> int:
        return frame_count(self.path)

    def frames(self) -> Iterator[np.ndarray | None]:
        """Grayscale uint8 frames in order; None for a frame file that cannot be decoded."""
        if self.path.is_dir():
            for f in image_files(self.path):
                yield cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
            return
        cap = cv2.VideoCapture(str(self.path))
        try:
            while True:
                ok, frame = cap.read()
                if not ok:
                    return
                yield frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        finally:
            cap.release()


def frame_count(path: Path) -> int:
    """Frames a video or frame folder claims to have (files in the folder, or the video's header)."""
    if path.is_dir():
        return len(image_files(path))
    cap = cv2.VideoCapture(str(path))
    try:
        return max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0) if cap.isOpened() else 0
    finally:
        cap.release()


def check_video_path(path: Path) -> None:
    """One sentence when a path given as a video is none: missing, an empty folder, another file."""
    if not path.exists():
        raise EmoError(f"{path} does not exist.")
    if path.is_dir() and not image_files(path):
        raise EmoError(f"no frames in {path}: the folder holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))}).")
    if path.is_file() and path.suffix.lower() not in VIDEO_SUFFIXES:
        raise EmoError(f"{path} is not a video ({', '.join(sorted(VIDEO_SUFFIXES))}) or a folder of frames.")


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
