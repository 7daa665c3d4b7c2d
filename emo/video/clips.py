"""A video read as one clip, as `emo predict` and `emo explain` read it: a video file, a folder of
frames or a CK+ sequence folder, read as the extract stage reads it, whole or a stretch of it
(a Moment of a longer recording)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emo.data.sources import DatasetVideo, check_video_path
from emo.video.streams import Frame, VideoStream


@dataclass(frozen=True)
class Moment:
    """A stretch of a recording: from `start` to `end`, in seconds or in frame numbers."""

    start: float
    end: float
    unit: str  # "s" or "frame"

    def holds(self, frame: Frame) -> bool:
        at = frame.time_s if self.unit == "s" else frame.index
        return self.start <= at <= self.end

    def past(self, frame: Frame) -> bool:
        return (frame.time_s if self.unit == "s" else frame.index) > self.end

    @property
    def span(self) -> str:
        """The stretch in words, e.g. 'from 12.5 to 14 s'."""
        return f"from {self.start:g} to {self.end:g} " + ("s" if self.unit == "s" else "(frame numbers)")

    @property
    def label(self) -> str:
        return f"{self.start:g}-{self.end:g}{'s' if self.unit == 's' else ''}"


def video_frames(path: Path, moment: Moment | None = None) -> Iterator[np.ndarray | None]:
    """A video's grayscale frames (None: one that does not decode), read as they are used, never
    held; with `moment`, only that stretch of it (the recording is read up to the stretch's end).
    The path is checked at once; a file that cannot be opened raises when first read."""
    check_video_path(path)
    if moment is None:
        return DatasetVideo(sequence=path.name, subject="", path=path, label="").frames()
    frames = itertools.takewhile(lambda f: not moment.past(f), VideoStream(str(path)).frames())
    return (f.gray for f in frames if moment.holds(f))


def timed(frames: Iterable, timing: dict[str, float], key: str) -> Iterator:
    """`frames` as they come, the seconds spent reading them added up in timing[key]."""
    timing[key] = 0.0
    frames = iter(frames)
    while True:
        start = time.perf_counter()
        try:
            frame = next(frames)
        except StopIteration:
            return
        finally:
            timing[key] += time.perf_counter() - start
        yield frame
