"""Training and inference cost against the number of landmarks (prints figures; not a test).

    python bench/train.py [--filters 8 --units 16 --neurons 16] [--samples 360]

For L = 468, 234, 128, 64, 32, 16 at the profile's P, for T-EMO and R-EMO: parameters,
seconds per training epoch (batch 16, `--samples` videos, as train_full sees them after
flipping), and inference milliseconds per video at batch 1 and batch 256; each as a ratio
to L = 468. This curve is the paper's "fast" claim.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import emo  # noqa: F401  (quiets TensorFlow's start-up logs)
from emo.config import load_params
from emo.model import VARIANTS, Architecture, build_model
from emo.paper import LANDMARK_COUNTS
from emo.training import one_hot



def measure(frames: int, landmarks: int, arch: Architecture, variant: str, params, samples: int) -> dict:
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    X = rng.random((samples, frames, 2, landmarks, 1), dtype=np.float32)
    y = one_hot(rng.integers(0, 2, samples))
    model = build_model(frames, landmarks, arch, variant, params.model, params.train.learning_rate)
    model.fit(X, y, batch_size=params.train.batch_size, epochs=1, verbose=0)  # traces the train step
    start = time.perf_counter()
    model.fit(X, y, batch_size=params.train.batch_size, epochs=3, verbose=0)
    epoch = (time.perf_counter() - start) / 3

    one = X[:1]
    model.predict_on_batch(one)
    start = time.perf_counter()
    for _ in range(50):
        model.predict_on_batch(one)
    single = (time.perf_counter() - start) / 50 * 1000
    batch = np.repeat(X, 256 // samples + 1, axis=0)[:256]
    model.predict_on_batch(batch)
    start = time.perf_counter()
    for _ in range(5):
        model.predict_on_batch(batch)
    batched = (time.perf_counter() - start) / 5 / 256 * 1000
    return {"parameters": model.count_params(), "epoch_s": epoch, "ms_batch1": single, "ms_batch256": batched}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--filters", type=int, default=8)
    parser.add_argument("--units", type=int, default=16)
    parser.add_argument("--neurons", type=int, default=16)
    parser.add_argument("--samples", type=int, default=360)
    args = parser.parse_args()
    params = load_params(args.params)
    arch = Architecture(args.filters, args.units, args.neurons)
    P = params.extract.frames
    print(f"P = {P}, F/Q/R = {arch.filters}/{arch.units}/{arch.neurons}, {args.samples} training videos, "
          f"batch {params.train.batch_size}, input {params.model.input}")
    header = f"{'variant':7s} {'L':>4s} {'params':>9s} {'x':>6s} {'s/epoch':>8s} {'x':>6s} {'ms/video b1':>11s} {'x':>6s} {'ms/video b256':>13s} {'x':>6s}"
    for variant in VARIANTS:
        print(header)
        rows = {L: measure(P, L, arch, variant, params, args.samples) for L in LANDMARK_COUNTS}
        ref = rows[468]
        for L, r in rows.items():
            print(f"{variant:7s} {L:4d} {r['parameters']:9d} {r['parameters'] / ref['parameters']:6.3f} "
                  f"{r['epoch_s']:8.3f} {r['epoch_s'] / ref['epoch_s']:6.3f} {r['ms_batch1']:11.2f} "
                  f"{r['ms_batch1'] / ref['ms_batch1']:6.3f} {r['ms_batch256']:13.4f} "
                  f"{r['ms_batch256'] / ref['ms_batch256']:6.3f}")


if __name__ == "__main__":
    main()
