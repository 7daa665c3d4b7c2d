"""What an offline timeline keeps on disk between its two passes (the estimated reference needs
the whole recording before the first answer): the landmark runs, and the frames an annotated
video draws (their landmarks; their images are decoded again), so that memory stays flat
whatever the recording's length."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import numpy as np

from emo.data.frames import Frame, VideoStream
from emo.data.landmarks import N_BLENDSHAPES
from emo.data.mesh import N_LANDMARKS
from emo.video.sliding_window import LandmarkRun


class RunSpill:
    """Landmark runs kept on disk between an offline timeline's two passes (an hour at 30 frames/s
    is 400 MB of landmarks, 22 MB of blendshape scores), their frame numbers and times in memory."""

    def __enter__(self) -> RunSpill:
        self._file = tempfile.TemporaryFile()
        self._runs: list[tuple[np.ndarray, np.ndarray, int]] = []
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()

    def add(self, run: LandmarkRun) -> None:
        self._file.write(np.ascontiguousarray(run.points, np.float32).tobytes())
        self._file.write(np.ascontiguousarray(run.blendshape_scores(), np.float32).tobytes())
        self._runs.append((run.index, run.time_s, run.unreadable))

    def runs(self) -> Iterator[LandmarkRun]:
        self._file.seek(0)
        for index, times, unreadable in self._runs:
            n = len(index)
            points = np.frombuffer(self._file.read(n * N_LANDMARKS * 2 * 4), np.float32).reshape(n, N_LANDMARKS, 2)
            shapes = np.frombuffer(self._file.read(n * N_BLENDSHAPES * 4), np.float32).reshape(n, N_BLENDSHAPES)
            yield LandmarkRun(index, times, points.copy(), unreadable, shapes.copy())


class SpilledFrames:
    """The frames an annotated video draws, as `seen` (append while landmarks are read, popleft
    while answers come) across two passes: their landmarks in pixels on disk, their images
    decoded again from the source."""

    def __init__(self, source: VideoStream):
        self.source = source

    def __enter__(self) -> SpilledFrames:
        self._file = tempfile.TemporaryFile()
        self._frames: Iterator[Frame] | None = None
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()

    def append(self, item: tuple[np.ndarray | None, np.ndarray | None]) -> None:
        points = item[1] if item[1] is not None else np.full((N_LANDMARKS, 2), np.nan)
        self._file.write(np.asarray(points, np.float32).tobytes())

    def popleft(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        if self._frames is None:
            self._file.seek(0)
            self._frames = self.source.frames()
        points = np.frombuffer(self._file.read(N_LANDMARKS * 2 * 4), np.float32).reshape(N_LANDMARKS, 2)
        return next(self._frames).gray, None if np.isnan(points).any() else points
