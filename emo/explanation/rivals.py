"""Rival rankings of the 468 landmarks, beside the paper's Integrated Gradients.

Model-based (on the same T-EMO models and training videos as the paper's IG):
- `ig_neutral`: IG from a no-motion baseline (each video's first frame held still) instead
  of the typical videos of the other emotions.
- `gradient_input`: the gradient times the input, the input being what the model reads (the
  motion from the first frame): IG's one-step right Riemann sum from the no-motion baseline.
  Summed over a landmark's trajectory it equals the gradient times the raw coordinates.
- `occlusion`: a landmark's trajectory held at its first position (no motion); the mean
  absolute change of the positive probability (a drop on the emotion's own videos, often a
  rise on the others': a signed mean lets the two cancel).
- `permutation`: a landmark's trajectory swapped between validation videos; the mean rise
  of the validation loss over `repeats` shuffles.
Model-free (on each partition's training videos):
- `effect_size`: each landmark's univariate effect of its peak motion between the emotion
  and the other five: scikit-learn's ANOVA F of x and y, summed (two groups: F = t^2, in
  proportion to Cohen's d squared).
- `svm_weights`: the weight magnitude per landmark (x and y together) of the linear SVM of
  the baselines, on the same standardised features.

Occlusion and permutation are written here, vectorised over landmarks and videos: captum's
FeatureAblation/FeaturePermutation need PyTorch models, and scikit-learn's
permutation_importance permutes one column at a time, not a landmark's 2P columns together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emo.config import AttributeParams, BaselineParams
from emo.data.dataset import LandmarkData, Partition
from emo.data.mesh import N_LANDMARKS
from emo.evaluation.baselines import displacement_features, fit_svm
from emo.explanation.attribution import landmark_mask
from emo.models.training import binary_cross_entropy

PAPER = "ig"  # the paper's IG, from the typical videos of the other emotions (the attribute stage)
MODEL_RIVALS = ("ig_neutral", "gradient_input", "occlusion", "permutation")
MODEL_FREE = ("effect_size", "svm_weights")
RIVALS = MODEL_RIVALS + MODEL_FREE
METHODS = (PAPER, *RIVALS)
METHOD_NAMES = {
    "ig": "IG (typical baselines, the paper)", "ig_neutral": "IG (no-motion baseline)",
    "gradient_input": "gradient x input", "occlusion": "occlusion", "permutation": "permutation importance",
    "effect_size": "effect size (model-free)", "svm_weights": "linear SVM weights",
}

SHORT_NAMES = {"ig": "IG", "ig_neutral": "IG-neutral", "gradient_input": "gradient x input", "occlusion": "occlusion",
               "permutation": "permutation", "effect_size": "effect size", "svm_weights": "SVM weights"}


def no_motion(x: np.ndarray) -> np.ndarray:
    """Each video's first frame held for all its frames: model input [N, P, 2, L, 1] without motion."""
    return np.ascontiguousarray(np.broadcast_to(x[:, :1], x.shape))


def _landmark_blocks(x: np.ndarray, budget_bytes: int = 64 * 2**20):
    """The landmarks in blocks, so that a block's altered copies of the videos x fit the budget."""
    size = max(1, budget_bytes // max(1, x.nbytes))
    return [np.arange(s, min(s + size, N_LANDMARKS)) for s in range(0, N_LANDMARKS, size)]


def _with_one_landmark_from(x: np.ndarray, source: np.ndarray, block: np.ndarray) -> np.ndarray:
    """[len(block) * N, P, 2, L, 1]: for each landmark of the block, the videos x with that
    landmark's trajectory taken from `source` (broadcast over frames where it has one)."""
    altered = np.repeat(x[None], len(block), axis=0)  # [b, N, P, 2, L, 1]
    altered[np.arange(len(block)), :, :, :, block] = np.moveaxis(source[:, :, :, block], 3, 0)
    return altered.reshape(-1, *x.shape[1:])


def occlusion(evaluate, x: np.ndarray) -> np.ndarray:
    """[468]: mean over the videos x [N, P, 2, 468, 1] of |F(x) - F(x with one landmark's
    trajectory held at its first position)|. `evaluate(batch) -> [B]` is the model's F."""
    base = evaluate(x)
    changes = np.empty(N_LANDMARKS)
    for block in _landmark_blocks(x):
        held = evaluate(_with_one_landmark_from(x, x[:, :1], block)).reshape(len(block), -1)
        changes[block] = np.abs(base[None] - held).mean(axis=1)
    return changes


def permutation(evaluate, x: np.ndarray, positive: np.ndarray, repeats: int, seed: int) -> np.ndarray:
    """[468]: mean rise of the binary cross-entropy on (x, positive) when one landmark's
    trajectory is swapped between videos, over `repeats` shuffles (the same shuffles for
    every landmark)."""
    base = binary_cross_entropy(positive, _two_way(evaluate(x)))
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(len(x)) for _ in range(repeats)]
    rise = np.zeros(N_LANDMARKS)
    for order in orders:
        shuffled = x[order]
        for block in _landmark_blocks(x):
            p = evaluate(_with_one_landmark_from(x, shuffled, block)).reshape(len(block), -1)
            rise[block] += [binary_cross_entropy(positive, _two_way(row)) - base for row in p]
    return rise / repeats


def _two_way(p: np.ndarray) -> np.ndarray:
    return np.stack([1 - p, p], axis=1)


def peak_motion(X: np.ndarray) -> np.ndarray:
    """[N, P, 2, 468] -> [N, 936]: each landmark's motion from the first to the last frame (x then y)."""
    return (X[:, -1] - X[:, 0]).reshape(len(X), -1)


def effect_size(X: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """[468]: ANOVA F of each landmark's peak motion between the emotion and the rest, x and y summed."""
    from sklearn.feature_selection import f_classif

    with np.errstate(divide="ignore", invalid="ignore"):
        F, _ = f_classif(peak_motion(X), positive)
    return np.nan_to_num(F, nan=0.0, posinf=0.0).reshape(2, N_LANDMARKS).sum(axis=0)


def svm_weights(X: np.ndarray, positive: np.ndarray, params: BaselineParams) -> np.ndarray:
    """[468]: |w| per landmark (x and y together) of the baselines' linear SVM trained on X."""
    svm = fit_svm(displacement_features(X), positive, "linear", params)[-1]
    return np.linalg.norm(svm.coef_.reshape(2, N_LANDMARKS), axis=0)


def model_free(method: str, data: LandmarkData, part: Partition, emotion: int, params: BaselineParams,
               labels: np.ndarray | None = None) -> np.ndarray:
    """A model-free ranking's values [468] on a partition's training videos (`labels`, if
    given, replaces the dataset's: the shuffled-label check)."""
    y = data.y if labels is None else labels
    X, positive = data.X[part.train], y[part.train] == emotion
    if method == "effect_size":
        return effect_size(X, positive)
    if method == "svm_weights":
        return svm_weights(X, positive, params)
    raise ValueError(f"{method!r} is not a model-free ranking; use one of {MODEL_FREE}")


@dataclass(frozen=True)
class ModelRivals:
    """The model-based rivals of one model: its IG against the no-motion baseline
    (`ig`, compiled for the model's shape) and gradient x input (`one_step`), and its F."""

    ig: object  # emo.explanation.attribution.IntegratedGradients with the attribute stage's steps
    one_step: object  # the same with one right-Riemann step: gradient x input
    weights: tuple
    mask: str  # attribute.aggregate: how an IG trajectory becomes one value per landmark

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        return self.ig.evaluate(x, self.weights)

    def values(self, method: str, x: np.ndarray, x_val: np.ndarray, positive_val: np.ndarray,
               repeats: int, seed: int) -> np.ndarray:
        """[468] for one model-based rival: x the videos attributed, (x_val, positive_val) the
        validation part that permutation importance scores."""
        if method in ("ig_neutral", "gradient_input"):
            integrator = self.ig if method == "ig_neutral" else self.one_step
            return landmark_mask(integrator.attributions(x, no_motion(x), self.weights), self.mask).mean(axis=0)
        if method == "occlusion":
            return occlusion(self.evaluate, x)
        if method == "permutation":
            return permutation(self.evaluate, x_val, positive_val, repeats, seed)
        raise ValueError(f"{method!r} is not a model-based rival; use one of {MODEL_RIVALS}")


@dataclass(frozen=True)
class RivalJob:
    """The model-based rivals of one saved model, on its partition's videos."""

    emotion: int
    partition: int
    model_path: str
    methods: tuple[str, ...]
    steps: int  # the attribute stage's IG settings
    integration: str
    samples: str  # "all" training videos or the emotion's "positives"
    mask: str
    budget_bytes: int
    repeats: int  # permutation importance's shuffles


def rival_values(job: RivalJob, data: LandmarkData, partitions: list[Partition], context) -> tuple[RivalJob, dict]:
    """{method: [468]} for the job's model-based rivals (run_many's task signature)."""
    from emo.explanation.global_attribution import integrated_gradients_of
    from emo.models.model import load_model, model_weights
    from emo.models.training import model_input

    part = partitions[job.partition]
    idx = part.train if job.samples == "all" else part.train[data.y[part.train] == job.emotion]
    model = load_model(job.model_path)
    rivals = ModelRivals(integrated_gradients_of(model, job.steps, job.integration, job.budget_bytes),
                         integrated_gradients_of(model, 1, "riemann_right", job.budget_bytes),
                         model_weights(model), job.mask)
    x, x_val = model_input(data.X[idx]), model_input(data.X[part.val])
    positive_val = data.y[part.val] == job.emotion
    return job, {m: rivals.values(m, x, x_val, positive_val, job.repeats, part.seed) for m in job.methods}


def rival_jobs(paths: dict, methods: tuple[str, ...], attribute: AttributeParams, repeats: int) -> list[RivalJob]:
    """One job per model file {(emotion, partition): path}, with the attribute stage's IG settings."""
    a = attribute
    return [RivalJob(e, p, str(f), methods, a.steps, a.method, a.samples, a.aggregate, a.budget_mb * 2**20, repeats)
            for (e, p), f in paths.items()]
