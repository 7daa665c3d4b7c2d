"""Stage train_full: every emotion x variant x seed on all 468 landmarks with the tuned F, Q, R."""

from __future__ import annotations

import pandas as pd

from emo import artifacts
from emo.config import ModelParams, TrainParams, TuneParams
from emo.models.experiments import mean_std_table
from emo.models.runs import TrainingContext
from emo.pipeline.shared.run_sets import train_at_all_landmarks

INPUTS = (artifacts.LANDMARKS, artifacts.SPLITS, artifacts.TUNED_HPARAMS)
OUTPUTS = (artifacts.FULL.runs, artifacts.FULL.timings, artifacts.FULL.predictions, artifacts.FULL.models,
           artifacts.FULL.metrics)


def run(model: ModelParams, train: TrainParams, tune: TuneParams, progress: bool = True) -> pd.DataFrame:
    context = TrainingContext(artifacts.LANDMARKS, artifacts.SPLITS, model, train)
    summary = train_at_all_landmarks("train_full", artifacts.FULL, model.variants, context, str(tune.directory),
                                     progress, model=model, train=train)
    if summary is None:  # a distributed worker
        return pd.DataFrame()
    print(mean_std_table(summary).to_string(index=False))
    return summary
