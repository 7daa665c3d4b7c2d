import dataclasses

import numpy as np
import pytest

from emo.config import load_params
from emo.evaluation.metrics import binary_metrics
from emo.models.model import Architecture, build_model
from emo.models.training import binary_cross_entropy, fit_binary, fresh_model, model_input, one_hot
from tests.support import REPO
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
    X, positive = _tiny_training_data()
    train = dataclasses.replace(PARAMS.train, epochs=1, learning_rate=0.01, batch_size=8)
    for variant, should_change in (("remo", False), ("temo", True)):
        before = build_model(4, 16, Architecture(3, 4, 4), variant, PARAMS.model, seed=3)
        fitted = fit_binary(X[:16], positive[:16], X[16:], positive[16:], Architecture(3, 4, 4), variant, 3,
                            PARAMS.model, train)
        for layer, changes in (("conv", should_change), ("lstm", True)):
            old, new = before.get_layer(layer).get_weights(), fitted.model.get_layer(layer).get_weights()
            assert any(not np.array_equal(b, a) for b, a in zip(old, new)) == changes, (variant, layer)


def test_remo_random_convolution_is_seeded():
    a = build_model(4, 16, Architecture(3, 4, 4), "remo", PARAMS.model, seed=1).get_layer("conv").get_weights()[0]
    b = build_model(4, 16, Architecture(3, 4, 4), "remo", PARAMS.model, seed=1).get_layer("conv").get_weights()[0]
    c = build_model(4, 16, Architecture(3, 4, 4), "remo", PARAMS.model, seed=2).get_layer("conv").get_weights()[0]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_lstm_computes_what_keras_lstm_computes():
    import keras

    from emo.models.layers import LSTM

    x = np.random.default_rng(0).normal(size=(5, 7, 12)).astype(np.float32)
    ours, theirs = LSTM(6), keras.layers.LSTM(6)
    ours.build(x.shape)
    theirs.build(x.shape)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel", [(2, 1), (1, 3), (2, 2)])
def test_frame_convolution_computes_what_conv3d_computes(kernel):
    import keras

    from emo.models.layers import FrameConvolution

    x = np.random.default_rng(0).normal(size=(3, 4, 2, 10, 1)).astype(np.float32)
    ours = FrameConvolution(5, kernel, seed=3)
    theirs = keras.layers.Conv3D(5, (1, *kernel), activation="relu",
                                 kernel_initializer=keras.initializers.GlorotUniform(seed=3))
    ours.build(x.shape)
    theirs.build(x.shape)
    assert all(np.array_equal(a, b) for a, b in zip(ours.get_weights(), theirs.get_weights()))  # same initial draw
    theirs.set_weights([w + 0.1 for w in ours.get_weights()])  # a non-zero bias too
    ours.set_weights([w + 0.1 for w in ours.get_weights()])
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel", [(2, 1), (1, 3), (2, 2)])
def test_frame_convolution_gradient_is_conv3d_gradient(kernel):
    """Its hand-written gradient (inputs, kernel, bias) against automatic differentiation of Conv3D."""
    import keras
    from keras import ops

    from emo.models.backend import value_and_gradient
    from emo.models.layers import FrameConvolution

    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4, 2, 10, 1)).astype(np.float32)
    ours = FrameConvolution(5, kernel, seed=3)
    theirs = keras.layers.Conv3D(5, (1, *kernel), activation="relu")
    ours.build(x.shape)
    theirs.build(x.shape)
    weights = [w + 0.05 for w in ours.get_weights()]
    upstream = rng.normal(size=ours.compute_output_shape(x.shape)).astype(np.float32)

    def gradients(layer):
        def loss(inputs):
            x, kernel, bias = inputs
            y, _ = layer.stateless_call([kernel, bias], [], x)
            return ops.sum(y * upstream), None

        return [np.asarray(g) for g in value_and_gradient(loss)([x, *weights])[1]]

    for ours_g, theirs_g in zip(gradients(ours), gradients(theirs), strict=True):
        np.testing.assert_allclose(ours_g, theirs_g, rtol=1e-4, atol=1e-5)


def test_trainer_steps_equal_keras_train_on_batch():
    """Our compiled steps (Adam in keras.ops, loss, batch-norm and state handling) against
    Keras' own optimizer and train step on the same batches, including the batch that wraps
    round to the start and a call of fewer than STEPS_PER_CALL steps."""
    from emo.models.model import model_weights
    from emo.models.training import STEPS_PER_CALL

    X, y, _ = planted_landmarks(subjects=8, frames=4)
    X, positive = model_input(X[:40], np.arange(8, 24)), y[:40] == 2
    model_params = dataclasses.replace(PARAMS.model, dropout=0.0)  # dropout's random draws aside
    model, trainer = fresh_model(4, 16, Architecture(3, 4, 4), "temo", model_params, 0.01, 7, 16)
    keras_model = build_model(4, 16, Architecture(3, 4, 4), "temo", model_params, learning_rate=0.01, seed=7)
    keras_model.set_weights(model.get_weights())
    order = np.random.default_rng(1).permutation(40)
    state = (*model_weights(model), trainer.initial_slots)
    for _ in range(STEPS_PER_CALL // 3 + 1):  # 3 steps an epoch: whole calls and a part call
        state, loss, _ = trainer.epoch(state, X, one_hot(positive), np.ones(40, np.float32), order)
        for batch in np.resize(order, (3, 16)):
            keras_model.train_on_batch(X[batch], one_hot(positive[batch]))
    for ours, theirs in zip(state[0], keras_model.trainable_weights):
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-4, atol=1e-5)


def _fit(seed, X, positive, **kwargs):
    train = dataclasses.replace(PARAMS.train, epochs=3, patience=2, learning_rate=0.01)
    fitted = fit_binary(X[:16], positive[:16], X[16:], positive[16:], Architecture(3, 4, 4), "temo", seed,
                        PARAMS.model, train, **kwargs)
    return fitted.history, [w.copy() for w in fitted.model.get_weights()], fitted


def test_same_seed_same_numbers_even_when_a_compiled_trainer_is_reused():
    X, positive = _tiny_training_data()
    first = _fit(11, X, positive)
    other = _fit(12, X, positive)  # reuses the trainer compiled for the first run
    again = _fit(11, X, positive)
    assert first[0] == again[0]
    assert all(np.array_equal(a, b) for a, b in zip(first[1], again[1]))
    assert first[0] != other[0]


def test_models_of_one_shape_share_a_trainer_and_start_from_their_seed():
    a, trainer_a = fresh_model(4, 16, Architecture(2, 3, 3), "temo", PARAMS.model, 0.001, 5, 16)
    b, trainer_b = fresh_model(4, 16, Architecture(2, 3, 3), "temo", PARAMS.model, 0.001, 5, 16)
    c, trainer_c = fresh_model(4, 16, Architecture(2, 3, 3), "remo", PARAMS.model, 0.001, 5, 16)
    assert trainer_a is trainer_b and trainer_c is not trainer_a
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


def test_training_continues_from_given_weights():
    """What Hyperband's later rounds do: start from an earlier run's best weights."""
    X, positive = _tiny_training_data()
    _, _, first = _fit(11, X, positive)
    still = dataclasses.replace(PARAMS.train, epochs=1, learning_rate=1e-12)  # an epoch that cannot move them
    continued = fit_binary(X[:16], positive[:16], X[16:], positive[16:], Architecture(3, 4, 4), "temo", 11,
                           PARAMS.model, still, initial_state=first.state)
    assert continued.epochs == 1
    for a, b in zip(continued.state[0], first.state[0]):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
    fresh = fit_binary(X[:16], positive[:16], X[16:], positive[16:], Architecture(3, 4, 4), "temo", 11,
                       PARAMS.model, still)
    assert not all(np.allclose(np.asarray(a), np.asarray(b)) for a, b in zip(fresh.state[0], first.state[0]))


def test_continuing_from_a_state_equals_training_on():
    """Hyperband's later rounds: two epochs, then two more from the kept state, are the four
    epochs of one run (weights, batch-norm statistics, dropout seed, Adam's slots, shuffles)."""
    X, positive = _tiny_training_data()
    train = dataclasses.replace(PARAMS.train, epochs=4, patience=4, learning_rate=0.01)
    args = (X[:16], positive[:16], X[16:], positive[16:], Architecture(3, 4, 4), "temo", 11, PARAMS.model, train)
    first = fit_binary(*args, epochs=2)
    assert int(np.argmin(first.history["val_loss"])) == 1  # the kept state is the last epoch's
    continued = fit_binary(*args, epochs=2, initial_state=first.state, first_epoch=2)
    whole = fit_binary(*args)
    np.testing.assert_allclose(first.history["loss"] + continued.history["loss"], whole.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(continued.history["val_loss"], whole.history["val_loss"][2:], rtol=1e-5)


def test_early_stopping_keeps_the_best_epoch():
    X, positive = _tiny_training_data()
    history, _, fitted = _fit(11, X, positive)
    best = int(np.argmin(history["val_loss"]))
    p = fitted.positive_probability(X[16:])
    assert binary_cross_entropy(positive[16:], np.stack([1 - p, p], axis=1)) == pytest.approx(history["val_loss"][best],
                                                                                                 rel=1e-5)


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
