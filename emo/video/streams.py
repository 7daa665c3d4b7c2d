"""A recording's frames as they arrive (cameras, stream URLs, a file played in real time), and
the recordings of a folder. Live reading keeps the newest frame only and counts the ones it
overwrote: a slow consumer skips frames instead of falling ever further behind.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

from emo.data.frames import VIDEO_SUFFIXES, Frame, VideoStream, image_files


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
