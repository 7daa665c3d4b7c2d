"""A timeline scored against a recording's per-frame truth.

- per frame: accuracy and macro-F1 over the six emotions and 'none' (a frame with no answer,
  for want of a face or a first window, counts as 'none');
- episodes (a truth episode: consecutive frames of one emotion): recall is the share that
  the timeline names at least once while they last; precision the share of the timeline's
  own episodes (runs of one emotion at least MIN_EPISODE_S long) that overlap a true episode
  of that emotion;
- onset latency: from a detected episode's first true frame to its first named frame (ms,
  negative when the timeline names it before the truth's intensity reaches one half);
- false positives during neutral stretches: the share of neutral frames given an emotion, at
  rest (`neutral_false_positive_rate`) and, where the truth marks them (its `talking` column),
  while talking (`talking_false_positive_rate`);
- by the truth's phase: the share of onset, apex and offset frames named as the truth names them;
- the confusion of the six emotions and 'none' (`confusion`: counts, truth by answer).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from emo.data.emotions import EMOTIONS
from emo.errors import EmoError
from emo.video.sliding_window import NONE, emotion_of

LABELS = [*EMOTIONS, NONE]
PHASE_SCORES = ("onset", "apex", "offset")  # each scored by its share of frames named right
MIN_EPISODE_S = 0.2  # shorter runs of one answer are flicker, not an episode
EARLY_S = 0.5  # an answer this long before a true episode still detects it (onset)


def read_truth(path) -> pd.DataFrame:
    truth = pd.read_csv(path)
    missing = {"frame", "emotion"} - set(truth.columns)
    if missing:
        raise EmoError(f"{path} lacks the column(s) {', '.join(sorted(missing))}; a truth file has one row per "
                       "frame with at least frame and emotion (one of the six, or none).")
    unknown = set(truth.emotion) - set(LABELS)
    if unknown:
        raise EmoError(f"{path} names {', '.join(sorted(map(str, unknown)))}; use {', '.join(LABELS)}.")
    return truth


def _runs(labels: np.ndarray) -> list[tuple[str, int, int]]:
    """(label, first, last + 1) of each run of one label other than none."""
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts, ends = np.r_[0, change], np.r_[change, len(labels)]
    return [(labels[a], a, b) for a, b in zip(starts, ends) if labels[a] != NONE]


def _flag(column: pd.Series) -> np.ndarray:
    """A truth column of true/false (read as bools or as text) as a bool array."""
    return column.astype(str).str.lower().eq("true").to_numpy()


def opens_on_expression(truth: pd.DataFrame) -> bool:
    """Whether a recording's first frame (with a face, where the truth says) shows an emotion."""
    shown = truth[_flag(truth.face)] if "face" in truth else truth
    return bool(len(shown)) and shown.emotion.iloc[0] != NONE


def _answers(table: pd.DataFrame, truth: pd.DataFrame, threshold: float | None) -> tuple[pd.DataFrame, np.ndarray]:
    """The frames both have (the truth's columns suffixed _true where the table has one too) and
    the answer on each: 'none' where there is none; `threshold` re-decides it from the probabilities."""
    merged = table.merge(truth[[c for c in ("frame", "emotion", "phase", "talking") if c in truth]], on="frame",
                         suffixes=("", "_true"))
    if merged.empty:
        raise EmoError("the timeline and its truth file share no frame numbers; check that the truth belongs to it.")
    if threshold is None:
        said = merged.emotion.replace("", NONE).to_numpy()
    else:
        said = emotion_of(merged[list(EMOTIONS)].to_numpy(float), threshold)
        said = np.where(said == "", NONE, said)
    return merged, said.astype(str)


def confusion(table: pd.DataFrame, truth: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Frames counted by the truth's label (rows) and the timeline's answer (columns), over LABELS."""
    merged, said = _answers(table, truth, None)
    counts = confusion_matrix(merged.emotion_true.astype(str), said, labels=LABELS)
    return {t: dict(zip(LABELS, map(int, row))) for t, row in zip(LABELS, counts)}


def timeline_scores(table: pd.DataFrame, truth: pd.DataFrame, threshold: float | None = None) -> dict:
    """The timeline's scores against truth, on the frames both have; `threshold` re-decides
    the emotion from the probabilities (the table's own column otherwise)."""
    merged, said = _answers(table, truth, threshold)
    true = merged.emotion_true.to_numpy().astype(str)
    times = merged.time_s.to_numpy()
    frame_s = float(np.median(np.diff(times))) if len(times) > 1 else 0.0

    truth_episodes = _runs(true)
    detected, latencies = 0, []
    for emotion, a, b in truth_episodes:
        near = (times >= times[a] - EARLY_S) & (times <= times[b - 1])
        hits = np.flatnonzero(near & (said == emotion))
        if len(hits):
            detected += 1
            latencies.append(1000 * (times[hits[0]] - times[a]))
    said_episodes = [r for r in _runs(said) if (r[2] - r[1]) * frame_s >= MIN_EPISODE_S]
    correct = sum(bool(((true[a:b] == emotion)).any()) for emotion, a, b in said_episodes)
    neutral = merged.phase.eq("neutral").to_numpy() if "phase" in merged else true == NONE
    talking = _flag(merged.talking) if "talking" in merged else None
    at_rest = neutral & ~talking if talking is not None else neutral

    def share_named(frames: np.ndarray) -> float | None:
        return float((said[frames] != NONE).mean()) if frames.any() else None

    by_phase = {f"{p}_accuracy": float((said[m] == true[m]).mean()) if (m := merged.phase.eq(p).to_numpy()).any()
                else None for p in PHASE_SCORES} if "phase" in merged else {}
    return {
        "frames": len(merged),
        "macro_f1": float(f1_score(true, said, average="macro", zero_division=0)),  # over the labels either names
        "accuracy": float(accuracy_score(true, said)),
        "episodes": len(truth_episodes),
        # None where there is nothing to count (JSON has no NaN)
        "episode_recall": detected / len(truth_episodes) if truth_episodes else None,
        "episode_precision": correct / len(said_episodes) if said_episodes else None,
        "onset_latency_ms": float(np.median(latencies)) if latencies else None,
        "neutral_false_positive_rate": share_named(at_rest),
        "talking_false_positive_rate": None if talking is None else share_named(neutral & talking),
        **by_phase,
    }


def scores_line(scores: dict) -> str:
    """Scores as one line a user reads (those with nothing to count left out)."""
    return ", ".join(f"{k} {v:.3g}" for k, v in scores.items() if v is not None)
