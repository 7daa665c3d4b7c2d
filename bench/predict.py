"""`emo predict` throughput on the demo's test videos (prints figures; not a test).

    python bench/predict.py [--k 128]

Videos per second through decode, landmarks (the extract stage's code path) and the six
emotions' models (each seed's, averaged, in one batch as `emo predict` runs them), and how
the time splits; model loading and the Keras backend's start-up are left out. Target: model time under 10% of the
landmark time at K = 128.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from emo import artifacts
from emo.data.dataset import load_landmarks, load_partitions
from emo.models.ensemble import choose_models
from emo.models.training import model_input
from emo.pipeline import pipeline_params
from emo.predict import Predictor


def predict_positive(model, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The positive-class probability of one model; predict_on_batch per chunk, since Keras'
    predict() costs about 0.1 s of set-up per call."""
    return np.concatenate([np.asarray(model.predict_on_batch(X[i : i + batch_size]))[:, 1]
                           for i in range(0, len(X), batch_size)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=128)
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    params = pipeline_params(args.params)
    data = load_landmarks(artifacts.LANDMARKS)
    test = load_partitions(artifacts.SPLITS, len(data.y))[0].test
    manifest = pd.read_csv(artifacts.MANIFEST).set_index("sequence")
    paths = [Path(params.data.root) / manifest.loc[s, "path"] for s in data.sequence[test]]
    models = choose_models(artifacts.FULL, artifacts.RETRAIN, "temo", args.k)
    predictor = Predictor(params, models)
    try:
        start = time.perf_counter()
        results = predictor.landmarks_of_all(paths)
        predictor.classify(results)  # one eager batch, as `emo predict` classifies its paths
        elapsed = time.perf_counter() - start
        steady = steady_state_model_time(predictor, results)
    finally:
        predictor.close()
    n = len(results)
    decode = sum(r.timing["decode"] for r in results) / n
    landmarks = sum(r.timing["landmarks"] for r in results) / n
    model = sum(r.timing["model"] for r in results) / n
    print(f"{n} demo test videos (partition 0), {sum(r.frames_total for r in results) / n:.1f} frames each, "
          f"K per emotion {[m.k for m in models]}, {len(models[0].files)} seeds per emotion")
    print(f"{n / elapsed:.2f} videos/s; per video decode {1000 * decode:.1f} ms, landmarks "
          f"{1000 * landmarks:.1f} ms, models {1000 * model:.2f} ms")
    print(f"share of the wall time in landmark detection: {landmarks * n / elapsed:.1%} (decoding overlaps it "
          "in a background thread)")
    print(f"model time / landmark time: {model / landmarks:.1%} as `emo predict` runs them once "
          f"(mostly a fixed {1000 * model * n:.0f} ms a call); {steady / landmarks:.1%} for the models' own "
          f"compute ({1000 * steady:.2f} ms/video, traced and warm) (target < 10% at K = 128)")


def steady_state_model_time(predictor: Predictor, results) -> float:
    """Seconds per video of the chosen models once their predict step is traced: what a
    long-running service would pay per video."""
    X = np.stack([r.landmarks for r in results])

    def run_all() -> None:
        for m in predictor.models:
            inputs = model_input(X, m.landmarks)
            for model in predictor.keras_models[m.emotion]:
                predict_positive(model, inputs)

    run_all()  # traces
    start = time.perf_counter()
    run_all()
    return (time.perf_counter() - start) / len(X)


if __name__ == "__main__":
    main()
