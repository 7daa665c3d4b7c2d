"""Frames of a recording with their timestamps: a video file, a folder of frames, a camera or a
stream URL; read once, in order, never all held at once.

Files and frame folders can be read from any frame on (so that worker processes read parts of
one recording); cameras and stream URLs only as they arrive. Live reading keeps the newest
frame only and counts the ones it overwrote: a slow consumer skips frames instead of falling
ever further behind.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emo.data.sources import VIDEO_SUFFIXES, check_video_path, decoded_frames, frame_count, image_files, open_video


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
    """A capture's frames, read as the extract stage reads a video (decoded_frames: a failed
    decode in the middle is a None frame, not the end). Files: the container's timestamps
    (variable frame rates stay true). Live: arrival times."""
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


class LiveFrames:
    """The newest frame of a source as it arrives, read in a background thread; frames the
    consumer was too slow to take are dropped and counted. `realtime` plays a file at its own
    timestamps, as a camera would deliver it."""

    def __init__(self, source: VideoStream, realtime: bool = False):
        self.source = source
        self.realtime = realtime
        self.dropped = 0
        self.delivered = 0
        self._latest: Frame | None = None
        self._done = False
        self._error: BaseException | None = None
        self._ready = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> LiveFrames:
        self._frames = self.source.frames()  # opens the capture here: a missing camera fails at once
        self._first = next(self._frames, None)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _read(self) -> None:
        started = time.perf_counter()
        try:
            frames = self._frames if self._first is None else _chain(self._first, self._frames)
            for frame in frames:
                if self._stop.is_set():
                    break
                if self.realtime:
                    wait = started + frame.time_s - time.perf_counter()
                    if wait > 0:
                        time.sleep(wait)
                    frame.arrival = time.perf_counter()
                with self._ready:
                    self.dropped += self._latest is not None
                    self._latest = frame
                    self._ready.notify()
        except BaseException as e:  # handed to the consumer
            self._error = e
        with self._ready:
            self._done = True
            self._ready.notify()

    def __iter__(self) -> Iterator[Frame]:
        while True:
            with self._ready:
                while self._latest is None and not self._done:
                    self._ready.wait()
                frame, self._latest = self._latest, None
            if frame is None:
                if self._error is not None:
                    raise self._error
                return
            self.delivered += 1
            yield frame


def _chain(first: Frame, rest: Iterator[Frame]) -> Iterator[Frame]:
    yield first
    yield from rest


def recordings_in(folder: Path, frame_rate: float) -> list[VideoStream]:
    """The recordings in a folder, by name: video files, and subfolders holding frames."""
    found = [p for p in sorted(folder.iterdir()) if not p.name.startswith(".")
             and ((p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES) or (p.is_dir() and image_files(p)))]
    return [VideoStream(str(p), frame_rate) for p in found]
