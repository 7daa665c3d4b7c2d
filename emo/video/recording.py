"""A recording's timeline, one row per frame: what `emo timeline` and the timeline stage run.

A recording streams through: frames are decoded, the face is tracked and its landmarks read
(emo.video.landmark_runs: in worker processes, each taking a stretch of a file, when there
are several), and the six emotions' models (each emotion's chosen K, every seed's model
averaged, as `emo predict` chooses them) answer on the window of recent frames. Tables are written as rows
come, so memory does not grow with the recording's length. Live sources (a camera, a
stream URL, or a file with `realtime`) are read as frames arrive, the newest first; frames
the models had no time for are dropped and counted.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from emo.config import ExtractParams
from emo.data.emotions import EMOTIONS
from emo.data.face_boxes import FaceBoxes, init_worker_faces
from emo.data.face_model import resolve_face_model
from emo.data.frames import VideoStream
from emo.data.mesh import N_LANDMARKS
from emo.errors import EmoError
from emo.files import atomic_file
from emo.models.backend import configure
from emo.models.ensemble import CompiledEnsemble, EmotionModels, load_models
from emo.parallel import process_pool
from emo.video.annotation import AnnotatedVideo
from emo.video.blendshape_baseline import BlendshapeBaseline
from emo.video.landmark_runs import landmark_run, landmark_runs
from emo.video.onset import NeutralFace
from emo.video.reference import NeutralEstimate
from emo.video.sliding_window import LandmarkRun, Timeline, TimelineSettings
from emo.video.spills import RunSpill, SpilledFrames
from emo.video.streams import LiveFrames

OFFLINE_BATCH = 32  # windows per model call offline; live answers each frame at once
TABLE_SUFFIXES = (".csv", ".parquet")
SUMMARY_COLUMNS = ("recording", "frames", "frames_with_face", "frames_answered", "frames_unreadable", "frames_dropped",
                   "duration_s", "reference", "warning", "error")


@dataclass
class RecordingSummary:
    """What a user is told after a recording: how much of it had a face and an answer."""

    source: str
    frames: int = 0
    with_face: int = 0
    answered: int = 0
    unreadable: int = 0
    dropped: int = 0  # live: frames skipped while the models were busy
    reference: str = ""  # how the neutral reference was made, where it was estimated
    warning: str = ""  # '' or one sentence: the recording seems to open on an expression
    seconds: float = 0.0  # wall time
    duration_s: float = 0.0  # the recording's own time
    # live: arrival to answer, per frame; the last 10,000 frames', so a day-long stream stays small
    latency_ms: deque = field(default_factory=lambda: deque(maxlen=10_000))

    def count(self, rows: pd.DataFrame) -> None:
        self.frames += len(rows)
        self.with_face += int(rows.face.sum())
        self.answered += int(rows.emotion.astype(bool).sum())
        if len(rows):
            self.duration_s = float(rows.time_s.iloc[-1])

    @property
    def frames_per_s(self) -> float:
        return (self.frames + self.dropped) / self.seconds if self.seconds else 0.0

    def row(self) -> dict:
        """Its row of `emo timeline --out DIR`'s summary table (SUMMARY_COLUMNS)."""
        return {"recording": self.source, "frames": self.frames, "frames_with_face": self.with_face,
                "frames_answered": self.answered, "frames_unreadable": self.unreadable, "frames_dropped": self.dropped,
                "duration_s": round(self.duration_s, 3), "reference": self.reference, "warning": self.warning,
                "error": ""}

    def line(self) -> str:
        text = (f"{self.source}: {self.frames} frames ({self.duration_s:.1f} s), face in {self.with_face}, "
                f"answered {self.answered}")
        if self.unreadable:
            text += f", {self.unreadable} unreadable"
        if self.dropped:
            text += f", {self.dropped} dropped (the models fell behind)"
        text += f"; {self.frames_per_s:.0f} frames/s"
        if self.latency_ms:
            text += f", latency median {np.median(self.latency_ms):.0f} ms"
        if self.reference:
            text += f"; reference {self.reference}"
        return text


# ------------------------------------------------------------------------------ output


@contextlib.contextmanager
def table_writer(path: Path) -> Iterator[Callable[[pd.DataFrame], None]]:
    """write(rows) for a recording's table, as its rows come: CSV or Parquet by the suffix; the
    file appears, whole, only when the recording is done."""
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise EmoError(f"--out {path}: give a .csv or .parquet file.")
    parquet = path.suffix.lower() == ".parquet"
    with atomic_file(path) as tmp:
        state = {"started": False, "parquet": None}

        def write(rows: pd.DataFrame) -> None:
            rows = rows.astype({"frame": int, "face": bool, "emotion": str})
            if not parquet:
                rows.to_csv(tmp, mode="a" if state["started"] else "w", header=not state["started"], index=False)
            else:
                table = pa.Table.from_pandas(rows, preserve_index=False)
                if state["parquet"] is None:
                    state["parquet"] = pq.ParquetWriter(tmp, table.schema)
                state["parquet"].write_table(table)
            state["started"] = True

        try:
            yield write
        finally:
            if state["parquet"] is not None:
                state["parquet"].close()


def read_table(path: Path) -> pd.DataFrame:
    """A timeline table as written (empty probabilities as NaN, emotion '' where there is none)."""
    table = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    table["emotion"] = table["emotion"].fillna("").astype(str)
    return table


# ------------------------------------------------------------------------------ the models


@dataclass(frozen=True)
class ClipFits:
    """What a timeline fits on the training clips (the extract stage's outputs) before it reads:
    the discriminant the estimated reference scores frames with, and the blendshape baseline
    that each answer's absolute share comes from; None where the settings use neither."""

    neutral_face: NeutralFace | None = None
    baseline: BlendshapeBaseline | None = None

    @classmethod
    def of(cls, settings: TimelineSettings, landmarks: Path, end_blendshapes: Path) -> ClipFits:
        """Fitted on landmarks.npz and blendshapes.npz, as `settings` need them."""
        neutral_face = None
        if settings.reference == "estimated":
            if not Path(landmarks).is_file():
                raise EmoError(f"{landmarks} is missing, and the estimated reference is fitted on it; run `dvc repro "
                               "extract`, or choose another --reference (timeline.reference).")
            neutral_face = NeutralFace.of_landmarks(landmarks)
        baseline = BlendshapeBaseline.of_files(landmarks, end_blendshapes) if settings.absolute_weight > 0 else None
        return cls(neutral_face, baseline)


def _tapped(runs: Iterator[LandmarkRun], tap: Callable[[LandmarkRun], None]) -> Iterator[LandmarkRun]:
    for run in runs:
        tap(run)
        yield run


class TimelineReader:
    """The one timeline set-up that `emo timeline`, emo.timeline_api and the timeline stage share:
    the face model and the chosen binary models, loaded once for many recordings, and, offline
    with `workers` > 1, the processes that read landmarks. `live`: every recording is read as
    its frames arrive (read_live), else offline (read_offline). Entered as a context manager,
    which starts the workers; leaving it stops them and closes the face model."""

    def __init__(self, extract: ExtractParams, models: list[EmotionModels], live: bool = False, workers: int = 1,
                 fits: ClipFits = ClipFits()):
        configure(single_threaded=False)
        e = self.extract = extract
        self.models = models
        self.fits = fits
        keras_models = load_models(self.models)
        self.batch = 1 if live else OFFLINE_BATCH
        self.classify = CompiledEnsemble(self.models, keras_models, self.batch)
        self.classify(np.zeros((1, e.frames, 2, N_LANDMARKS), np.float32))  # compile now, not on the first frame
        self.model_path = resolve_face_model(e.face_model)
        self.faces = FaceBoxes.of(self.model_path, e)
        self.live = live
        self.workers = 1 if live else workers
        self._pool = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> TimelineReader:
        try:
            self._pool = self._stack.enter_context(self._worker_pool())
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._stack.close()
        finally:
            self.close()

    def close(self) -> None:
        self.faces.close()

    def _worker_pool(self):
        """Worker processes reading landmarks (None for one worker: read here)."""
        if self.workers < 2:
            return contextlib.nullcontext(None)
        return process_pool(self.workers, init_worker_faces, (str(self.model_path), self.extract))

    def read(self, source: VideoStream, settings: TimelineSettings, writer: Callable | None = None, *,
             progress: bool = False, video: Path | None = None, realtime: bool = False,
             seconds: float | None = None) -> tuple[pd.DataFrame | None, RecordingSummary]:
        """A recording's timeline, live or offline as the reader was made: `progress` and
        `video` apply offline, `realtime` and `seconds` live."""
        if self.live:
            return self.read_live(source, settings, realtime, writer, seconds=seconds)
        return self.read_offline(source, settings, writer, progress=progress, video=video)

    def read_offline(self, source: VideoStream, settings: TimelineSettings, writer: Callable | None = None,
                     progress: bool = False, video: Path | None = None,
                     tap: Callable[[LandmarkRun], None] | None = None) -> tuple[pd.DataFrame | None, RecordingSummary]:
        """A file's or frame folder's timeline: written to `writer` as it comes, or returned;
        `video`: an annotated MP4 of it as well (its frames are read here, not in workers);
        `tap`: called with every landmark run as it is read (the timeline stage's baseline)."""
        source.check()
        summary = RecordingSummary(source.spec)
        started = time.perf_counter()
        total = source.frame_count()
        fps = source.fps()
        if total and total / fps < settings.window_s:
            raise EmoError(f"{source.spec} lasts {total / fps:.2f} s, shorter than one window ({settings.window_s} s: "
                           "timeline.window_s, --window); give a longer recording or a shorter window.")
        estimate = self._estimate(settings, fps)
        held: list[pd.DataFrame] = []
        bar = tqdm(total=total or None, desc=source.name, unit="frame", disable=not progress, leave=False)
        with bar, _annotated(video, fps, source) as draw, contextlib.ExitStack() as spills:
            # Drawn frames wait for their answers: in memory, or (two passes) their points on disk
            seen = None if video is None else deque() if estimate is None else spills.enter_context(SpilledFrames(source))
            runs = landmark_runs(source, self._pool, self.workers, self.faces, fps, seen)
            if tap is not None:
                runs = _tapped(runs, tap)
            if estimate is not None:  # first pass: every frame scored; the second reads them back
                spill = spills.enter_context(RunSpill())
                for run in runs:
                    spill.add(run)
                    estimate.add(run.time_s, run.points)
                    bar.update(len(run))
                runs = spill.runs()
                summary.reference, summary.warning = estimate.describe(), estimate.warning()
            engine = Timeline(settings, self.classify, self.batch, None if estimate is None else estimate.reference(),
                              absolute=self._absolute(settings))
            for run in runs:
                summary.unreadable += run.unreadable
                self._emit(engine.feed(run), writer, held, summary, draw, seen)
                if estimate is None:
                    bar.update(len(run))
            self._emit(engine.finish(), writer, held, summary, draw, seen)
        summary.seconds = time.perf_counter() - started
        if summary.frames == 0:
            raise EmoError(f"{source.spec}: no frame could be decoded; check that it is a video OpenCV reads.")
        if summary.with_face == 0:
            raise EmoError(f"{source.spec}: no face was found in any of its {summary.frames} frames; check that "
                           "the recording shows a face.")
        return (pd.concat(held, ignore_index=True) if writer is None else None), summary

    def read_live(self, source: VideoStream, settings: TimelineSettings, realtime: bool, writer: Callable | None = None,
                  seconds: float | None = None) -> tuple[pd.DataFrame | None, RecordingSummary]:
        """A live source's timeline, frame by frame as they arrive, until the source ends,
        `seconds` have passed or Ctrl-C, which ends it like the source's end: what was
        answered is kept."""
        source.check()
        summary = RecordingSummary(source.spec)
        estimate = self._estimate(settings, source.fps())
        engine = Timeline(settings, self.classify, batch=1, estimate=estimate, absolute=self._absolute(settings))
        held: list[pd.DataFrame] = []
        self.faces.reset()
        started = time.perf_counter()
        with LiveFrames(source, realtime) as frames:
            try:
                for frame in frames:
                    run = landmark_run(self.faces, [frame])
                    summary.unreadable += run.unreadable
                    rows = engine.feed(run)
                    summary.latency_ms.extend([1000 * (time.perf_counter() - frame.arrival)] * len(rows))
                    self._emit(rows, writer, held, summary)
                    if seconds is not None and time.perf_counter() - started > seconds:
                        break
            except KeyboardInterrupt:
                pass
            summary.dropped = frames.dropped
        self._emit(engine.finish(), writer, held, summary)
        if estimate is not None:
            summary.reference, summary.warning = estimate.describe(), estimate.warning()
        summary.seconds = time.perf_counter() - started
        return (pd.concat(held, ignore_index=True) if writer is None and held else None), summary

    def _estimate(self, settings: TimelineSettings, fps: float) -> NeutralEstimate | None:
        """The estimated reference's pool (neutral_s seconds' worth of frames), or None for another reference."""
        if settings.reference != "estimated":
            return None
        if self.fits.neutral_face is None:
            raise EmoError("the estimated reference needs the neutral-face discriminant, fitted on the extract "
                           "stage's landmarks; run `dvc repro extract`, or choose another --reference.")
        return NeutralEstimate(self.fits.neutral_face, round(settings.neutral_s * fps), settings.neutral_s)

    def _absolute(self, settings: TimelineSettings) -> Callable[[np.ndarray], np.ndarray] | None:
        """The blendshape baseline's emotion probabilities, for the answers' absolute share."""
        if settings.absolute_weight == 0:
            return None
        if self.fits.baseline is None:
            raise EmoError("an absolute share of the answers (timeline.absolute_weight, --absolute-weight) needs the "
                           "blendshape baseline, trained on the extract stage's outputs; run `dvc repro extract`, "
                           "or set it to 0.")
        return self.fits.baseline.emotion_probabilities

    @staticmethod
    def _emit(rows: pd.DataFrame, writer: Callable | None, held: list, summary: RecordingSummary,
              draw: Callable | None = None, seen: deque | None = None) -> None:
        if not len(rows):
            return
        summary.count(rows)
        if draw is not None:
            probabilities = rows[list(EMOTIONS)].to_numpy(float)
            for p, emotion, t in zip(probabilities, rows.emotion, rows.time_s):
                draw(*seen.popleft(), p, emotion, t)
        if writer is None:
            held.append(rows)
        else:
            writer(rows)


@contextlib.contextmanager
def _annotated(path: Path | None, fps: float, source: VideoStream) -> Iterator[Callable | None]:
    """draw(gray, points, probabilities, emotion, time) into an annotated MP4 at `path`, atomically."""
    if path is None:
        yield None
        return
    first = next((f.gray for f in source.frames(0, 50) if f.gray is not None), None)
    if first is None:
        yield None
        return
    with atomic_file(path) as tmp:
        video = AnnotatedVideo(tmp, fps, first.shape)
        try:
            yield video.write
        finally:
            video.close()
