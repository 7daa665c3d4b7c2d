"""Stage train_full: every emotion x variant x seed on all 468 landmarks with the tuned F, Q, R."""

from __future__ import annotations

import pandas as pd

from emo import artifacts
from emo.config import ModelParams, TrainParams, TuneParams
from emo.data.dataset import load_landmarks, load_partitions
from emo.evaluation.metrics import summary_metrics
from emo.files import atomic_dir
from emo.models.experiments import full_specs, mean_std_table
from emo.models.runs import TrainingContext
from emo.models.search_results import load_hparams
from emo.models.tuning import distributed_role
from emo.pipeline.shared.run_sets import run_specs, write_results
from emo.tracking.runs import stage_run

INPUTS = (artifacts.LANDMARKS, artifacts.SPLITS, artifacts.TUNED_HPARAMS)
OUTPUTS = (artifacts.FULL.runs, artifacts.FULL.timings, artifacts.FULL.predictions, artifacts.FULL.models,
           artifacts.FULL.metrics)


def run(model: ModelParams, train: TrainParams, tune: TuneParams, progress: bool = True) -> pd.DataFrame:
    context = TrainingContext(artifacts.LANDMARKS, artifacts.SPLITS, model, train)
    if distributed_role() == "worker":  # train the runs the chief serves; the chief writes the outputs
        from emo.models.served_runs import serve_runs  # imports Keras Tuner and Keras

        serve_runs(None, "worker", "train_full", str(tune.directory), context, progress)
        return pd.DataFrame()
    data = load_landmarks(artifacts.LANDMARKS)
    partitions = load_partitions(artifacts.SPLITS, labels=data.y)
    best = load_hparams(artifacts.TUNED_HPARAMS)
    with stage_run("train_full", model=model, train=train,
                   hparams={e: a.as_dict() for e, a in best.items()}) as run:
        with atomic_dir(artifacts.FULL.models) as model_dir:
            specs = full_specs(best, len(partitions), artifacts.FULL, model_dir, model.variants)
            results = run_specs(specs, context, data.frames, run, "train_full", str(tune.directory), progress)
        summary = write_results(results, artifacts.FULL, run)
        run.log_metrics(summary_metrics(summary))
    print(mean_std_table(summary).to_string(index=False))
    return summary
