"""A dataset's planted truth: for each emotion, how far its action units move each landmark.

Only a generated dataset can know it (the demo writes `truth.json` beside its sequences,
from its own action-unit fields); the landmark rankings are scored against it
(emo.explanation.localisation). The true set of an emotion is every landmark its action
units move by at least TRUE_SET_SHARE of that emotion's largest displacement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.errors import EmoError

TRUTH_FILE = "truth.json"
TRUE_SET_SHARE = 0.25  # a landmark is in the true set when it moves at least this share of the emotion's most-moved one


@dataclass(frozen=True)
class PlantedTruth:
    relevance: np.ndarray  # [6, 468] mean displacement at the peak, % of the neutral face's width
    action_units: dict[str, tuple[int, ...]]  # the action units that generate each emotion
    share: float = TRUE_SET_SHARE

    @property
    def true_sets(self) -> np.ndarray:
        """[6, 468] bool: the landmarks each emotion's action units move by at least `share` of its largest move."""
        return self.relevance >= self.share * self.relevance.max(axis=1, keepdims=True)


def truth_document(truth: PlantedTruth) -> dict:
    sets = truth.true_sets
    return {
        "about": "per emotion, the mean displacement its action units give each of the 468 landmarks at the "
                 "peak of the dataset's sequences (% of the neutral face's width); the true set holds the "
                 f"landmarks moved by at least {truth.share} of the emotion's largest displacement",
        "true_set_share": truth.share,
        "emotions": {emotion: {"action_units": list(truth.action_units[emotion]),
                               "true_set": [int(i) for i in np.flatnonzero(sets[e])],
                               "relevance": [round(float(v), 5) for v in truth.relevance[e]]}
                     for e, emotion in enumerate(EMOTIONS)},
    }


def write_truth(folder: Path, truth: PlantedTruth) -> None:
    (folder / TRUTH_FILE).write_text(json.dumps(truth_document(truth), indent=1) + "\n")


def read_truth(root: Path) -> PlantedTruth | None:
    """The truth a dataset folder carries, or None when it has none (real data)."""
    path = Path(root) / TRUTH_FILE
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
        emotions = doc["emotions"]
        relevance = np.array([emotions[e]["relevance"] for e in EMOTIONS], dtype=np.float64)
        units = {e: tuple(int(a) for a in emotions[e]["action_units"]) for e in EMOTIONS}
        share = float(doc["true_set_share"])
    except (ValueError, KeyError, TypeError) as err:
        raise EmoError(f"{path} is not a truth file emo wrote ({err}); delete it or regenerate the dataset.") from None
    if relevance.shape != (len(EMOTIONS), N_LANDMARKS):
        raise EmoError(f"{path} does not give the 468 landmarks of each of the six emotions; regenerate the dataset.")
    return PlantedTruth(relevance, units, share)
