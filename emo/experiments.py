"""Sets of training runs over every partition, tracked and summarised as mean +- std.

train_full runs each emotion x variant x seed on all 468 landmarks; retrain_k reuses the
same machinery on landmark subsets.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from tqdm import tqdm

from emo.emotions import EMOTIONS
from emo.model import VARIANTS, Architecture
from emo.training import METRICS, RunResult, RunSpec, TrainingContext, run_many

SUMMARY_COLUMNS = [*METRICS, "seconds_per_epoch", "epochs", "parameters"]


def run_specs(specs: list[RunSpec], context: TrainingContext, frames: int, workers: int, run, desc: str,
              progress: bool = True) -> list[RunResult]:
    """Run every spec in parallel, log each as a child of `run`, return results in spec order."""
    results: dict[RunSpec, RunResult] = {}
    with tqdm(total=len(specs), desc=desc, unit="model", disable=not progress) as bar:
        for result in run_many(specs, context, workers):
            results[result.spec] = result
            log_run(run, result, context, frames)
            bar.set_postfix_str(result.spec.name)
            bar.update()
    return [results[s] for s in specs]


def log_run(run, r: RunResult, context: TrainingContext, frames: int) -> None:
    s = r.spec
    run.child(
        f"{EMOTIONS[s.emotion]}/{s.variant}/K{s.k}-{s.selection}/seed{r.seed}",
        params={"emotion": EMOTIONS[s.emotion], "variant": s.variant, "L": s.k, "selection": s.selection,
                "P": frames, "seed": r.seed,
                **s.arch.as_dict(), "flip": context.train.flip, "input": context.model.input},
        metrics={**r.metrics, **r.extra, "epochs": r.epochs, "seconds": r.seconds,
                 "seconds_per_epoch": r.seconds_per_epoch, "parameters": r.parameters},
        history=r.history,
        tags={"kind": "model"},
    )


def runs_table(results: list[RunResult]) -> pd.DataFrame:
    rows = []
    for r in results:
        s = r.spec
        rows.append({
            "emotion": EMOTIONS[s.emotion], "variant": s.variant, "K": s.k, "selection": s.selection,
            "seed": r.seed, **s.arch.as_dict(), **r.metrics, "val_loss": r.extra.get("val_loss"),
            "epochs": r.epochs, "seconds": r.seconds, "seconds_per_epoch": r.seconds_per_epoch,
            "parameters": r.parameters, "n_test": len(r.test_index), "n_test_positive": int(r.extra["n_test_positive"]),
        })
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample standard deviation over seeds, per emotion x variant x K x selection."""
    keys = ["emotion", "variant", "K", "selection"]
    grouped = runs.groupby(keys, sort=False)[SUMMARY_COLUMNS]
    table = grouped.mean().add_suffix("_mean").join(grouped.std(ddof=1).add_suffix("_std"))
    table["runs"] = grouped.size()
    return table.reset_index()


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


def predictions_table(results: list[RunResult]) -> pd.DataFrame:
    """Every test probability of every run, for the six-emotion classifier and ROC plots."""
    frames = [pd.DataFrame({"emotion": EMOTIONS[r.spec.emotion], "variant": r.spec.variant, "K": r.spec.k,
                            "selection": r.spec.selection, "seed": r.seed, "sample": r.test_index,
                            "probability": r.test_probability}) for r in results]
    return pd.concat(frames, ignore_index=True)


def full_specs(best: dict[str, Architecture], n_partitions: int, model_dir: Path) -> list[RunSpec]:
    return [
        RunSpec(emotion=e, variant=v, partition=p, arch=best[EMOTIONS[e]],
                save_to=str(model_dir / EMOTIONS[e] / v / f"partition{p}.keras"))
        for e in range(len(EMOTIONS)) for v in VARIANTS for p in range(n_partitions)
    ]


def run_train_full(params, landmarks_file: Path, splits_file: Path, hparams_file: Path, out_dir: Path,
                   progress: bool = True) -> pd.DataFrame:
    """The train_full stage: every emotion x variant x seed at L = 468 with the tuned F, Q, R."""
    from emo.dataset import load_landmarks, load_partitions
    from emo.files import atomic_dir, write_csv, write_json
    from emo.tracking import stage_run
    from emo.tuning import load_hparams

    data = load_landmarks(landmarks_file)
    partitions = load_partitions(splits_file, len(data.y))
    best = load_hparams(hparams_file)
    context = TrainingContext(landmarks_file, splits_file, params.model, params.train)
    with stage_run("train_full", {"model": params.model, "train": params.train,
                                  "hparams": {e: a.as_dict() for e, a in best.items()}}) as run:
        with atomic_dir(out_dir / "models") as model_dir:
            results = run_specs(full_specs(best, len(partitions), model_dir), context, data.frames,
                                params.train.workers, run, "train_full", progress)
        runs = runs_table(results)
        summary = summarize(runs)
        write_csv(out_dir / "runs.csv", runs)
        write_csv(out_dir / "test_probabilities.csv", predictions_table(results))
        write_json(out_dir / "metrics.json", summary_document(summary))
        run.log_table(summary, "summary")
        run.log_metrics({f"{row['emotion']}.{row['variant']}.{m}_{stat}": row[f"{m}_{stat}"]
                         for row in summary.to_dict(orient="records") for m in METRICS for stat in ("mean", "std")})
    return summary


def mean_std_table(summary: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """emotion x variant as 'mean +- std' strings, the way the paper prints Tables 6 and 7."""
    cells = summary.assign(value=[f"{m:.3f} +- {s:.3f}" if s == s else f"{m:.3f}"
                                  for m, s in zip(summary[f"{metric}_mean"], summary[f"{metric}_std"])])
    return cells.pivot(index="emotion", columns="variant", values="value").reindex(EMOTIONS).reset_index()

