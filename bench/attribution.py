"""Integrated Gradients speed and accuracy on the demo's trained models (prints figures; not a test).

    python bench/attribution.py [--samples 24] [--steps 50] [--landmarks 468]

Speed, in samples x baselines per second, for the same model, inputs and m, under
params.yaml's Keras backend:
  (a) the textbook loop: one eager gradient call per sample per alpha;
  (b) one batched call per sample over its m alphas;
  (c) emo.explanation.attribution: every alpha of many samples in one compiled call.
The three results are checked equal (float tolerance) before any ratio is printed.
Then the completeness error |sum(IG) - (F(x) - F(x'))| at m = 20, 50, 300 on the T-EMO
models of partition 0, every emotion, against each other emotion's typical video.
Targets (CPU): (c) at least 50x (a) and 3x (b).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from emo import N_LANDMARKS, artifacts
from emo.data.dataset import load_landmarks, load_partitions
from emo.data.emotions import EMOTIONS
from emo.explanation.attribution import integration_points
from emo.explanation.global_attribution import integrated_gradients_of, medoid_videos
from emo.models.model import build_model, load_model, model_weights
from emo.models.search_results import load_hparams
from emo.models.training import model_input
from emo.pipeline import pipeline_params


def model_file(emotion: int) -> Path:
    """Partition 0's T-EMO model of an emotion at all landmarks."""
    return artifacts.FULL.model_file(EMOTIONS[emotion], "temo", N_LANDMARKS, 0)


def textbook(model, x, baseline, steps):
    """Sundararajan et al.'s formula, literally: one gradient per sample per alpha."""
    from keras import ops

    from emo.models.backend import value_and_gradient

    gradient = value_and_gradient(lambda point: (ops.sum(model(point, training=False)[:, 1]), None))
    alphas, weights = integration_points("riemann_right", steps)
    out = []
    for sample in x:
        total = np.zeros_like(sample)
        for a, w in zip(alphas, weights):
            total += w * np.asarray(gradient((baseline + a * (sample - baseline))[None])[1])[0]
        out.append(total * (sample - baseline))
    return np.stack(out)


def per_sample(ig, x, baseline, weights):
    """One call per sample: its m alphas batched, samples one after another."""
    return ig.attributions(x, baseline, weights, chunk=1)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=24, help="training videos in the speed test")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--emotion", default="happiness")
    parser.add_argument("--landmarks", type=int, default=N_LANDMARKS, help="L for the speed test (K < 468: top-K of the ranking)")
    args = parser.parse_args()
    params = pipeline_params("params.yaml")
    budget = params.attribute.budget_mb * 2**20
    data = load_landmarks(artifacts.LANDMARKS)
    part = load_partitions(artifacts.SPLITS, len(data.y))[0]
    typical = medoid_videos(data, part, params.model.input == "displacement")
    e = EMOTIONS.index(args.emotion)
    model = load_model(model_file(e))
    subset = None
    if args.landmarks != N_LANDMARKS:
        # Speed does not depend on the weights: the tuned architecture on the top-K landmarks.
        arch = load_hparams(Path("models/tune/hparams.json"))[args.emotion]
        model = build_model(data.frames, args.landmarks, arch, "temo", params.model)
        subset = np.load(artifacts.ATTRIBUTIONS)["ranking"][e, : args.landmarks]
    baseline = model_input(data.X[[typical[(e + 1) % 6]]], subset)[0]
    x = model_input(data.X[part.train[: args.samples]], subset)
    ig, weights = integrated_gradients_of(model, args.steps, "riemann_right", budget), model_weights(model)
    ig.attributions(x, baseline, weights)  # compile once, outside the timings
    per_sample(ig, x[:1], baseline, weights)

    fast, t_fast = timed(lambda: ig.attributions(x, baseline, weights))
    batched, t_batched = timed(lambda: per_sample(ig, x, baseline, weights))
    slow, t_slow = timed(lambda: textbook(model, x, baseline, args.steps))
    scale = np.abs(slow).max()
    for name, other in (("per-sample batched", batched), ("vectorized", fast)):
        # ReLU kinks: a path point within float noise of a kink may take the other side.
        np.testing.assert_allclose(other, slow, atol=5e-4 * scale, rtol=1e-3, err_msg=name)
    n = len(x)
    print(f"{args.emotion} T-EMO, partition 0, m = {args.steps}, {n} samples x 1 baseline, input {x.shape[1:]}, "
          f"backend {params.train.backend}, {params.attribute.budget_mb} MB a call")
    print(f"(a) textbook loop        {n / t_slow:9.2f} samples x baselines / s")
    print(f"(b) one call per sample  {n / t_batched:9.2f} samples x baselines / s")
    print(f"(c) vectorized           {n / t_fast:9.2f} samples x baselines / s")
    print(f"(c) / (a) = {t_slow / t_fast:.1f}x (target >= 50x);  (c) / (b) = {t_batched / t_fast:.1f}x (target >= 3x)")
    print("all three agree within float tolerance")

    if args.landmarks != N_LANDMARKS:
        return
    print("\ncompleteness error |sum(IG) - (F(x) - F(x'))|, partition 0, 24 training videos x 5 baselines:")
    print(f"{'emotion':10s} " + " ".join(f"{'m=' + str(m) + ' mean':>12s} {'max':>8s}" for m in (20, 50, 300)))
    sample = model_input(data.X[part.train[:24]])
    for e, emotion in enumerate(EMOTIONS):
        model = load_model(model_file(e))
        cells = []
        for m in (20, 50, 300):
            ig = integrated_gradients_of(model, m, "riemann_right", budget)
            d = np.abs(np.concatenate([ig(sample, model_input(data.X[[typical[b]]])[0], model_weights(model)).delta
                                       for b in range(6) if b != e]))
            cells.append(f"{d.mean():12.5f} {d.max():8.5f}")
        print(f"{emotion:10s} " + " ".join(cells))


if __name__ == "__main__":
    main()
