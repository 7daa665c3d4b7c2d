"""A recording's landmarks and blendshape scores, read stretch by stretch (LandmarkRun): in
worker processes, each taking a stretch of a file, or in this process, as the timeline reads
them (emo.video.recording)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import numpy as np

from emo.data.face_boxes import FaceBoxes, FacesRead, restart_frames, worker_faces
from emo.data.frames import Frame, VideoStream
from emo.parallel import prefetch
from emo.video.sliding_window import LandmarkRun


def _landmark_run(args: tuple[VideoStream, int, int | None, int]) -> LandmarkRun:
    """Frames start..stop of a file, read afresh (the box is found on its first face)."""
    source, start, stop, restart_every = args
    faces = worker_faces()
    faces.reset(restart_every)
    return landmark_run(faces, source.frames(start, stop))


def landmark_run(faces: FaceBoxes, frames, seen: deque | None = None) -> LandmarkRun:
    """The frames' landmarks; `seen` (for drawing) gets each frame and its landmarks in pixels."""
    index, times, unreadable = [], [], 0
    read = FacesRead([], [], [])
    for frame in frames:
        found = faces.landmarks(frame)
        unreadable += frame.gray is None
        if seen is not None:
            seen.append((frame.gray, None if found is None else faces.anchor.to_pixels(found)))
        index.append(frame.index)
        times.append(frame.time_s)
        read.add(found, faces.anchor, faces.blendshapes)
    return LandmarkRun(np.array(index, int), np.array(times, float), read.point_array(), unreadable,
                       read.blendshape_array())


def landmark_runs(source: VideoStream, pool, workers: int, faces: FaceBoxes, fps: float,
                  seen: deque | None = None) -> Iterator[LandmarkRun]:
    """The recording's landmarks, in order, a stretch between the face box's fresh starts
    (restart_frames) at a time, each read afresh, so that the numbers do not depend on the
    number of workers: read by `workers` processes (whose pool init_worker_faces set up), or
    (one worker, or frames kept in `seen`) here, decoding ahead in a thread."""
    chunk = restart_frames(fps)
    starts = list(range(0, max(source.frame_count(), 1), chunk))
    if pool is None or workers < 2 or seen is not None:
        frames = prefetch(source.frames(), depth=8)
        for first in starts:
            faces.reset(chunk)
            left = chunk if first != starts[-1] else None  # the last stretch runs to the end
            while left is None or left > 0:
                run = landmark_run(faces, _take(frames, 16 if left is None else min(16, left)), seen)
                if not len(run):
                    return
                left = None if left is None else left - len(run)
                yield run
        return
    jobs = [(source, s, None if s == starts[-1] else s + chunk, chunk) for s in starts]
    in_flight: deque = deque()
    for job in jobs:
        in_flight.append(pool.submit(_landmark_run, job))
        if len(in_flight) > 2 * workers:
            yield in_flight.popleft().result()
    while in_flight:
        yield in_flight.popleft().result()


def _take(frames: Iterator[Frame], n: int) -> Iterator[Frame]:
    for _ in range(n):
        frame = next(frames, None)
        if frame is None:
            return
        yield frame
