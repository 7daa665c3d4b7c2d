"""A reference-free baseline beside the timeline, as the SVMs stand beside the clip models: one
frame's 52 blendshape scores (FaceLandmarker's, from the same call as its landmarks) into a
7-class logistic regression (none and the six emotions), trained on the training videos' first
frames as none and their last frames as their emotion. It reads each frame alone, against no
neutral face: absolute, where the timeline's reading is relative to the person's neutral face.

scikit-learn's defaults (L2, C = 1, lbfgs) on standardised scores: the baseline is the one
described in issue 27, not a model tuned to win.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emo.data.dataset import load_end_blendshapes, load_landmarks
from emo.data.emotions import EMOTIONS
from emo.data.landmarks import N_BLENDSHAPES
from emo.errors import EmoError
from emo.video.sliding_window import NONE, TIMELINE_COLUMNS, LandmarkRun

CLASSES = (NONE, *EMOTIONS)


class BlendshapeBaseline:
    def __init__(self, end_blendshapes: np.ndarray, y: np.ndarray):
        """`end_blendshapes` [N, 2, 52]: each training video's first and last face's scores; `y`
        [N] its emotion (index into EMOTIONS)."""
        X = np.concatenate([end_blendshapes[:, 0], end_blendshapes[:, 1]])
        labels = np.concatenate([np.zeros(len(y), int), np.asarray(y) + 1])  # index into CLASSES
        self.model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X, labels)

    @classmethod
    def of_files(cls, landmarks: Path, end_blendshapes: Path) -> BlendshapeBaseline:
        """Trained on the extract stage's outputs: landmarks.npz (the labels) and blendshapes.npz."""
        for path in (landmarks, end_blendshapes):
            if not Path(path).is_file():
                raise EmoError(f"{path} is missing, and the blendshape baseline is trained on it; run `dvc repro "
                               "extract`, or set --absolute-weight 0 (timeline.absolute_weight).")
        data = load_landmarks(landmarks)
        return cls(load_end_blendshapes(end_blendshapes, data), data.y)

    def emotion_probabilities(self, scores: np.ndarray) -> np.ndarray:
        """[n, 52] frames' blendshape scores -> [n, 6] each emotion's probability (none's is the rest)."""
        return self._probabilities(scores)[:, 1:]

    def _probabilities(self, scores: np.ndarray) -> np.ndarray:
        """[n, 7] over CLASSES (a class the training videos lack: 0)."""
        out = np.zeros((len(scores), len(CLASSES)))
        out[:, self.model.classes_] = self.model.predict_proba(scores)
        return out

    def table(self, frames: BlendshapeFrames) -> pd.DataFrame:
        """A recording's frames answered one by one, in the timeline table's columns: each
        emotion's probability, and the most probable class ('' where there is no face)."""
        scores = frames.array()
        face = ~np.isnan(scores).any(axis=1)
        probabilities = np.full((len(scores), len(CLASSES)), np.nan)
        if face.any():
            probabilities[face] = self._probabilities(scores[face])
        said = np.array(CLASSES, dtype=object)[np.nan_to_num(probabilities).argmax(axis=1)]
        table = pd.DataFrame({"frame": _joined(frames.index, int), "time_s": _joined(frames.time_s, float),
                              "face": face, **{e: probabilities[:, i + 1] for i, e in enumerate(EMOTIONS)},
                              "emotion": np.where(face, said, "")})
        return table[TIMELINE_COLUMNS]


@dataclass
class BlendshapeFrames:
    """A recording's blendshape scores as its landmark runs are read (TimelineReader's `tap`)."""

    index: list[np.ndarray] = field(default_factory=list)
    time_s: list[np.ndarray] = field(default_factory=list)
    scores: list[np.ndarray] = field(default_factory=list)

    def add(self, run: LandmarkRun) -> None:
        self.index.append(run.index)
        self.time_s.append(run.time_s)
        self.scores.append(run.blendshapes)

    def array(self) -> np.ndarray:
        """[n, 52]"""
        return np.concatenate(self.scores) if self.scores else np.zeros((0, N_BLENDSHAPES), np.float32)


def _joined(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
