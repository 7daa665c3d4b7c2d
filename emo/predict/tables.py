"""What `emo predict` answers: one result per video, and the table of them (CSV, JSON records, the
DataFrame), whose columns never change order whatever happens to a path."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from emo.data.emotions import EMOTIONS
from emo.files import atomic_file
from emo.models.ensemble import EmotionModels
from emo.video.clips import Moment

# Every table's columns, in this order whatever happens to a path (CSV, JSON records, the
# DataFrame): a path that fails has an empty emotion and probabilities and its reason in `error`.
COLUMNS = ("path", "emotion", *EMOTIONS, "warning", "error")


@dataclass
class VideoResult:
    path: str
    probabilities: np.ndarray | None = None  # [6], mean over seeds
    error: str = ""
    notes: list = field(default_factory=list)  # (warning category, sentence): why the answer is doubtful
    landmarks: np.ndarray | None = None  # [P, 2, 468], what the models see
    frames_total: int = 0  # frames read, decoded or not
    frame_points: np.ndarray | None = None  # [n, 468, 2] every frame's landmarks, for `explain`
    frame_boxes: list | None = None  # [n] the face box each frame's landmarks are measured in (None: no face yet)
    timing: dict[str, float] = field(default_factory=dict)  # seconds: decode, landmarks, model, ig
    moment: Moment | None = None  # the stretch of a recording it is, when not the whole file

    @property
    def warning(self) -> str:
        """The table's warning column: its notes, '; ' apart ('' when there are none)."""
        return "; ".join(text for _, text in self.notes)

    @property
    def emotion(self) -> str | None:
        return None if self.probabilities is None else EMOTIONS[int(np.argmax(self.probabilities))]


def results_table(results: list[VideoResult]) -> pd.DataFrame:
    """One row per result, the columns of COLUMNS: probabilities NaN and emotion empty where a
    path failed."""
    missing = np.full(len(EMOTIONS), np.nan)
    probabilities = np.array([missing if r.probabilities is None else r.probabilities for r in results],
                             dtype=float).reshape(len(results), len(EMOTIONS))
    table = pd.DataFrame(probabilities, columns=list(EMOTIONS))
    table.insert(0, "path", [r.path for r in results])
    table.insert(1, "emotion", [r.emotion or "" for r in results])
    table["warning"] = [r.warning for r in results]
    table["error"] = [r.error for r in results]
    return table[list(COLUMNS)]


def results_json(table: pd.DataFrame, models: list[EmotionModels]) -> dict:
    """The table as JSON: the models used, and one record per video with the table's columns
    (null where a probability is missing)."""
    records = table.astype(object).where(table.notna(), None).to_dict(orient="records")
    return {"models": {m.emotion: {"K": m.k, "files": [str(f) for f in m.files]} for m in models}, "videos": records}


def table_text(table: pd.DataFrame, models: list[EmotionModels], kind: str) -> str:
    """The table as CSV or as JSON (results_json), probabilities to 6 decimals (the models
    compute in float32)."""
    rounded = table.round(6)
    if kind == "csv":
        return rounded.to_csv(index=False)
    return json.dumps(results_json(rounded, models), indent=2) + "\n"


def write_table(table: pd.DataFrame, models: list[EmotionModels], path: Path, kind: str) -> None:
    """The table in `path`, atomically: kind "csv" or "json"."""
    with atomic_file(path) as tmp:
        tmp.write_text(table_text(table, models, kind))
