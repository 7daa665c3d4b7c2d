"""One video of a dataset, a folder of frames or a video file: where its frames are, its subject
and its label."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emo.data.emotions import EMOTIONS
from emo.errors import EmoError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm"}

# A video whose decoder fails this many frames in a row has ended (or is past saving).
MAX_UNREADABLE_RUN = 25


@dataclass(frozen=True)
class DatasetVideo:
    """One video of a dataset (a folder of frames or a video file), with its subject and label."""

    sequence: str  # unique id within the dataset, e.g. "S005/001"
    subject: str
    path: Path
    label: str  # an emotion name, "contempt", "neutral", or "" when unknown
    problem: str = ""  # why it cannot be used; "" when it can

    @property
    def usable(self) -> bool:
        return not self.problem and self.label in EMOTIONS

    def frames(self) -> Iterator[np.ndarray | None]:
        """Grayscale uint8 frames in order; None for a frame that cannot be decoded."""
        if self.path.is_dir():
            for f in image_files(self.path):
                yield cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
            return
        cap = open_video(str(self.path))
        try:
            yield from decoded_frames(cap, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        finally:
            cap.release()


def open_video(spec: str | int) -> cv2.VideoCapture:
    """An opened capture of a video file, URL or camera index; one sentence when it cannot open."""
    cap = cv2.VideoCapture(spec)
    if cap.isOpened():
        return cap
    cap.release()
    if isinstance(spec, int):
        raise EmoError(f"camera {spec} cannot be opened: none is connected at that index, or another program holds "
                       "it; check the camera or give a video file.")
    raise EmoError(f"{spec} cannot be opened as a video; check the path or URL and that OpenCV's FFmpeg reads its "
                   "format.")


def decoded_frames(cap: cv2.VideoCapture, total: int, first: int = 0, live: bool = False
                   ) -> Iterator[np.ndarray | None]:
    """A capture's frames in grayscale from frame `first` on. A file's decoder failing before
    the `total` frames it announced is a corrupt frame, read as None, not the end (unless it
    fails MAX_UNREADABLE_RUN times in a row); a live capture ends at its first failure."""
    index, failed_run = first, 0
    while True:
        ok, frame = cap.read()
        if ok:
            failed_run = 0
            yield frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        else:
            failed_run += 1
            if live or index >= total - 1 or failed_run >= MAX_UNREADABLE_RUN:
                return
            yield None
        index += 1


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
    """One sentence when a path given as a video is none: missing, unreadable, an empty folder,
    another file."""
    if not path.exists():
        raise EmoError(f"{path} does not exist.")
    if not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
        raise EmoError(unreadable(path))
    if path.is_dir() and not image_files(path):
        raise EmoError(f"no frames in {path}: the folder holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))}).")
    if path.is_file() and path.suffix.lower() not in VIDEO_SUFFIXES:
        raise EmoError(f"{path} is not a video ({', '.join(sorted(VIDEO_SUFFIXES))}) or a folder of frames.")


def unreadable(path: Path) -> str:
    return f"{path} cannot be read (permission denied); give it read permission (chmod u+rx for a folder)."


def folder_problem(folder: Path) -> str:
    """Why a sequence folder gives no frames, as the manifest says it ("" when it has some)."""
    try:
        return "" if image_files(folder) else "no frames: no image files in the sequence folder"
    except EmoError as e:
        return f"unreadable: {e}"


def image_files(folder: Path) -> list[Path]:
    """A folder's frame files, by name; one sentence when the folder cannot be listed."""
    try:
        names = list(folder.iterdir())
    except PermissionError:
        raise EmoError(unreadable(folder)) from None
    return sorted(p for p in names if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
