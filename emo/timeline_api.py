"""The timeline's Python API: the pipeline's models on one continuous recording, as a DataFrame
(py-feat's convention); `emo timeline` is the same from the shell."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from emo import artifacts
from emo.config import Params
from emo.data.frames import VideoStream
from emo.predict.predictor import timeline_model_choice
from emo.pipeline import pipeline_params
from emo.video.recording import ClipFits, TimelineReader
from emo.video.sliding_window import TIMELINE_COLUMNS, TimelineSettings


def timeline(source: str | Path | int, params: Params | None = None, workers: int = 1, seconds: float | None = None,
             models: str | None = None, **settings) -> pd.DataFrame:
    """One recording's timeline as a DataFrame (columns: frame, time_s, face, the six emotions'
    probabilities, emotion): the Python API of `emo timeline`. A camera index or stream URL is
    read live, for `seconds`. `models`: 'timeline' or 'paper' (default timeline.models).
    `settings` override params.yaml's timeline section (window_s, reference, history_s,
    neutral_s, align, threshold, absolute_weight, stride)."""
    params = params or pipeline_params("params.yaml")
    where = VideoStream(str(source), params.timeline.frame_rate)
    chosen = TimelineSettings.of(params.timeline, params.extract, **settings)
    with TimelineReader(params.extract, timeline_model_choice(params, models or params.timeline.models),
                        live=where.live,
                        workers=workers, fits=ClipFits.of(chosen, artifacts.LANDMARKS, artifacts.END_BLENDSHAPES)) as reader:
        table, _ = reader.read(where, chosen, seconds=seconds)
    return pd.DataFrame(columns=TIMELINE_COLUMNS) if table is None else table[TIMELINE_COLUMNS]
