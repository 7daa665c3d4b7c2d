"""Grid points of different F, Q, R: grouped by shape against padded to the largest (prints
figures; not a test).

    python bench/padding.py [--landmarks 16 128] [--epochs 2]

A slice of the paper's grid (F 16/50, Q 30/68, R 33/74: its corners, 8 points) with one
model per emotion at each point (6), at the paper's size (P 16, 472 training videos), on one
pinned core under JAX. Grouped (what emo does, emo.models.batches): one call per point, 6
models each. Padded: all 48 in one call at the largest shape (F 50, Q 68, R 74). An exact
padded model would also mask the padding, in its initialisation, its activations and its
gradients; those costs are left out here, so the padded figure is the fastest padding could
be. Seconds per epoch of all 48 models: the fastest of --epochs epochs after a compiling one.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FRAMES, SAMPLES, EMOTIONS = 16, 472, 6
CORNERS = list(itertools.product((16, 50), (30, 68), (33, 74)))


def epoch_seconds(tasks, arch, model_params, train, epochs: int) -> float:
    from emo.models.training import fit_binaries

    fit_binaries(tasks, arch, "temo", model_params, train)  # compiles
    return min(fit_binaries([dataclasses.replace(t, seed=t.seed + 100 * (i + 1)) for t in tasks], arch, "temo",
                            model_params, train)[0].seconds * len(tasks) for i in range(epochs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landmarks", type=int, nargs="+", default=[16, 128])
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    from emo.models.backend import configure, use_backend

    use_backend("jax", single_threaded=True)
    configure(single_threaded=True)
    from emo.config import load_params
    from emo.models.model import Architecture
    from emo.models.training import BinaryTask

    params = load_params(REPO / "params.yaml")
    train = dataclasses.replace(params.train, epochs=1)
    print(f"T-EMO, one core, paper size (P {FRAMES}, {SAMPLES} training videos), {len(CORNERS)} grid points x "
          f"{EMOTIONS} models; s/epoch of all {len(CORNERS) * EMOTIONS} models")
    for L in args.landmarks:
        rng = np.random.default_rng(0)
        X = rng.random((SAMPLES, FRAMES, 2, L, 1), dtype=np.float32)
        positive = rng.random(SAMPLES) < 1 / 6
        task = BinaryTask(X, positive, X[:48], positive[:48], 0)
        grouped = sum(epoch_seconds([dataclasses.replace(task, seed=s) for s in range(EMOTIONS)], Architecture(*point),
                                    params.model, train, args.epochs) for point in CORNERS)
        start = time.perf_counter()
        padded = epoch_seconds([dataclasses.replace(task, seed=s) for s in range(len(CORNERS) * EMOTIONS)],
                               Architecture(*map(max, zip(*CORNERS))), params.model, train, args.epochs)
        print(f"L = {L}: grouped {grouped:.2f} s ({len(CORNERS)} calls), padded without masks {padded:.2f} s "
              f"(one call; x{grouped / padded:.2f} against grouped; {time.perf_counter() - start:.0f} s to measure)",
              flush=True)


if __name__ == "__main__":
    main()
