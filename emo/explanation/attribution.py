"""Integrated Gradients (Sundararajan et al. 2017), batched over samples and steps.

IG_i(x) = (x_i - x'_i) * integral_0^1 dF(x' + a (x - x')) / dx_i da, with F the binary
model's positive-class probability, approximated by a weighted sum over m points on the
path. The points come from `integration_points` (the paper's right Riemann sum, its
equation 2, by default). All m path points of a chunk of samples go through one compiled
gradient call; chunks are sized by a memory budget and give the same numbers as one call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from emo.models.backend import compiled, value_and_gradient

METHODS = ("riemann_right", "trapezoid", "gauss_legendre")


def integration_points(method: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(alphas, weights) of an m-point rule for the integral over [0, 1]."""
    if steps < 1:
        raise ValueError("steps must be at least 1")
    if method == "riemann_right":  # the paper: (1/m) sum_{k=1..m} dF(x' + (k/m)(x - x'))
        return np.arange(1, steps + 1) / steps, np.full(steps, 1.0 / steps)
    if method == "trapezoid":
        if steps < 2:
            raise ValueError("the trapezoid rule needs at least 2 steps")
        weights = np.full(steps, 1.0 / (steps - 1))
        weights[[0, -1]] /= 2
        return np.linspace(0.0, 1.0, steps), weights
    if method == "gauss_legendre":
        nodes, weights = np.polynomial.legendre.leggauss(steps)
        return (nodes + 1) / 2, weights / 2
    raise ValueError(f"unknown integration method {method!r}; use one of {METHODS}")


@dataclass
class Attribution:
    values: np.ndarray  # same shape as the inputs
    delta: np.ndarray  # [N] sum(IG) - (F(x) - F(x')): completeness error
    f_input: np.ndarray  # [N] F(x)
    f_baseline: np.ndarray  # [N] F(x')


def _chunk_size(sample_size: int, steps: int, budget_bytes: int) -> int:
    """Samples per call so that the path points (and their gradients) fit the budget."""
    per_sample = steps * sample_size * 4 * 8  # float32; ~8 live copies through the model and its gradient
    return max(1, budget_bytes // per_sample)


def _padded(x: np.ndarray, size: int) -> np.ndarray:
    """x with zero rows appended up to `size`, so that every call has one shape (one compile)."""
    return np.concatenate([x, np.zeros((size - len(x), *x.shape[1:]), x.dtype)]) if len(x) < size else x


class IntegratedGradients:
    """IG for one model function F(params, x): params (any nested arrays, e.g. a model's
    weights) and a batch [B, ...] -> [B] (a probability). Compiled once per input shape;
    models of one shape share it by passing their own params."""

    def __init__(self, model_fn: Callable, steps: int = 50, method: str = "riemann_right",
                 budget_bytes: int = 256 * 2**20):
        from keras import ops

        self.alphas, self.weights = (a.astype(np.float32) for a in integration_points(method, steps))
        self.steps = steps
        self.budget_bytes = budget_bytes

        # Each output depends on its own input only, so the gradient of the sum is every
        # output's gradient at once.
        total = value_and_gradient(lambda flat, params: (ops.sum(model_fn(params, flat)), None))

        def path_gradients(params, x, baseline, alphas, weights):
            # [n, m, ...]: every interpolation point of every sample in one batch.
            diff = x - baseline
            expand = ops.reshape(alphas, (1, -1) + (1,) * (len(x.shape) - 1))
            path = ops.expand_dims(baseline, 1) + expand * ops.expand_dims(diff, 1)
            _, grads = total(ops.reshape(path, (-1, *x.shape[1:])), params)
            return ops.einsum("nm...,m->n...", ops.reshape(grads, ops.shape(path)), weights) * diff

        self._path_gradients = compiled(path_gradients)
        self._outputs = compiled(model_fn)

    def attributions(self, x: np.ndarray, baseline: np.ndarray, params=(), chunk: int | None = None) -> np.ndarray:
        """IG of every sample in x against `baseline` (one per sample, or one for all)."""
        x = np.asarray(x, dtype=np.float32)
        baseline = np.broadcast_to(np.asarray(baseline, dtype=np.float32), x.shape)
        chunk = min(len(x), chunk or _chunk_size(int(np.prod(x.shape[1:])), self.steps, self.budget_bytes))
        values = np.empty_like(x)
        for start in range(0, len(x), chunk):
            end = min(start + chunk, len(x))
            values[start:end] = np.asarray(self._path_gradients(
                params, _padded(x[start:end], chunk), _padded(np.ascontiguousarray(baseline[start:end]), chunk),
                self.alphas, self.weights))[: end - start]
        return values

    def __call__(self, x: np.ndarray, baseline: np.ndarray, params=(), chunk: int | None = None) -> Attribution:
        """IG with its completeness error per sample."""
        x = np.asarray(x, dtype=np.float32)
        baseline = np.ascontiguousarray(np.broadcast_to(np.asarray(baseline, dtype=np.float32), x.shape))
        values = self.attributions(x, baseline, params, chunk)
        f_input, f_baseline = self.evaluate(x, params), self.evaluate(baseline, params)
        delta = values.reshape(len(x), -1).sum(axis=1) - (f_input - f_baseline)
        return Attribution(values, delta, f_input, f_baseline)

    def evaluate(self, x: np.ndarray, params=(), chunk: int = 64) -> np.ndarray:
        """F at every sample of x, in chunks of one size (one compile for every call)."""
        return np.concatenate([np.asarray(self._outputs(params, _padded(x[i : i + chunk], chunk)))[: len(x[i : i + chunk])]
                               for i in range(0, len(x), chunk)])

    def along_path(self, x: np.ndarray, baseline: np.ndarray, alphas: np.ndarray, params=()) -> np.ndarray:
        """F at x' + a (x - x') for each a: the curve of the paper's Figure 2."""
        x = np.asarray(x, dtype=np.float32)
        baseline = np.asarray(baseline, dtype=np.float32)
        path = baseline[None] + alphas.astype(np.float32).reshape(-1, *([1] * x.ndim)) * (x - baseline)[None]
        return self.evaluate(path, params)


def positive_probability(model) -> Callable:
    """F of the paper, the binary model's probability of its positive class, as F(params, x)
    with params = emo.models.model.model_weights(m) of any model m of this one's shape."""
    return lambda params, x: model.stateless_call(params[0], params[1], x, training=False)[0][:, 1]


MASKS = ("group_abs", "abs_sum")


def landmark_mask(values: np.ndarray, how: str = "abs_sum") -> np.ndarray:
    """One value per landmark from IG of landmark videos: [N, P, 2, L(, 1)] -> [N, L].

    'abs_sum' is the paper's mask: |IG| summed over frames and x/y. 'group_abs' takes the
    landmark's whole trajectory as one group: |sum of IG over frames and x/y|, the landmark's
    net share of F(x) - F(x') (completeness holds over the groups). A model that reads motion
    from the first frame ignores where a face sits, and so does 'group_abs'; 'abs_sum' also
    counts the cancelling frame-by-frame terms of two faces' different positions.
    """
    v = values[..., 0] if values.ndim == 5 else values
    if how == "abs_sum":
        return np.abs(v).sum(axis=(1, 2))
    if how == "group_abs":
        return np.abs(v.sum(axis=(1, 2)))
    raise ValueError(f"unknown mask {how!r}; use one of {MASKS}")
