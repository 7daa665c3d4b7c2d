import dataclasses

import numpy as np
import pytest

from emo.config import load_params
from emo.model import Architecture, build_model
from emo.metrics import binary_metrics
from emo.training import fit_binary, fresh_model, model_input, one_hot
from tests.conftest import REPO
from tests.synthetic import planted_landmarks

PARAMS = load_params(REPO / "params.yaml")


def _expected_parameters(L, arch, kernel=(2, 1)):
    kh, kw = kernel
    F, Q, R = arch.filters, arch.units, arch.neurons
    conv = (kh * kw + 1) * F
    batch_norm = 4 * F
    lstm_input = F * (2 - kh + 1) * (L - kw + 1)
    lstm = 4 * Q * (lstm_input + Q + 1)
    return conv + batch_norm + lstm + (Q + 1) * R + (R + 1) * 2


@pytest.mark.parametrize("L", [468, 234, 128, 32, 16])
@pytest.mark.parametrize("variant", ["temo", "remo"])
def test_shapes_and_parameter_counts(L, variant):
    arch = Architecture(5, 7, 9)
    model = build_model(6, L, arch, variant, PARAMS.model)
    assert model.input_shape == (None, 6, 2, L, 1)
    assert model.output_shape == (None, 2)
    assert model.count_params() == _expected_parameters(L, arch)
    out = model.predict(np.random.default_rng(0).random((3, 6, 2, L, 1)).astype(np.float32), verbose=0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_other_kernel_sizes_count_right():
    model_params = dataclasses.replace(PARAMS.model, kernel=(1, 3))
    arch = Architecture(4, 8, 8)
    assert build_model(5, 64, arch, "temo", model_params).count_params() == _expected_parameters(64, arch, (1, 3))


def test_unknown_variant():
    with pytest.raises(ValueError, match="unknown variant"):
        build_model(4, 16, Architecture(2, 2, 2), "xemo", PARAMS.model)


def _tiny_training_data():
    X, y, _ = planted_landmarks(subjects=4, frames=4)
    positive = y == 2
    return model_input(X, np.arange(8, 24)), positive


def test_remo_convolution_stays_random_while_temo_learns():
    import keras

    X, positive = _tiny_training_data()
    for variant, should_change in (("remo", False), ("temo", True)):
        keras.utils.set_random_seed(3)
        model = build_model(4, 16, Architecture(3, 4, 4), variant, PARAMS.model, learning_rate=0.01, seed=3)
        before = [w.copy() for w in model.get_layer("conv").get_weights()]
        lstm_before = model.get_layer("lstm").get_weights()[0].copy()
        model.fit(X, one_hot(positive), epochs=1, batch_size=8, verbose=0)
        after = model.get_layer("conv").get_weights()
        changed = any(not np.array_equal(b, a) for b, a in zip(before, after))
        assert changed == should_change, variant
        assert not np.array_equal(lstm_before, model.get_layer("lstm").get_weights()[0])


def test_remo_random_convolution_is_seeded():
    a = build_model(4, 16, Architecture(3, 4, 4), "remo", PARAMS.model, seed=1).get_layer("conv").get_weights()[0]
    b = build_model(4, 16, Architecture(3, 4, 4), "remo", PARAMS.model, seed=1).get_layer("conv").get_weights()[0]
    c = build_model(4, 16, Architecture(3, 4, 4), "remo", PARAMS.model, seed=2).get_layer("conv").get_weights()[0]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def _fit(seed, X, positive):
    train = dataclasses.replace(PARAMS.train, epochs=3, patience=2, learning_rate=0.01)
    fitted = fit_binary(X[:16], positive[:16], X[16:], positive[16:], Architecture(3, 4, 4), "temo", seed,
                        PARAMS.model, train)
    return fitted.history, [w.copy() for w in fitted.model.get_weights()]


def test_same_seed_same_numbers_even_when_a_compiled_model_is_reused():
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    X, positive = _tiny_training_data()
    first = _fit(11, X, positive)
    other = _fit(12, X, positive)  # reuses the model compiled for the first run
    again = _fit(11, X, positive)
    assert first[0] == again[0]
    assert all(np.array_equal(a, b) for a, b in zip(first[1], again[1]))
    assert first[0] != other[0]


def test_fresh_model_reuse_returns_initial_state():
    a = fresh_model(4, 16, Architecture(2, 3, 3), "temo", PARAMS.model, 0.001, 5)
    initial = [v.numpy().copy() for v in a.variables]
    a.fit(np.ones((4, 4, 2, 16, 1), np.float32), one_hot(np.array([0, 1, 0, 1])), epochs=1, verbose=0)
    b = fresh_model(4, 16, Architecture(2, 3, 3), "temo", PARAMS.model, 0.001, 5)
    assert b is a
    assert all(np.array_equal(x, v.numpy()) for x, v in zip(initial, b.variables))
    assert int(b.optimizer.iterations.numpy()) == 0


def test_binary_metrics_on_known_values():
    positive = np.array([1, 0, 0, 0, 0, 1], bool)
    p = np.array([0.9, 0.2, 0.6, 0.1, 0.3, 0.4])
    m = binary_metrics(positive, p)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 0.75) / 2)
    assert m["f1"] == pytest.approx(0.5)
    assert m["roc_auc"] == pytest.approx(7 / 8)
    assert m["majority_accuracy"] == pytest.approx(4 / 6)
    assert np.isnan(binary_metrics(np.zeros(3, bool), np.array([0.1, 0.2, 0.3]))["roc_auc"])
