"""The one frame reader: frames of a video file, a folder of frames, a camera or a stream URL, in
grayscale, with their positions and timestamps; read once, in order, never all held at once.

Files and frame folders can be read from any frame on (so that worker processes read parts of
one recording); cameras and stream URLs only as they arrive. A file's frame that fails to decode
is a None frame, not the end.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emo.errors import EmoError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm"}

# A video whose decoder fails this many frames in a row has ended (or is past saving).
MAX_UNREADABLE_RUN = 25


@dataclass
class Frame:
    index: int  # position in the recording (0-based), counting unreadable frames
    time_s: float  # the container's timestamp (videos), index / frame rate (folders), arrival (live)
    gray: np.ndarray | None  # None: the frame could not be decoded
    arrival: float = 0.0  # time.perf_counter() when it was read (live latency)


@dataclass(frozen=True)
class VideoStream:
    """Where frames come from: `spec` is a path, a camera index ("0") or a URL."""

    spec: str
    frame_rate: float = 30.0  # frame folders only

    @property
    def camera(self) -> int | None:
        return int(self.spec) if self.spec.isdigit() else None

    @property
    def url(self) -> bool:
        return "://" in self.spec

    @property
    def live(self) -> bool:
        """Frames arrive in real time and cannot be re-read."""
        return self.camera is not None or self.url

    @property
    def path(self) -> Path:
        return Path(self.spec)

    @property
    def name(self) -> str:
        """What a recording's outputs are named after."""
        if self.camera is not None:
            return f"camera{self.camera}"
        if self.url:
            return "stream"
        return self.path.stem if self.path.is_file() else self.path.name

    def truth_file(self) -> Path | None:
        """`<name>.truth.csv` beside the recording, when there is one."""
        if self.live:
            return None
        path = self.path.parent / f"{self.name}.truth.csv"
        return path if path.is_file() else None

    def check(self) -> None:
        """One sentence when the source cannot be a recording; cameras and URLs are checked on opening."""
        if not self.live:
            check_video_path(self.path)

    def frame_count(self) -> int:
        """Frames the recording claims to have (0 when it cannot say: live sources)."""
        return 0 if self.live else frame_count(self.path)

    def fps(self) -> float:
        """Frames per second: a video's header (frame_rate when it has none), frame_rate for folders."""
        if self.path.is_dir() and not self.live:
            return self.frame_rate
        cap = cv2.VideoCapture(self.camera if self.camera is not None else self.spec)
        try:
            return cap.get(cv2.CAP_PROP_FPS) or self.frame_rate
        finally:
            cap.release()

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[Frame]:
        """Frames start..stop-1 (stop None: to the end), grayscale."""
        if self.path.is_dir() and not self.live:
            files = image_files(self.path)[start:stop]
            for i, f in enumerate(files, start):
                yield Frame(i, i / self.frame_rate, cv2.imread(str(f), cv2.IMREAD_GRAYSCALE), time.perf_counter())
            return
        cap = open_video(self.camera if self.camera is not None else self.spec)
        try:
            yield from _captured(cap, self, start, stop)
        finally:
            cap.release()


def _captured(cap: cv2.VideoCapture, source: VideoStream, start: int, stop: int | None) -> Iterator[Frame]:
    """A capture's frames (decoded_frames: a failed decode in the middle is a None frame, not the
    end). Files: the container's timestamps (variable frame rates stay true). Live: arrival times."""
    fps = cap.get(cv2.CAP_PROP_FPS) or source.frame_rate
    total = 0 if source.live else int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    if start:
        cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    began = time.perf_counter()
    last_time = None
    frames = decoded_frames(cap, total, start, source.live)
    for index, gray in enumerate(frames if stop is None else itertools.islice(frames, max(stop - start, 0)), start):
        now = time.perf_counter()
        if gray is None:
            t = (last_time + 1 / fps) if last_time is not None else index / fps
        elif source.live:
            t = now - began
        else:
            msec = cap.get(cv2.CAP_PROP_POS_MSEC)
            t = msec / 1000 if msec > 0 or index == 0 else index / fps
            if last_time is not None and t <= last_time:  # a container without timestamps
                t = last_time + 1 / fps
        yield Frame(index, t, gray, now)
        last_time = t


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


def image_files(folder: Path) -> list[Path]:
    """A folder's frame files, by name; one sentence when the folder cannot be listed."""
    try:
        names = list(folder.iterdir())
    except PermissionError:
        raise EmoError(unreadable(folder)) from None
    return sorted(p for p in names if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
