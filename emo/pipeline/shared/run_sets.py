"""What train_full, train_timeline and retrain_k share: train a set of runs in parallel, log it to
MLflow (one child per emotion and K), and write its tables (emo.artifacts.RunSet)."""

from __future__ import annotations

import pandas as pd
from tqdm import tqdm

from emo import artifacts
from emo.artifacts import RunSet
from emo.data.emotions import EMOTIONS
from emo.evaluation.metrics import TIMINGS, summarize, summary_metrics
from emo.evaluation.runs import RUN_KEYS
from emo.data.dataset import load_landmarks, load_partitions
from emo.files import atomic_dir, write_csv, write_json
from emo.models.experiments import full_specs, predictions_table, runs_table, summary_document
from emo.models.search_results import load_hparams
from emo.models.runs import RunResult, RunSpec, TrainingContext, run_batches
from emo.models.tuning import distributed_role
from emo.tracking.runs import StageRun, stage_run

HEADLINE = ("accuracy", "balanced_accuracy", "f1", "roc_auc", "val_loss")


def run_specs(specs: list[RunSpec], context: TrainingContext, frames: int, run: StageRun, stage: str,
              directory: str, progress: bool = True) -> list[RunResult]:
    """Train every spec (models of one shape together), log them to `run` (one child per emotion and K), return
    results in spec order. In Keras Tuner's distributed mode this process is the chief: it serves
    the runs to the workers through `directory` (tune.directory, shared) and trains none itself."""
    if distributed_role() == "chief":
        from emo.models.served_runs import serve_runs  # imports Keras Tuner and Keras

        ordered = serve_runs(specs, "chief", stage, directory, context, progress)
    else:
        results: dict[RunSpec, RunResult] = {}
        with tqdm(total=len(specs), desc=stage, unit="model", disable=not progress) as bar:
            for result in run_batches(specs, context, frames, context.train.workers):
                results[result.spec] = result
                bar.set_postfix_str(result.spec.name)
                bar.update()
        ordered = [results[s] for s in specs]
    log_model_sets(run, ordered, context, frames)
    return ordered


def log_model_sets(run: StageRun, results: list[RunResult], context: TrainingContext, frames: int) -> None:
    """One MLflow child per emotion and K: each variant's and selection's test metrics per
    seed as steps (step = seed; random draws averaged), their mean and std, and every
    model's row and epoch history as tables."""
    by_unit: dict[tuple[int, int], list[RunResult]] = {}
    for r in results:
        by_unit.setdefault((r.spec.emotion, r.spec.k), []).append(r)
    for (e, k), group in by_unit.items():
        table = runs_table(group)
        metrics, series = {}, {}
        for (variant, selection), part in table.groupby(["variant", "selection"], sort=False):
            per_seed = part.groupby("seed")[list(HEADLINE)].mean()
            for m in HEADLINE:
                series[f"{variant}.{selection}.{m}"] = per_seed[m].to_dict()
                metrics[f"{variant}.{selection}.{m}_mean"] = per_seed[m].mean()
                metrics[f"{variant}.{selection}.{m}_std"] = per_seed[m].std(ddof=1)
                # A metric undefined on some seed's test part (one class) is averaged over fewer seeds: say how many.
                metrics[f"{variant}.{selection}.{m}_seeds"] = per_seed[m].count()
        histories = pd.DataFrame([{"variant": r.spec.variant, "selection": r.spec.selection, "draw": r.spec.draw,
                                   "seed": r.seed, "epoch": i, **{key: values[i] for key, values in r.history.items()}}
                                  for r in group for i in range(len(next(iter(r.history.values()), [])))])
        top = next((r.spec.arch for r in group if r.spec.selection in ("top", "all")), group[0].spec.arch)
        run.child(f"{EMOTIONS[e]}/K{k}/models",
                  params={"emotion": EMOTIONS[e], "L": k, "P": frames, **top.as_dict(), "flip": context.train.flip,
                          "input": context.model.input, "models": len(group),
                          "seeds": " ".join(map(str, sorted(table.seed.unique())))},
                  metrics=metrics, series=series, tags={"kind": "models"},
                  tables={"runs": table, "histories": histories})


def write_results(results: list[RunResult], run_set: RunSet, run: StageRun) -> pd.DataFrame:
    """A run set's runs.csv, timings.csv, test_probabilities.csv and metrics.json, and its
    summary in MLflow."""
    runs = runs_table(results)
    summary = summarize(runs)
    # Wall-clock times differ on every run: apart, so that a rerun with equal results leaves
    # what depends on runs.csv (evaluate, `emo predict`) up to date; only the report reads them.
    write_csv(run_set.runs, runs.drop(columns=list(TIMINGS)))
    write_csv(run_set.timings, runs[list(RUN_KEYS) + list(TIMINGS)])
    write_csv(run_set.predictions, predictions_table(results))
    write_json(run_set.metrics, summary_document(summary))
    run.log_table(summary, "summary")
    return summary




def train_at_all_landmarks(stage: str, run_set: RunSet, variants: tuple[str, ...], context: TrainingContext,
                           directory: str, progress: bool = True, **logged) -> pd.DataFrame | None:
    """Every emotion x variant x seed at all 468 landmarks with the tuned F, Q, R (train_full, and
    train_timeline on its windows too), logged to MLflow as `stage` with the sections `logged`; the
    run set's outputs and its summary. A distributed worker trains the runs its chief serves and
    writes nothing (None)."""
    if distributed_role() == "worker":  # the chief writes the outputs
        from emo.models.served_runs import serve_runs  # imports Keras Tuner and Keras

        serve_runs(None, "worker", stage, directory, context, progress)
        return None
    data = load_landmarks(artifacts.LANDMARKS)
    partitions = load_partitions(artifacts.SPLITS, labels=data.y)
    best = load_hparams(artifacts.TUNED_HPARAMS)
    with stage_run(stage, **logged, hparams={e: a.as_dict() for e, a in best.items()}) as run:
        with atomic_dir(run_set.models) as model_dir:
            specs = full_specs(best, len(partitions), run_set, model_dir, variants)
            results = run_specs(specs, context, data.frames, run, stage, directory, progress)
        summary = write_results(results, run_set, run)
        run.log_metrics(summary_metrics(summary))
    return summary
