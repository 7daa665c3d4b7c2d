"""Stage retrain_k: each emotion's top-K landmarks (searched again per K, as the paper does),
with random-K and bottom-K controls, and T-EMO on the top K of each rival ranking in
retrain_k.rankings (keep-and-retrain per method)."""

from __future__ import annotations

import pandas as pd

from emo import artifacts
from emo.config import ModelParams, RetrainParams, TrainParams, TuneParams
from emo.data.dataset import load_landmarks, load_partitions
from emo.data.emotions import EMOTIONS
from emo.evaluation.metrics import summary_metrics
from emo.explanation.rankings import load_method_rankings, load_rankings
from emo.files import atomic_dir, write_json
from emo.models.experiments import mean_std_table, retrain_specs
from emo.models.runs import TrainingContext
from emo.models.selection import select
from emo.models.search_jobs import search_job
from emo.models.search_results import best_scores, load_hparams, trials_table
from emo.models.search_state import remove_search_state
from emo.models.tuning import distributed_role, search_all
from emo.pipeline.shared.run_sets import run_specs, write_results
from emo.pipeline.shared.searches import log_search
from emo.tracking.runs import stage_run

INPUTS = (artifacts.LANDMARKS, artifacts.SPLITS, artifacts.RANKINGS, artifacts.RIVAL_RANKINGS, artifacts.TUNED_HPARAMS)
OUTPUTS = (artifacts.RETRAIN.models, artifacts.RETRAIN.runs, artifacts.RETRAIN.timings, artifacts.RETRAIN.predictions,
           artifacts.RETRAIN.hparams, artifacts.RETRAIN.metrics)


def run(retrain_k: RetrainParams, model: ModelParams, train: TrainParams, tune: TuneParams,
        progress: bool = True) -> pd.DataFrame:
    """For each K, a search on each emotion's top K, then every run."""
    r = retrain_k
    data = load_landmarks(artifacts.LANDMARKS)
    partitions = load_partitions(artifacts.SPLITS, labels=data.y)
    rankings = load_rankings(artifacts.RANKINGS)
    rivals = load_method_rankings(artifacts.RIVAL_RANKINGS, r.rankings[1:])
    top = {(k, e): tuple(int(i) for i in select("top", rankings[e], k, 0)) for k in r.ks for e in range(len(EMOTIONS))}
    context = TrainingContext(artifacts.LANDMARKS, artifacts.SPLITS, model, train)
    jobs = [search_job(e, tune, data, partitions[0], context, landmarks=top[(k, e)], stage="retrain_k")
            for (k, e) in top] if r.search else []
    if distributed_role() == "worker":  # train the chief's trials, then its runs; the chief writes the outputs
        from emo.models.served_runs import serve_runs  # imports Keras Tuner and Keras

        if jobs:
            search_all(jobs, data, partitions, context, train.workers, "retrain_k", progress)
        serve_runs(None, "worker", "retrain_k", str(tune.directory), context, progress)
        return pd.DataFrame()
    with stage_run("retrain_k", retrain_k=r, model=model, train=train, tune=tune) as run:
        searches = []
        if r.search:
            searches = search_all(jobs, data, partitions, context, train.workers, "retrain_k", progress,
                                  on_result=lambda result: log_search(run, result, data.frames))
            best = {(s.job.k, s.job.emotion): s.best for s in searches}
        else:
            tuned = load_hparams(artifacts.TUNED_HPARAMS)
            best = {(k, e): tuned[emotion] for k in r.ks for e, emotion in enumerate(EMOTIONS)}
        with atomic_dir(artifacts.RETRAIN.models) as model_dir:
            specs = retrain_specs(best, rankings, r.ks, r.controls, partitions, artifacts.RETRAIN, model_dir,
                                  model.variants, r.random_draws, rivals)
            results = run_specs(specs, context, data.frames, run, "retrain_k", str(tune.directory), progress)
        summary = write_results(results, artifacts.RETRAIN, run)
        run.log_metrics({**summary_metrics(summary), **best_scores(searches)})
        write_json(artifacts.RETRAIN.hparams, {
            "searched": r.search,
            "best": {f"K{k}": {EMOTIONS[e]: a.as_dict() for (kk, e), a in best.items() if kk == k} for k in r.ks},
            "trials": trials_table(searches, timings=False).to_dict(orient="records") if searches else [],
            "landmarks": {f"K{k}": {emotion: list(top[(k, e)]) for e, emotion in enumerate(EMOTIONS)} for k in r.ks},
        })
    remove_search_state(searches)
    for (k, selection), part in summary.groupby(["K", "selection"], sort=False):
        print(f"K = {k}, {selection}:")
        print(mean_std_table(part).to_string(index=False))
    return summary
