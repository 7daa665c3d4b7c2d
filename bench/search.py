"""Hyperband against the exhaustive grid, on the demo's data (prints figures; not a test).

    python bench/search.py [--filters 4 8 12 16] [--units 8 16 24] [--neurons 16] [--factor 3]

Runs the tune stage's search (T-EMO on partition 0, all 468 landmarks, every emotion) on the
pipeline's landmarks and splits (run `dvc repro split` first) with params.yaml's model and
training settings, over a grid widened to the given values, once exhaustively and once with
Keras Tuner's Hyperband (max epochs = train.epochs). Per emotion: epochs trained by each,
their ratio, each winner's validation loss and whether Hyperband's is within 5% of the
grid's best. Target: Hyperband trains at most 1/3 of the grid's epochs.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default=str(REPO / "params.yaml"))
    parser.add_argument("--filters", type=int, nargs="+", default=[4, 8, 12, 16])
    parser.add_argument("--units", type=int, nargs="+", default=[8, 16, 24])
    parser.add_argument("--neurons", type=int, nargs="+", default=[16])
    parser.add_argument("--factor", type=int, default=3)
    args = parser.parse_args()

    from emo.pipeline import pipeline_params

    params = pipeline_params(args.params)
    import pandas as pd

    from emo.artifacts import LANDMARKS, SPLITS
    from emo.data.dataset import load_landmarks, load_partitions
    from emo.data.emotions import EMOTIONS
    from emo.models.runs import TrainingContext
    from emo.models.search_jobs import search_job
    from emo.models.tuning import search_all

    data = load_landmarks(REPO / LANDMARKS)
    partitions = load_partitions(REPO / SPLITS, len(data.y))
    context = TrainingContext(REPO / LANDMARKS, REPO / SPLITS, params.model, params.train)
    points = len(args.filters) * len(args.units) * len(args.neurons)
    print(f"{points} grid points per emotion (F {args.filters}, Q {args.units}, R {args.neurons}); "
          f"train.epochs {params.train.epochs}, patience {params.train.patience}, backend {params.train.backend}")
    found = {}
    with tempfile.TemporaryDirectory() as directory:
        for strategy in ("grid", "hyperband"):
            tune = dataclasses.replace(params.tune, filters=args.filters, lstm_units=args.units, dense_units=args.neurons,
                                       strategy=strategy, factor=args.factor, directory=Path(directory))
            jobs = [search_job(e, tune, data, partitions[0], context, stage="bench") for e in range(len(EMOTIONS))]
            start = time.perf_counter()
            results = search_all(jobs, data, partitions, context, params.train.workers, f"bench {strategy}", True)
            print(f"{strategy}: {time.perf_counter() - start:.0f} s wall")
            found[strategy] = {EMOTIONS[r.job.emotion]: r for r in results}
    rows = []
    for emotion in EMOTIONS:
        grid, hyperband = found["grid"][emotion], found["hyperband"][emotion]
        best = {name: min(t["val_loss"] for t in r.trials) for name, r in (("grid", grid), ("hyperband", hyperband))}
        rows.append({
            "emotion": emotion,
            "grid epochs": sum(t["epochs"] for t in grid.trials),
            "hyperband epochs": sum(t["epochs"] for t in hyperband.trials),
            "hyperband trials": len(hyperband.trials),
            "grid best val_loss": best["grid"], "hyperband best val_loss": best["hyperband"],
            "grid winner": f"{grid.best.filters}/{grid.best.units}/{grid.best.neurons}",
            "hyperband winner": f"{hyperband.best.filters}/{hyperband.best.units}/{hyperband.best.neurons}",
        })
    table = pd.DataFrame(rows)
    table["epoch ratio"] = table["hyperband epochs"] / table["grid epochs"]
    table["val_loss excess"] = table["hyperband best val_loss"] / table["grid best val_loss"] - 1
    table["within 5%"] = table["val_loss excess"] <= 0.05
    print(table.to_string(index=False, float_format="{:.3f}".format))
    total = table["hyperband epochs"].sum() / table["grid epochs"].sum()
    print(f"all emotions: hyperband trained {total:.3f} of the grid's epochs (target at most 1/3); "
          f"winner within 5% of the grid's best for {int(table['within 5%'].sum())} of {len(table)} emotions")


if __name__ == "__main__":
    main()
