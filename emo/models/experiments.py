"""Sets of training runs over every partition, tracked and summarised as mean +- std.

train_full runs each emotion x variant x seed on all 468 landmarks; retrain_k reuses the
same machinery on landmark subsets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from emo.data.emotions import EMOTIONS
from emo.evaluation.metrics import METRICS, TIMINGS, summarize, summary_metrics
from emo.models.model import VARIANTS, Architecture
from emo.explanation.selection import select
from emo.models.training import RunResult, RunSpec, TrainingContext, run_many

def run_specs(specs: list[RunSpec], context: TrainingContext, frames: int, workers: int, run, desc: str,
              progress: bool = True) -> list[RunResult]:
    """Run every spec in parallel, log them to `run` (one child per emotion and K), return
    results in spec order."""
    results: dict[RunSpec, RunResult] = {}
    with tqdm(total=len(specs), desc=desc, unit="model", disable=not progress) as bar:
        for result in run_many(specs, context, workers):
            results[result.spec] = result
            bar.set_postfix_str(result.spec.name)
            bar.update()
    ordered = [results[s] for s in specs]
    log_model_sets(run, ordered, context, frames)
    return ordered


HEADLINE = ("accuracy", "balanced_accuracy", "f1", "roc_auc", "val_loss")


def log_model_sets(run, results: list[RunResult], context: TrainingContext, frames: int) -> None:
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


def runs_table(results: list[RunResult]) -> pd.DataFrame:
    rows = []
    for r in results:
        s = r.spec
        rows.append({
            "emotion": EMOTIONS[s.emotion], "variant": s.variant, "K": s.k, "selection": s.selection,
            "draw": s.draw, "seed": r.seed, **s.arch.as_dict(), **r.metrics, "val_loss": r.extra.get("val_loss"),
            "epochs": r.epochs, "seconds": r.seconds, "seconds_per_epoch": r.seconds_per_epoch,
            "parameters": r.parameters, "inference_ms": r.extra["inference_ms"], "n_test": len(r.test_index),
            "n_test_positive": int(r.extra["n_test_positive"]),
        })
    return pd.DataFrame(rows)


def summary_document(summary: pd.DataFrame) -> dict:
    """Nested emotion -> variant -> K{k}-{selection} -> metric_mean/std, for `dvc metrics show`."""
    doc: dict = {}
    for row in summary.to_dict(orient="records"):
        cell = doc.setdefault(row["emotion"], {}).setdefault(row["variant"], {})
        target = cell if row["selection"] == "all" else cell.setdefault(f"K{row['K']}-{row['selection']}", {})
        for metric in METRICS:
            target[f"{metric}_mean"] = _round(row[f"{metric}_mean"])
            target[f"{metric}_std"] = _round(row[f"{metric}_std"])
    return doc


def _round(x: float) -> float | None:
    return None if x != x else round(float(x), 4)


def write_results(results: list[RunResult], out_dir: Path, run) -> pd.DataFrame:
    """A run set's runs.csv, timings.csv, test_probabilities.csv and metrics.json, and its
    summary in MLflow."""
    from emo.files import write_csv, write_json

    runs = runs_table(results)
    summary = summarize(runs)
    # Wall-clock times differ on every run: apart, so that a rerun with equal results leaves
    # what depends on runs.csv (evaluate, `emo predict`) up to date; only the report reads them.
    keys = ["emotion", "variant", "K", "selection", "draw", "seed"]
    write_csv(out_dir / "runs.csv", runs.drop(columns=list(TIMINGS)))
    write_csv(out_dir / "timings.csv", runs[keys + list(TIMINGS)])
    write_csv(out_dir / "test_probabilities.csv", predictions_table(results))
    write_json(out_dir / "metrics.json", summary_document(summary))
    run.log_table(summary, "summary")
    return summary


def predictions_table(results: list[RunResult]) -> pd.DataFrame:
    """Every test probability of every run, for the six-emotion classifier and ROC plots."""
    frames = [pd.DataFrame({"emotion": EMOTIONS[r.spec.emotion], "variant": r.spec.variant, "K": r.spec.k,
                            "selection": r.spec.selection, "draw": r.spec.draw, "seed": r.seed, "sample": r.test_index,
                            "probability": r.test_probability}) for r in results]
    return pd.concat(frames, ignore_index=True)


def full_specs(best: dict[str, Architecture], n_partitions: int, model_dir: Path,
               variants: tuple[str, ...] = VARIANTS) -> list[RunSpec]:
    return [
        RunSpec(emotion=e, variant=v, partition=p, arch=best[EMOTIONS[e]],
                save_to=str(model_dir / EMOTIONS[e] / v / f"partition{p}.keras"))
        for e in range(len(EMOTIONS)) for v in variants for p in range(n_partitions)
    ]


def run_train_full(params, landmarks_file: Path, splits_file: Path, hparams_file: Path, out_dir: Path,
                   progress: bool = True) -> pd.DataFrame:
    """The train_full stage: every emotion x variant x seed at L = 468 with the tuned F, Q, R."""
    from emo.data.dataset import load_landmarks, load_partitions
    from emo.files import atomic_dir
    from emo.tracking import stage_run
    from emo.models.tuning import load_hparams

    data = load_landmarks(landmarks_file)
    partitions = load_partitions(splits_file, len(data.y))
    best = load_hparams(hparams_file)
    context = TrainingContext(landmarks_file, splits_file, params.model, params.train)
    with stage_run("train_full", {"model": params.model, "train": params.train,
                                  "hparams": {e: a.as_dict() for e, a in best.items()}}) as run:
        with atomic_dir(out_dir / "models") as model_dir:
            results = run_specs(full_specs(best, len(partitions), model_dir, params.model.variants), context, data.frames,
                                params.train.workers, run, "train_full", progress)
        summary = write_results(results, out_dir, run)
        run.log_metrics(summary_metrics(summary))
    return summary


def mean_std_table(summary: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """emotion x variant as 'mean +- std' strings, the way the paper prints Tables 6 and 7."""
    cells = summary.assign(value=[f"{m:.3f} +- {s:.3f}" if s == s else f"{m:.3f}"
                                  for m, s in zip(summary[f"{metric}_mean"], summary[f"{metric}_std"])])
    return cells.pivot(index="emotion", columns="variant", values="value").reindex(EMOTIONS).reset_index()


def retrain_specs(best: dict[tuple[int, int], Architecture], rankings: np.ndarray, ks: list[int],
                  controls: list[str], partitions, model_dir: Path,
                  variants: tuple[str, ...] = VARIANTS, random_draws: int = 1) -> list[RunSpec]:
    """T-EMO and R-EMO on each emotion's top K (models kept), and T-EMO controls with the
    same hyperparameters on K random landmarks (`random_draws` fresh draws per seed) and on
    the bottom K."""
    specs = []
    for k in ks:
        for e, emotion in enumerate(EMOTIONS):
            top = tuple(int(i) for i in select("top", rankings[e], k, 0))
            specs += [RunSpec(e, v, p, best[(k, e)], landmarks=top, selection="top",
                              save_to=str(model_dir / f"K{k}" / emotion / v / f"partition{p}.keras"))
                      for v in variants for p in range(len(partitions))]
            specs += [RunSpec(e, "temo", p, best[(k, e)], selection=control, draw=draw,
                              landmarks=tuple(int(i) for i in select(control, rankings[e], k, part.seed, e, draw)))
                      for control in controls for p, part in enumerate(partitions)
                      for draw in range(random_draws if control == "random" else 1)]
    return specs


def run_retrain_k(params, landmarks_file: Path, splits_file: Path, attributions_file: Path, tune_file: Path,
                  out_dir: Path, progress: bool = True) -> pd.DataFrame:
    """The retrain_k stage: for each K, grid search on each emotion's top K, then every run."""
    from emo.data.dataset import load_landmarks, load_partitions
    from emo.errors import EmoError
    from emo.files import atomic_dir, write_json
    from emo.tracking import stage_run
    from emo.models.tuning import (best_scores, distributed_role, load_hparams, log_search, remove_search_state, search_all,
                            search_job, trials_table)

    data = load_landmarks(landmarks_file)
    partitions = load_partitions(splits_file, len(data.y))
    if not attributions_file.is_file():
        raise EmoError(f"{attributions_file} is missing; run `dvc repro attribute` first.")
    with np.load(attributions_file) as z:
        rankings = z["ranking"]
    r = params.retrain_k
    context = TrainingContext(landmarks_file, splits_file, params.model, params.train)
    jobs = [search_job(e, params.tune, data, partitions[0], context,
                       landmarks=tuple(int(i) for i in select("top", rankings[e], k, 0)), stage="retrain_k")
            for k in r.ks for e in range(len(EMOTIONS))] if r.search else []
    if distributed_role() == "worker":  # train the chief's trials; the chief trains the models after
        if jobs:
            search_all(jobs, data, partitions, context, params.train.workers, "retrain_k", progress)
        return pd.DataFrame()
    with stage_run("retrain_k", {"retrain_k": r, "model": params.model, "train": params.train,
                                 "tune": params.tune}) as run:
        searches = []
        if r.search:
            searches = search_all(jobs, data, partitions, context, params.train.workers, "retrain_k", progress,
                                  on_result=lambda result: log_search(run, result, data.frames))
            best = {(s.job.k, s.job.emotion): s.best for s in searches}
        else:
            tuned = load_hparams(tune_file)
            best = {(k, e): tuned[emotion] for k in r.ks for e, emotion in enumerate(EMOTIONS)}
        with atomic_dir(out_dir / "models") as model_dir:
            specs = retrain_specs(best, rankings, r.ks, r.controls, partitions, model_dir, params.model.variants,
                                  r.random_draws)
            results = run_specs(specs, context, data.frames, params.train.workers, run, "retrain_k", progress)
        summary = write_results(results, out_dir, run)
        run.log_metrics({**summary_metrics(summary), **best_scores(searches)})
        write_json(out_dir / "hparams.json", {
            "searched": r.search,
            "best": {f"K{k}": {EMOTIONS[e]: a.as_dict() for (kk, e), a in best.items() if kk == k} for k in r.ks},
            "trials": trials_table(searches, timings=False).to_dict(orient="records") if searches else [],
            "landmarks": {f"K{k}": {emotion: [int(i) for i in select("top", rankings[e], k, 0)]
                                    for e, emotion in enumerate(EMOTIONS)} for k in r.ks},
        })
    remove_search_state(searches)
    return summary
