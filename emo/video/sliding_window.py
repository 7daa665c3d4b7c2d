"""The per-moment answer on a continuous recording: at each frame, the six models read the
motion of the last `window_s` seconds against a neutral reference face.

The models were trained on clips that start at the neutral face (their input is each frame's
motion from the first). On a recording no frame is known to be neutral, so the reference is
one of: estimated (the median of the `neutral_s` seconds' worth of frames that look most
neutral, emo.video.reference: of the whole recording offline, of the frames so far live), the
first frame of each window (as in training), the median face of the last `history_s` seconds
(people are neutral most of the time, and each landmark moves in only a few expressions, so
each coordinate's median stays at rest), or the median of the first `neutral_s` seconds (a
calibration stretch the user vouches for). With `align`, each frame is first mapped onto the
reference by the similarity of its rigid landmarks, so that head motion does not read as
expression.

State is a few seconds of landmarks, whatever the recording's length.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from emo.config import ExtractParams, TimelineParams
from emo.data.emotions import EMOTIONS
from emo.data.landmarks import N_BLENDSHAPES
from emo.errors import EmoError
from emo.video.alignment import aligned
from emo.video.reference import NeutralEstimate

TIMELINE_COLUMNS = ["frame", "time_s", "face", *EMOTIONS, "emotion"]
NONE = "none"
REFERENCES = ("estimated", "first", "rolling", "neutral")  # timeline.reference's choices
REFERENCE_EVERY_S = 0.25  # how often the rolling reference is recomputed


@dataclass(frozen=True)
class TimelineSettings:
    frames: int  # P, the models' input frames
    window_s: float
    reference: str  # estimated | first | rolling | neutral
    history_s: float
    neutral_s: float
    align: str  # none | similarity
    threshold: float
    stride: int
    min_face_fraction: float  # of a window's frames, for an answer
    absolute_weight: float = 0.0  # share of each answer from the frame's blendshapes alone (0: the models alone)

    def __post_init__(self) -> None:
        # params.yaml's values are checked on loading; these come from options and the Python API too
        for name, option in (("threshold", "--threshold"), ("absolute_weight", "--absolute-weight")):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise EmoError(f"{name} ({option}) is {value:g}; give a number from 0 to 1.")

    @classmethod
    def of(cls, timeline: TimelineParams, extract: ExtractParams, **overrides) -> TimelineSettings:
        values = dict(frames=extract.frames, window_s=timeline.window_s, reference=timeline.reference,
                      history_s=timeline.history_s, neutral_s=timeline.neutral_s, align=timeline.align,
                      threshold=timeline.threshold, stride=timeline.stride,
                      min_face_fraction=extract.min_face_fraction, absolute_weight=timeline.absolute_weight)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass
class LandmarkRun:
    """Consecutive frames of a recording and their landmarks: what the timeline is fed."""

    index: np.ndarray  # [n] frame numbers
    time_s: np.ndarray  # [n]
    points: np.ndarray  # [n, 468, 2] float32 in the face box's [0, 1] coordinates; NaN: no face
    unreadable: int = 0  # frames that could not be decoded
    blendshapes: np.ndarray | None = None  # [n, 52] the face's blendshape scores; NaN: no face (None: not kept)

    def __len__(self) -> int:
        return len(self.index)

    def blendshape_scores(self) -> np.ndarray:
        """[n, 52], NaN where there are none."""
        return self.blendshapes if self.blendshapes is not None else np.full((len(self), N_BLENDSHAPES), np.nan)


def emotion_of(probabilities: np.ndarray, threshold: float) -> np.ndarray:
    """[n, 6] -> [n] the most probable emotion when it reaches `threshold`, else 'none'; '' where
    there are no probabilities (no face, or the first window not yet seen)."""
    known = ~np.isnan(probabilities).any(axis=1)
    filled = np.where(known[:, None], probabilities, 0.0)
    best = filled.argmax(axis=1)
    top = np.take_along_axis(filled, best[:, None], axis=1)[:, 0]
    names = np.array(EMOTIONS, dtype=object)[best]
    return np.where(~known, "", np.where(top >= threshold, names, NONE)).astype(object)


class Timeline:
    """Feed a recording's landmarks in order; get its table's rows back as their answers are
    computed (the models run on `batch` windows at a time)."""

    def __init__(self, settings: TimelineSettings, classify: Callable[[np.ndarray], np.ndarray], batch: int = 32,
                 reference: np.ndarray | None = None, estimate: NeutralEstimate | None = None,
                 absolute: Callable[[np.ndarray], np.ndarray] | None = None):
        """With the estimated reference: offline, `reference` (estimated beforehand from the whole
        recording) holds throughout; live, `estimate` is fed every face frame and remade into the
        reference now and then. `absolute`: frames' blendshape scores [n, 52] -> the six
        emotions' probabilities [n, 6] (the blendshape baseline's), of which settings'
        absolute_weight is mixed into each answer."""
        if settings.absolute_weight > 0 and absolute is None:
            raise ValueError("an absolute_weight above 0 needs `absolute`, the blendshape baseline's reading")
        self.s = settings
        self.classify = classify
        self.absolute = absolute if settings.absolute_weight > 0 else None
        self.batch = batch
        self.start: float | None = None
        self.reference: np.ndarray | None = reference  # [468, 2]
        self.estimate = estimate
        self._reference_time = -np.inf
        self._history: deque = deque()  # (time, aligned points) of face frames the reference is made of
        self._window: deque = deque()  # (time, aligned points or NaN) of the last window_s
        self._pending: list = []  # (frame, time, face, due, model input or None, blendshapes) awaiting a batch
        self._last: np.ndarray | None = None  # the last answer, for frames between strides
        self._skipped = 1 << 30  # frames since the models last ran (none yet: run at the first chance)

    def feed(self, run: LandmarkRun) -> pd.DataFrame:
        """The rows that became ready: every frame's, in order, once its batch has run."""
        points = run.points
        found = ~np.isnan(points).any(axis=(1, 2))
        shapes = run.blendshape_scores()
        for lo in range(0, len(run), 8):  # aligned 8 at a time: the reference may move in between
            hi = min(lo + 8, len(run))
            chunk = points[lo:hi]
            if self.reference is None and found[lo:hi].any():
                self.reference = chunk[np.argmax(found[lo:hi])]
            if self.s.align == "similarity" and self.reference is not None:
                chunk = aligned(chunk, self.reference)
            for i in range(lo, hi):
                self._frame(int(run.index[i]), float(run.time_s[i]), bool(found[i]), chunk[i - lo], shapes[i])
        return self._flush(final=False)

    def finish(self) -> pd.DataFrame:
        return self._flush(final=True)

    def _frame(self, frame: int, t: float, face: bool, points: np.ndarray, blendshapes: np.ndarray) -> None:
        if self.start is None:
            self.start = t
        self._window.append((t, points))
        while self._window and self._window[0][0] < t - self.s.window_s - 1e-6:
            self._window.popleft()
        if face:
            self._remember(t, points)
        # The estimated reference comes from no particular frames, so the models answer from the first
        # face frame on (the window padded with the earliest frame): an expression held from frame 0 is
        # named from frame 0. The other references are the opening frames themselves: the first window waits.
        seen = self.s.reference == "estimated" or t - self.start >= self.s.window_s - 1e-6
        due = face and seen and self._skipped + 1 >= self.s.stride
        self._skipped = 0 if due else self._skipped + 1
        self._pending.append((frame, t, face, due, self._model_input(t) if due else None, blendshapes))

    def _remember(self, t: float, points: np.ndarray) -> None:
        """Keep a face frame for the reference, and recompute the reference now and then."""
        if self.s.reference == "first" or (self.s.reference == "estimated" and self.estimate is None):
            return
        if self.s.reference == "estimated":
            self.estimate.add(np.array([t]), points[None])
            if t - self._reference_time >= REFERENCE_EVERY_S:
                self.reference = self.estimate.reference()
                self._reference_time = t
            return
        if self.s.reference == "rolling" or t - self.start < self.s.neutral_s:
            self._history.append((t, points))
        while self.s.reference == "rolling" and self._history[0][0] < t - self.s.history_s:
            self._history.popleft()
        if t - self._reference_time >= REFERENCE_EVERY_S and self._history:
            self.reference = np.median(np.stack([p for _, p in self._history]), axis=0)
            self._reference_time = t

    def _model_input(self, t: float) -> np.ndarray | None:
        """[P, 2, 468]: the reference, then the window resampled in time (P - 1 frames); with the
        'first' reference, the window alone (P frames). None when too few frames show a face."""
        times = np.array([w[0] for w in self._window])
        points = np.stack([w[1] for w in self._window])
        face = ~np.isnan(points).any(axis=(1, 2))
        if not face.any() or face.mean() < self.s.min_face_fraction:
            return None
        times, points = times[face], points[face]
        n = self.s.frames if self.s.reference == "first" else self.s.frames - 1
        at = np.linspace(t - self.s.window_s, t, n)
        lo = np.clip(np.searchsorted(times, at, side="right") - 1, 0, len(times) - 1)
        hi = np.minimum(lo + 1, len(times) - 1)
        span = times[hi] - times[lo]
        w = np.clip((at - times[lo]) / np.where(span > 0, span, 1.0), 0.0, 1.0)[:, None, None]
        sample = (1 - w) * points[lo] + w * points[hi]
        if self.s.reference != "first":
            sample = np.concatenate([self.reference[None], sample])
        return sample.transpose(0, 2, 1).astype(np.float32)

    def _flush(self, final: bool) -> pd.DataFrame:
        inputs = [p[4] for p in self._pending if p[4] is not None]
        # Also flush long runs without a face, so that what is held stays bounded.
        if not self._pending or (not final and len(inputs) < self.batch and len(self._pending) < 8 * self.batch):
            return pd.DataFrame(columns=TIMELINE_COLUMNS)
        answers = iter(self.classify(np.stack(inputs)) if inputs else [])
        pending, self._pending = self._pending, []
        probabilities = np.full((len(pending), len(EMOTIONS)), np.nan)
        for row, (_, _, face, due, x, _) in enumerate(pending):
            if due or not face:  # a new answer, or none: frames until the next stride repeat it
                self._last = None if x is None else next(answers)
            if face and self._last is not None:
                probabilities[row] = self._last
        if self.absolute is not None:
            shapes = np.stack([p[5] for p in pending])
            both = ~np.isnan(probabilities).any(axis=1) & ~np.isnan(shapes).any(axis=1)
            if both.any():
                w = self.s.absolute_weight
                probabilities[both] = (1 - w) * probabilities[both] + w * self.absolute(shapes[both])
        table = pd.DataFrame({"frame": [p[0] for p in pending], "time_s": np.round([p[1] for p in pending], 4),
                              "face": [p[2] for p in pending]})
        for e, column in zip(EMOTIONS, probabilities.T):
            table[e] = np.round(column, 4)
        table["emotion"] = emotion_of(probabilities, self.s.threshold)
        return table
