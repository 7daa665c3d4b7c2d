"""Does a clip start at a neutral face? The models read a clip as CK+ records one: from a neutral
first frame to the expression's peak (they see each frame's displacement from the first). A
clip that starts at the peak, cut late from a recording or played backwards, shows the
opposite motion and is read as another emotion: the demo's happiness clip S001/001 played
backwards is called anger (p = 0.59), where forwards it is happiness (0.98).

Whether a frame looks neutral is a linear discriminant between the training clips' first
frames (neutral) and their last frames (each emotion's peak, one class each), on face shapes
with the head's pose removed (each frame mapped onto MediaPipe's canonical face by the
similarity of its rigid landmarks). Its covariance, shared by the classes, is mostly how
people's faces differ, so one person's face shape weighs less than an expression. A clip's
evidence of running backwards is how much more neutral its last frame looks than its first:
the difference of their log-odds of being neutral, in nats.

Motion alone cannot tell: the demo's expressions ease in and out, so the neutral start and the
peak are equally still; and the face mesh's own canonical face is no neutral reference (an
identity's shape differs from it more than an expression does).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emo.data.dataset import load_landmarks
from emo.data.emotions import EMOTIONS
from emo.data.mesh import face_mesh
from emo.errors import EmoError
from emo.video.alignment import aligned

# Nats of evidence above which a clip is said to start at its peak. Measured on the demo
# (docs/usage.md, "Clips that start at their peak"): played forwards, its clips reach at most 5.1 when
# their subject is left out of the fit (4.6 on the held-apart demo set); played backwards, 90%
# (86%) of them exceed 8. 8 leaves a margin: a warning that cries wolf is soon ignored.
BACKWARDS_EVIDENCE = 8.0
FOLDS = 5  # of subjects, to measure how far the discriminant's nats hold for people it has not seen


@functools.cache
def canonical_face() -> np.ndarray:
    """MediaPipe's canonical face [468, 2] as an image shows it (y down), centred, of unit RMS
    radius: the common frame in which shapes are compared."""
    face = face_mesh().vertices[:, :2] * np.array([1.0, -1.0])
    face = face - face.mean(axis=0)
    return face / np.sqrt((face**2).sum(axis=1).mean())


def face_shapes(frames: np.ndarray) -> np.ndarray:
    """Frames [n, 2, 468] (the landmark tensor's layout) -> [n, 936] shapes, the head's pose removed."""
    points = np.asarray(frames, dtype=np.float64).transpose(0, 2, 1)
    return aligned(points, canonical_face()).reshape(len(points), -1)


def _shrunk_covariance(residuals: np.ndarray) -> np.ndarray:
    """The covariance of residuals [n, d] (class means removed), shrunk towards a multiple of
    the identity by Ledoit and Wolf's (2004) rule on standardised features (scikit-learn's
    `shrinkage="auto"`, which costs 2 s of import time here)."""
    scale = residuals.std(axis=0)
    scale[scale == 0] = 1.0
    z = residuals / scale
    n, d = z.shape
    cov = z.T @ z / n
    mu = np.trace(cov) / d
    delta = ((cov - mu * np.eye(d)) ** 2).sum() / d
    beta = (((z**2).sum(axis=1) ** 2).sum() / n - (cov**2).sum()) / (n * d)
    shrinkage = min(beta, delta) / delta if delta > 0 else 1.0
    cov = (1 - shrinkage) * cov + shrinkage * mu * np.eye(d)
    return scale[:, None] * cov * scale[None, :]


@dataclass(frozen=True)
class NeutralFace:
    """The discriminant: a linear score per class (neutral first, then each emotion's peak
    present in the training data) of a face shape, and the evidence above which a clip is said
    to start at its peak."""

    coef: np.ndarray  # [classes, 936]
    intercept: np.ndarray  # [classes]
    threshold: float = BACKWARDS_EVIDENCE

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, subject: np.ndarray | None = None) -> NeutralFace:
        """From training clips X [N, P, 2, 468] (each from neutral to its peak) and their labels
        y [N]. With their subjects, the threshold rises above BACKWARDS_EVIDENCE where the clips
        are too few for the discriminant to hold for new people: to the most evidence any of
        them reaches, played forwards, when its subject is left out of the fit (the smoke
        test's 36 clips reach 138 nats; the demo's 240, 2.6)."""
        first, last = face_shapes(X[:, 0]), face_shapes(X[:, -1])
        model = cls._fitted(first, last, y)
        if subject is None:
            return model
        subjects = np.unique(subject)
        fold = np.searchsorted(subjects, subject) % min(FOLDS, len(subjects))
        held_out = [cls._fitted(first[fold != f], last[fold != f], y[fold != f])._evidence(first[fold == f],
                                                                                            last[fold == f]).max()
                    for f in range(fold.max() + 1) if len(np.unique(y[fold != f])) >= 2]
        # one subject, or folds without two emotions: nothing tells how far the nats hold
        most = max(held_out) if held_out else np.inf
        return cls(model.coef, model.intercept, max(BACKWARDS_EVIDENCE, most))

    @classmethod
    def _fitted(cls, first: np.ndarray, last: np.ndarray, y: np.ndarray) -> NeutralFace:
        """From the first and last frames' shapes [N, 936] of clips labelled y [N]."""
        shapes = np.concatenate([first, last])
        peaks = np.unique(y)
        classes = np.concatenate([np.zeros(len(y), int), 1 + np.searchsorted(peaks, y)])
        means = np.stack([shapes[classes == c].mean(axis=0) for c in range(1 + len(peaks))])
        coef = np.linalg.solve(_shrunk_covariance(shapes - means[classes]), means.T).T
        prior = np.bincount(classes) / len(classes)
        return cls(coef, np.log(prior) - 0.5 * (coef * means).sum(axis=1))

    @classmethod
    def of_landmarks(cls, path: str | Path) -> NeutralFace:
        """From the extract stage's landmarks.npz: the clips the models were trained on."""
        data = load_landmarks(Path(path))
        if len(np.unique(data.y)) < 2:
            raise EmoError(f"{path} holds clips of fewer than two emotions, too few to tell a neutral face from "
                           f"a peak; extract more ({', '.join(EMOTIONS)}).")
        return cls.fit(data.X, data.y, data.subject)

    def _log_odds(self, shapes: np.ndarray) -> np.ndarray:
        scores = shapes @ self.coef.T + self.intercept
        return scores[:, 0] - np.logaddexp.reduce(scores[:, 1:], axis=1)

    def log_odds(self, frames: np.ndarray) -> np.ndarray:
        """Frames [n, 2, 468] -> [n] log-odds (nats) that each looks neutral rather than a peak."""
        return self._log_odds(face_shapes(frames))

    def _evidence(self, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        return self._log_odds(last) - self._log_odds(first)

    def backwards_evidence(self, X: np.ndarray) -> np.ndarray:
        """Clips [N, P, 2, 468] -> [N] nats: how much more neutral each clip's last frame looks
        than its first; above `threshold` a clip seems to start at its peak."""
        return self._evidence(face_shapes(X[:, 0]), face_shapes(X[:, -1]))
