import numpy as np
import pytest
from keras import ops

from emo.explanation.attribution import METHODS, IntegratedGradients, integration_points, landmark_mask


def integrated_gradients(model_fn, x, baseline, params=(), steps=50, method="riemann_right", chunk=None):
    """IG in one call: the pipeline keeps each IntegratedGradients for reuse, the tests build one each."""
    return IntegratedGradients(model_fn, steps, method)(x, baseline, params, chunk)


@pytest.mark.parametrize(
    "method,steps,alphas,weights",
    [
        ("riemann_right", 2, [0.5, 1.0], [0.5, 0.5]),
        ("riemann_right", 3, [1 / 3, 2 / 3, 1.0], [1 / 3, 1 / 3, 1 / 3]),
        ("trapezoid", 2, [0.0, 1.0], [0.5, 0.5]),
        ("trapezoid", 3, [0.0, 0.5, 1.0], [0.25, 0.5, 0.25]),
        ("gauss_legendre", 2, [0.5 - 0.5 / np.sqrt(3), 0.5 + 0.5 / np.sqrt(3)], [0.5, 0.5]),
        ("gauss_legendre", 3, [0.5 - 0.5 * np.sqrt(0.6), 0.5, 0.5 + 0.5 * np.sqrt(0.6)], [5 / 18, 8 / 18, 5 / 18]),
    ],
)
def test_integration_points_exact(method, steps, alphas, weights):
    a, w = integration_points(method, steps)
    np.testing.assert_allclose(a, alphas, atol=1e-12)
    np.testing.assert_allclose(w, weights, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_weights_integrate_polynomials(method):
    n = 40
    a, w = integration_points(method, n)
    assert np.sum(w) == pytest.approx(1.0, abs=1e-12)
    # The right Riemann sum is exact for constants only: its first moment is (n + 1) / 2n.
    assert np.sum(w * a) == pytest.approx((n + 1) / (2 * n) if method == "riemann_right" else 0.5, abs=1e-12)
    if method == "gauss_legendre":  # exact up to degree 2n - 1
        assert np.sum(w * a**3) == pytest.approx(0.25, abs=1e-12)


def test_unknown_method_and_bad_steps():
    with pytest.raises(ValueError, match="unknown integration method"):
        integration_points("simpson", 5)
    with pytest.raises(ValueError):
        integration_points("trapezoid", 1)


def _data(n=5, shape=(3, 2, 4)):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, *shape)).astype(np.float32), rng.normal(size=(n, *shape)).astype(np.float32)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("steps", [2, 7])
def test_linear_model_attribution_is_exact(method, steps):
    x, base = _data()
    w = np.random.default_rng(1).normal(size=x.shape[1:]).astype(np.float32)
    f = lambda w, t: ops.sum(t * w, axis=(1, 2, 3)) + 0.3  # noqa: E731
    result = integrated_gradients(f, x, base, w, steps=steps, method=method)
    np.testing.assert_allclose(result.values, (x - base) * w, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(result.delta, 0, atol=1e-4)


@pytest.mark.parametrize("kind", ["sigmoid", "product"])
def test_completeness_error_falls_with_steps(kind):
    x, base = _data(n=6, shape=(2, 3))
    w = 0.5 * np.random.default_rng(2).normal(size=x.shape[1:]).astype(np.float32)
    if kind == "sigmoid":
        f = lambda w, t: ops.sigmoid(ops.sum(t * w, axis=(1, 2)))  # noqa: E731
    else:
        f = lambda w, t: ops.prod(0.1 * t + 1.0, axis=(1, 2))  # noqa: E731
    errors = [np.abs(integrated_gradients(f, x, base, w, steps=m).delta).max() for m in (5, 20, 300)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-3


def test_baseline_equal_to_input_gives_zero():
    x, _ = _data()
    result = integrated_gradients(lambda _, t: ops.sum(ops.sin(t), axis=(1, 2, 3)), x, x, steps=10)
    assert np.all(result.values == 0)


def test_chunked_equals_unchunked_and_one_baseline_broadcasts():
    x, base = _data(n=7)
    f = lambda _, t: ops.tanh(ops.sum(t**2, axis=(1, 2, 3)) / 10)  # noqa: E731
    whole = integrated_gradients(f, x, base[0], steps=16, chunk=7)
    for chunk in (1, 2, 3):  # 3 leaves a part chunk, padded to the chunk's size
        part = integrated_gradients(f, x, base[0], steps=16, chunk=chunk)
        np.testing.assert_allclose(part.values, whole.values, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(part.delta, whole.delta, atol=1e-6)
    single = integrated_gradients(f, x[2:3], base[0], steps=16)
    np.testing.assert_allclose(single.values[0], whole.values[2], rtol=1e-6, atol=1e-7)


def test_landmark_mask_sums_abs_over_frames_and_coordinates():
    v = np.zeros((2, 3, 2, 4, 1), np.float32)
    v[0, 1, 0, 2, 0] = -2.0
    v[0, 2, 1, 2, 0] = 1.0
    v[1, 0, 0, 3, 0] = 0.5
    np.testing.assert_array_equal(landmark_mask(v), [[0, 0, 3, 0], [0, 0, 0, 0.5]])
