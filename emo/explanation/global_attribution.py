"""The paper's dataset-wide Integrated Gradients: one ranking of the 468 landmarks per emotion.

For emotion e and its T-EMO model F_e: IG of every training sample against the typical
video of each of the five other emotions; per sample, |IG| summed over frames and x/y gives
one value per landmark (the attribution mask); masks are averaged over samples, then over
the five baselines, then over the models of every seed. Sorting gives the ranking.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.stats import spearmanr

from emo.data.dataset import LandmarkData, Partition
from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.errors import EmoError
from emo.evaluation.metrics import rounded
from emo.explanation.attribution import MASKS, IntegratedGradients, landmark_mask, positive_probability
from emo.models.model import load_model, model_weights
from emo.models.runs import TrainingContext
from emo.models.training import model_input

ALPHAS = np.linspace(0.0, 1.0, 51)  # Figure 2: F along the path from baseline to input
STABILITY_TOP = 64


def training_videos(data: LandmarkData, part: Partition, emotion: int, why: str) -> np.ndarray:
    """The partition's training videos of an emotion; none is a stale or hand-made splits file."""
    idx = part.train[data.y[part.train] == emotion]
    if not len(idx):
        raise EmoError(f"partition seed {part.seed} has no {EMOTIONS[emotion]} video in its training part, so {why}; "
                       "rerun `dvc repro split`, which draws only partitions with every emotion in every part.")
    return idx


def medoid_videos(data: LandmarkData, part: Partition, displacement: bool) -> np.ndarray:
    """Per emotion, the training video nearest that emotion's mean sequence, measured in what
    the model sees (the motion from the first frame, or the raw coordinates)."""
    X = data.X - data.X[:, :1] if displacement else data.X
    chosen = []
    for e in range(len(EMOTIONS)):
        idx = training_videos(data, part, e, f"it has no typical {EMOTIONS[e]} video to attribute against")
        flat = X[idx].reshape(len(idx), -1)
        chosen.append(idx[np.argmin(((flat - flat.mean(axis=0)) ** 2).sum(axis=1))])
    return np.array(chosen)


@dataclass(frozen=True)
class ConfidenceJob:
    emotion: int
    partition: int
    model_path: str


def most_confident_video(job: ConfidenceJob, data: LandmarkData, partitions: list[Partition],
                         context: TrainingContext) -> tuple[ConfidenceJob, int]:
    """The training video of the emotion that its own T-EMO model is surest of."""
    part = partitions[job.partition]
    idx = training_videos(data, part, job.emotion, f"it has no {EMOTIONS[job.emotion]} video to be sure of")
    model = load_model(job.model_path)
    p = integrated_gradients_of(model, 1, "riemann_right", 0).evaluate(model_input(data.X[idx]), model_weights(model))
    return job, int(idx[np.argmax(p)])


@dataclass(frozen=True)
class AttributionJob:
    emotion: int
    partition: int
    model_path: str
    typical: tuple[int, ...]  # per emotion, the index of its typical video in this partition
    steps: int
    method: str
    samples: str  # "all" training samples, or only the emotion's "positives"
    budget_bytes: int


@dataclass
class AttributionResult:
    job: AttributionJob
    baselines: np.ndarray  # [5] the other emotions, in order
    masks: dict[str, np.ndarray]  # mask kind -> [5, 468]: mean mask over samples, per baseline
    delta: np.ndarray  # [5, n] completeness error of every sample and baseline
    curves: np.ndarray  # [5, len(ALPHAS)] F_e along the path from each baseline's typical video to e's


_integrators: dict[tuple, object] = {}


def integrated_gradients_of(model, steps: int, method: str, budget_bytes: int):
    """An IntegratedGradients of the model's positive-class probability, shared by every model
    of the same shape in this process (the seeds of one emotion): compiled once, it takes each
    model's weights as an argument."""
    shape = tuple((v.path, tuple(v.shape), v.trainable) for v in model.variables)
    key = (shape, steps, method, budget_bytes)
    if key not in _integrators:
        _integrators[key] = IntegratedGradients(positive_probability(model), steps, method, budget_bytes)
    return _integrators[key]


def attribute_one(job: AttributionJob, data: LandmarkData, partitions: list[Partition],
                  context: TrainingContext) -> AttributionResult:
    part = partitions[job.partition]
    idx = part.train if job.samples == "all" else training_videos(
        data, part, job.emotion, f"it has no {EMOTIONS[job.emotion]} video to attribute")
    model = load_model(job.model_path)
    ig = integrated_gradients_of(model, job.steps, job.method, job.budget_bytes)
    weights = model_weights(model)
    x = model_input(data.X[idx])
    baselines = np.array([b for b in range(len(EMOTIONS)) if b != job.emotion])
    masks, deltas, curves = {how: [] for how in MASKS}, [], []
    target = model_input(data.X[[job.typical[job.emotion]]])[0]
    for b in baselines:
        reference = model_input(data.X[[job.typical[b]]])[0]
        result = ig(x, reference, weights)
        for how in MASKS:
            masks[how].append(landmark_mask(result.values, how).mean(axis=0))
        deltas.append(result.delta)
        curves.append(ig.along_path(target, reference, ALPHAS, weights))
    return AttributionResult(job, baselines, {k: np.stack(v) for k, v in masks.items()}, np.stack(deltas),
                             np.stack(curves))


def stability(per_model: np.ndarray, top: int = STABILITY_TOP) -> tuple[float, float]:
    """Agreement of the rankings from different seeds' models: mean pairwise Spearman
    correlation of the attribution vectors, and mean share of a shared top-`top`."""
    pairs = list(combinations(range(len(per_model)), 2))
    if not pairs:
        return float("nan"), float("nan")
    rho = [spearmanr(per_model[a], per_model[b]).statistic for a, b in pairs]
    tops = [set(np.argsort(-v, kind="stable")[:top]) for v in per_model]
    overlap = [len(tops[a] & tops[b]) / top for a, b in pairs]
    return float(np.mean(rho)), float(np.mean(overlap))


def ranking_of(attribution: np.ndarray) -> np.ndarray:
    """Landmark indices from most to least important (ties keep index order)."""
    return np.argsort(-attribution, axis=-1, kind="stable")


def combine(results: list[AttributionResult], mask: str) -> dict[str, np.ndarray]:
    """Average masks over samples, baselines and models into the arrays of data/attributions.npz.
    `mask` picks the kind that makes the ranking; the other is kept beside it for comparison."""
    E, B = len(EMOTIONS), len(EMOTIONS) - 1
    partitions = sorted({r.job.partition for r in results})
    S = len(partitions)
    kinds = list(results[0].masks)
    masks = {k: np.zeros((E, S, B, N_LANDMARKS)) for k in kinds}
    curves = np.zeros((E, S, B, len(ALPHAS)))
    width = max(r.delta.shape[1] for r in results)
    delta = np.full((E, S, B, width), np.nan)
    baselines = np.zeros((E, B), dtype=np.int64)
    for r in results:
        e, s = r.job.emotion, partitions.index(r.job.partition)
        for k in kinds:
            masks[k][e, s] = r.masks[k]
        curves[e, s] = r.curves
        delta[e, s, :, : r.delta.shape[1]] = r.delta
        baselines[e] = r.baselines
    per_model = masks[mask].mean(axis=2)  # [E, S, 468]
    attribution = per_model.mean(axis=1)  # [E, 468]
    rho, overlap = zip(*(stability(per_model[e]) for e in range(E)))
    others = {f"attribution_{k}": masks[k].mean(axis=(1, 2)) for k in kinds if k != mask}
    return {
        "emotions": np.array(EMOTIONS),
        "mask": np.array(mask),
        "attribution": attribution,
        **others,
        "per_baseline": masks[mask].mean(axis=1),  # [E, 5, 468]
        "baseline_emotions": baselines,  # [E, 5]
        "per_model": per_model,
        "partitions": np.array(partitions),
        "ranking": ranking_of(attribution),
        "completeness_delta": delta,  # [E, S, 5, n], NaN-padded
        "alphas": ALPHAS,
        "alpha_curves": curves.mean(axis=1),  # [E, 5, A]
        "spearman": np.array(rho),
        "top64_overlap": np.array(overlap),
    }


def summary_document(arrays: dict[str, np.ndarray], top: int = 16) -> dict:
    """The numbers a reader checks first: completeness error, seed stability, the top landmarks."""
    doc = {}
    for e, emotion in enumerate(EMOTIONS):
        d = np.abs(arrays["completeness_delta"][e])
        d = d[~np.isnan(d)]
        if not d.size:  # no model of this emotion was attributed
            continue
        doc[emotion] = {
            "completeness_abs_mean": round(float(d.mean()), 5),
            "completeness_abs_median": round(float(np.median(d)), 5),
            "completeness_abs_p95": round(float(np.percentile(d, 95)), 5),
            "completeness_abs_max": round(float(d.max()), 5),
            "seed_spearman": rounded(arrays["spearman"][e]),
            "seed_top64_overlap": rounded(arrays["top64_overlap"][e]),
            f"top{top}": [int(i) for i in arrays["ranking"][e, :top]],
        }
    return doc
