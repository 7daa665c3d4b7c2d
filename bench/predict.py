"""`emo predict` throughput on the demo's test videos (prints figures; not a test).

    python bench/predict.py [--k 128]

Videos per second through decode, landmarks (the extract stage's code path) and the six
emotions' models (each seed's, averaged), and how the time splits; the models are timed on
a second pass, once their predict step is traced. Target: model time under 10% of the
landmark time at K = 128.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

import emo  # noqa: F401  (quiets TensorFlow's start-up logs)
from emo.config import load_params
from emo.dataset import load_landmarks, load_partitions
from emo.predict import Predictor, choose_models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=128)
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    params = load_params(args.params)
    data = load_landmarks()
    test = load_partitions(n_samples=len(data.y))[0].test
    manifest = pd.read_csv("data/landmarks/manifest.csv").set_index("sequence")
    paths = [params.data.root / manifest.loc[s, "path"] for s in data.sequence[test]]
    models = choose_models("temo", args.k)
    predictor = Predictor(params, models)
    try:
        start = time.perf_counter()
        results = [predictor.landmarks(Path(p)) for p in paths]
        predictor.classify(results)  # traces every model's predict step
        first_pass = time.perf_counter() - start
        predictor.classify(results)
    finally:
        predictor.close()
    n = len(results)
    decode = sum(r.timing["decode"] for r in results) / n
    landmarks = sum(r.timing["landmarks"] for r in results) / n
    model = sum(r.timing["model"] for r in results) / n
    total = decode + landmarks + model
    print(f"{n} demo test videos (partition 0), {sum(len(r.frames) for r in results) / n:.1f} frames each, "
          f"K per emotion {[m.k for m in models]}, {len(models[0].files)} seeds per emotion")
    print(f"first pass (incl. tracing the models): {n / first_pass:.2f} videos/s")
    print(f"steady state: {1 / total:.2f} videos/s; per video decode {1000 * decode:.1f} ms, landmarks "
          f"{1000 * landmarks:.1f} ms, models {1000 * model:.2f} ms")
    print(f"share of time in landmark detection: {landmarks / total:.1%}")
    print(f"model time / landmark time: {model / landmarks:.1%} (target < 10% at K = 128)")


if __name__ == "__main__":
    main()
