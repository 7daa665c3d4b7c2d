"""Stage train_timeline: the timeline's own models. T-EMO for each emotion and seed at all 468
landmarks with the tuned F, Q, R, as train_full trains it, on each clip and on windows like those
the timeline reads (a face at rest, an apex held, an offset, an onset under way:
emo.models.windows), so that they know what no emotion looks like. Scored on the same test clips
as train_full's models (metrics.json), which the report sets side by side."""

from __future__ import annotations

import pandas as pd

from emo import artifacts
from emo.config import ModelParams, TrainParams, TrainTimelineParams, TuneParams
from emo.models.experiments import mean_std_table
from emo.models.runs import TrainingContext
from emo.pipeline.shared.run_sets import train_at_all_landmarks

INPUTS = (artifacts.LANDMARKS, artifacts.SPLITS, artifacts.TUNED_HPARAMS)
OUTPUTS = (artifacts.TIMELINE_SET.runs, artifacts.TIMELINE_SET.timings, artifacts.TIMELINE_SET.predictions,
           artifacts.TIMELINE_SET.models, artifacts.TIMELINE_SET.metrics)
VARIANTS = ("temo",)  # the timeline runs T-EMO


def run(model: ModelParams, train: TrainParams, tune: TuneParams, train_timeline: TrainTimelineParams,
        progress: bool = True) -> pd.DataFrame:
    context = TrainingContext(artifacts.LANDMARKS, artifacts.SPLITS, model, train, windows=train_timeline)
    summary = train_at_all_landmarks("train_timeline", artifacts.TIMELINE_SET, VARIANTS, context,
                                     str(tune.directory), progress, model=model, train=train,
                                     train_timeline=train_timeline)
    if summary is None:  # a distributed worker
        return pd.DataFrame()
    print(mean_std_table(summary).to_string(index=False))
    return summary
