"""A video read as one clip, as `emo predict` and `emo explain` read it: a video file, a folder of
frames or a CK+ sequence folder, read as the extract stage reads it, whole or a stretch of it
(a Moment of a longer recording)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from emo.data.face_boxes import restart_frames
from emo.data.frames import Frame, VideoStream, check_video_path


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


@dataclass
class ClipFrames:
    """A clip's frames as FaceBoxes.sequence reads them: a whole video from its first frame, or a
    moment of a recording from the face box's last fresh start before it (its warm-up), so that
    the moment's frames get the points the timeline finds in them."""

    frames: Iterator[Frame]
    warm_up: Iterable[Frame] = ()
    restart_every: int | None = None


def clip_frames(path: Path, moment: Moment | None = None, frame_rate: float = 30.0) -> ClipFrames:
    """A video's frames, read as they are used, never held; with `moment`, only that stretch of
    it (the recording is read to the stretch's start, then again from the box's last fresh
    start). `frame_rate`: a frame folder's (timeline.frame_rate, as the timeline reads it). The
    path is checked at once; a file that cannot be opened raises when first read."""
    check_video_path(path)
    stream = VideoStream(str(path), frame_rate)
    if moment is None:
        return ClipFrames(stream.frames())
    first = next((f.index for f in itertools.takewhile(lambda f: not moment.past(f), stream.frames())
                  if moment.holds(f)), None)
    if first is None:
        return ClipFrames(iter(()))
    every = restart_frames(stream.fps())
    start = first - first % every
    frames = itertools.takewhile(lambda f: not moment.past(f), stream.frames(start))
    return ClipFrames((f for f in frames if moment.holds(f)), itertools.islice(frames, first - start), every)


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
