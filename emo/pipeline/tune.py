"""Stage tune: the search over F, Q, R per emotion at L = 468 -> the chosen architectures."""

from __future__ import annotations

import pandas as pd

from emo import artifacts
from emo.config import ModelParams, TrainParams, TuneParams
from emo.data.dataset import load_landmarks, load_partitions
from emo.data.emotions import EMOTIONS
from emo.files import atomic_dir, write_json
from emo.models.runs import TrainingContext
from emo.models.search_jobs import search_job
from emo.models.search_results import best_scores, hparams_document, trials_table
from emo.models.search_state import remove_search_state
from emo.models.tuning import distributed_role, search_all
from emo.pipeline.shared.searches import log_search
from emo.tracking.runs import stage_run

INPUTS = (artifacts.LANDMARKS, artifacts.SPLITS)
OUTPUTS = (artifacts.TUNE,)


def run(model: ModelParams, train: TrainParams, tune: TuneParams, progress: bool = True) -> pd.DataFrame:
    """A search per emotion at L = 468, written to models/tune (hparams.json, trials.csv)."""
    data = load_landmarks(artifacts.LANDMARKS)
    partitions = load_partitions(artifacts.SPLITS, labels=data.y)
    context = TrainingContext(artifacts.LANDMARKS, artifacts.SPLITS, model, train)
    jobs = [search_job(e, tune, data, partitions[0], context) for e in range(len(EMOTIONS))]
    if distributed_role() == "worker":  # train the chief's trials; the chief writes the outputs
        search_all(jobs, data, partitions, context, train.workers, "tune", progress)
        return pd.DataFrame()
    with stage_run("tune", model=model, train=train, tune=tune) as run:
        results = search_all(jobs, data, partitions, context, train.workers, "tune", progress,
                             on_result=lambda r: log_search(run, r, data.frames))
        run.log_metrics(best_scores(results))
        table = trials_table(results)
        with atomic_dir(artifacts.TUNE) as tmp:
            write_json(tmp / artifacts.TUNED_HPARAMS.name, hparams_document(results))
            table.to_csv(tmp / artifacts.TUNE_TRIALS.name, index=False)
        run.log_table(table, "trials")
    remove_search_state(results)
    print(table[table.chosen].drop(columns="chosen").to_string(index=False))
    return table
