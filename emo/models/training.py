"""Training binary models: the compiled trainer of one shape, and many models of it per call.

Early-stopped training of models of one shape side by side in one compiled call (one model
alone, and every model under TensorFlow, through the single-model functions). What a run on
a partition is, and running many over processes, is emo.models.runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from emo.config import ModelParams, TrainParams
from emo.evaluation.metrics import binary_metrics
from emo.models.backend import batching_models, compiled, over_models, value_and_gradient
from emo.models.model import Architecture, build_model, model_weights, set_model_weights


def model_input(X: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray:
    """[N, P, 2, 468] -> [N, P, 2, L, 1], gathering the landmark subset (no re-extraction)."""
    if landmarks is not None:
        X = X[..., landmarks]
    return np.ascontiguousarray(X[..., None], dtype=np.float32)


def one_hot(positive: np.ndarray) -> np.ndarray:
    positive = np.asarray(positive, dtype=np.int64)
    return np.eye(2, dtype=np.float32)[positive]


STEPS_PER_CALL = 8  # training steps per compiled call
PREDICT_CHUNK = 64  # samples per compiled prediction call


def _padded(rows: np.ndarray, length: int) -> np.ndarray:
    """`rows` with rows of zeros appended up to `length`: the fixed shape of a compiled call
    (padded steps never run; padded samples' predictions are dropped)."""
    return np.concatenate([rows, np.zeros((length - len(rows), *rows.shape[1:]), rows.dtype)])


class Trainer:
    """Compiled training and prediction for every model of one shape.

    Keras' fit() costs set-up per call and per epoch (its validation pass alone added 35%
    to a demo epoch), and under JAX a new model compiles anew (6-12 s). Here the state
    (weights, batch-norm statistics, dropout seed, Adam's slots) lives in arrays passed in
    and out of two compiled functions, so every model of this shape (seed, variant,
    partition, grid trial) reuses them: `STEPS_PER_CALL` training steps per call, and
    predictions in fixed chunks, so that no data size ever triggers a new compile.
    Everything is Keras 3 (stateless_call, keras.ops); the gradient and the compiler come
    from emo.models.backend.
    """

    def __init__(self, model, batch_size: int):
        from keras import ops

        self.batch_size = batch_size
        loss_of, adam = model.loss, model.optimizer
        lr, b1, b2, eps = float(adam.learning_rate), adam.beta_1, adam.beta_2, adam.epsilon
        self.initial_slots = (np.zeros((), np.float32),
                              [np.zeros(v.shape, np.float32) for v in model.trainable_variables],
                              [np.zeros(v.shape, np.float32) for v in model.trainable_variables])

        def adam_step(trainable, slots, grads):
            # Keras' Adam (keras/src/optimizers/adam.py, update_step), stateless: Keras refuses
            # optimizer.stateless_apply under TensorFlow (for tf.distribute's sake), and
            # stateless updates are what let one compiled step serve every model of a shape.
            t, m, v = slots
            t = t + 1
            alpha = lr * ops.sqrt(1 - b2**t) / (1 - b1**t)
            m = [mi + (g - mi) * (1 - b1) for mi, g in zip(m, grads)]
            v = [vi + (ops.square(g) - vi) * (1 - b2) for vi, g in zip(v, grads)]
            trainable = [w - mi * alpha / (ops.sqrt(vi) + eps) for w, mi, vi in zip(trainable, m, v)]
            return trainable, (t, m, v)

        def loss(trainable, non_trainable, x, y, w):
            probs, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
            return loss_of(y, probs, sample_weight=w), (non_trainable, probs)

        gradient = value_and_gradient(loss)

        def train_steps(trainable, non_trainable, slots, X, Y, W, steps):
            def step(i, carry):
                trainable, non_trainable, slots, loss_sum, correct = carry
                (value, (non_trainable, probs)), grads = gradient(trainable, non_trainable, X[i], Y[i], W[i])
                trainable, slots = adam_step(trainable, slots, grads)
                hits = ops.sum(ops.cast(ops.argmax(probs, axis=-1) == ops.argmax(Y[i], axis=-1), "float32"))
                return trainable, non_trainable, slots, loss_sum + value, correct + hits

            zero = ops.zeros((), "float32")
            return ops.fori_loop(0, steps, step, (trainable, non_trainable, slots, zero, zero))

        def predict(trainable, non_trainable, x):
            return model.stateless_call(trainable, non_trainable, x, training=False)[0]

        self._train_steps = compiled(train_steps)
        self._predict = compiled(predict)
        if batching_models():  # compiled at the first batch of this shape, not before
            self._batch_train_steps = compiled(over_models(train_steps))
            self._batch_predict = compiled(over_models(predict))

    def batch_epoch(self, states: tuple, X: list[np.ndarray], Y: list[np.ndarray], W: list[np.ndarray],
                    orders: list[np.ndarray | None]) -> tuple[tuple, np.ndarray, np.ndarray]:
        """`epoch` for M models at once: `states` stacked over a leading model axis, model i
        passing over its own X[i] in orders[i] (None: it has stopped, its state stays as it
        is). The new states and each model's mean batch loss and accuracy."""
        B, S = self.batch_size, STEPS_PER_CALL
        steps = np.array([0 if o is None else -(-len(o) // B) for o in orders])
        index = [None if o is None else np.resize(o, (n, B)) for o, n in zip(orders, steps)]
        loss_sum, correct = np.zeros(len(X)), np.zeros(len(X))
        for first in range(0, int(steps.max(initial=0)), S):
            n = np.clip(steps - first, 0, S).astype(np.int32)
            chunks = [np.zeros((S, B), np.int64) if i is None else _padded(i[first: first + S], S) for i in index]
            *states, loss, hits = self._batch_train_steps(
                *states, *(np.stack([a[c] for a, c in zip(arrays, chunks)]) for arrays in (X, Y, W)), n)
            loss_sum += np.asarray(loss, np.float64)
            correct += np.asarray(hits, np.float64)
        done = np.maximum(steps, 1)
        return tuple(states), loss_sum / done, correct / (done * B)

    def batch_probabilities(self, states: tuple, X: list[np.ndarray]) -> list[np.ndarray]:
        """`probabilities` of M stacked models, model i's of its own inputs X[i]."""
        out: list[list[np.ndarray]] = [[] for _ in X]
        for first in range(0, max(len(x) for x in X), PREDICT_CHUNK):
            chunks = [x[first: first + PREDICT_CHUNK] for x in X]
            padded = np.stack([_padded(c, PREDICT_CHUNK) for c in chunks])
            p = np.asarray(self._batch_predict(states[0], states[1], padded))
            for i, c in enumerate(chunks):
                out[i].append(p[i, : len(c)])
        return [np.concatenate(o) for o in out]

    def epoch(self, state: tuple, X: np.ndarray, Y: np.ndarray, W: np.ndarray,
              order: np.ndarray) -> tuple[tuple, float, float]:
        """One pass over the samples in `order` (wrapped round to whole batches); the new
        state, the mean batch loss and the accuracy on the batches."""
        B, S = self.batch_size, STEPS_PER_CALL
        steps = -(-len(order) // B)
        index = np.resize(order, (steps, B))
        loss_sum = correct = 0.0
        for first in range(0, steps, S):
            chunk = index[first : first + S]
            n = len(chunk)
            chunk = _padded(chunk, S)  # the padded steps never run
            *state, loss, hits = self._train_steps(*state, X[chunk], Y[chunk], W[chunk], np.int32(n))
            loss_sum += float(loss)
            correct += float(hits)
        return tuple(state), loss_sum / steps, correct / (steps * B)

    def probabilities(self, state: tuple, X: np.ndarray) -> np.ndarray:
        """[N, 2] class probabilities of inputs X under `state`'s weights."""
        out = []
        for first in range(0, len(X), PREDICT_CHUNK):
            chunk = X[first : first + PREDICT_CHUNK]
            out.append(np.asarray(self._predict(state[0], state[1], _padded(chunk, PREDICT_CHUNK)))[: len(chunk)])
        return np.concatenate(out) if out else np.zeros((0, 2), np.float32)


@dataclass
class Fitted:
    model: object  # keras.Model with the best epoch's weights
    history: dict[str, list[float]]
    seconds: float
    trainer: Trainer
    state: tuple  # the best epoch's trainable and non-trainable weights and optimizer slots

    @property
    def epochs(self) -> int:
        return len(self.history["loss"])

    @property
    def val_loss(self) -> float:
        """The kept (best) epoch's validation loss."""
        return self.history["val_loss"][int(np.argmin(self.history["val_loss"]))]

    def positive_probability(self, X: np.ndarray) -> np.ndarray:
        return self.trainer.probabilities(self.state, X)[:, 1]


_trainers: dict[tuple, Trainer] = {}


def fresh_model(frames: int, landmarks: int, arch: Architecture, variant: str, model_params: ModelParams,
                learning_rate: float, seed: int, batch_size: int):
    """A newly initialised model for this seed, and the Trainer of its shape (compiled at the
    first model of that shape in this process)."""
    model = build_model(frames, landmarks, arch, variant, model_params, learning_rate=learning_rate, seed=seed)
    key = (frames, landmarks, arch, variant, model_params, learning_rate, batch_size)
    if key not in _trainers:
        _trainers[key] = Trainer(model, batch_size)
    return model, _trainers[key]


def binary_cross_entropy(positive: np.ndarray, probabilities: np.ndarray) -> float:
    """Keras' binary cross-entropy of the 2-way softmax output against one-hot labels."""
    eps = 1e-7  # Keras' epsilon: probabilities are clipped to [eps, 1 - eps]
    y = one_hot(positive).astype(np.float64)
    p = np.clip(probabilities.astype(np.float64), eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


@dataclass(frozen=True)
class BinaryTask:
    """One binary model's training data, model-ready ([N, P, 2, L, 1]), and its seed."""

    X_train: np.ndarray
    positive_train: np.ndarray
    X_val: np.ndarray
    positive_val: np.ndarray
    seed: int


def sample_weights(positive: np.ndarray, class_weight: str) -> np.ndarray:
    if class_weight != "balanced":
        return np.ones(len(positive), np.float32)
    share = float(np.mean(positive))
    return np.where(positive, 0.5 / share, 0.5 / (1 - share)).astype(np.float32)


def _stacked(states: list) -> tuple:
    import keras

    return keras.tree.map_structure(lambda *values: np.stack([np.asarray(v) for v in values]), *states)


def _model_state(states: tuple, i: int) -> tuple:
    import keras

    return keras.tree.map_structure(lambda values: np.asarray(values[i]), states)


def _kept(improved: np.ndarray, states: tuple, best: tuple) -> tuple:
    """Per model, the new state where it improved, else its best so far."""
    import keras

    def where(new, old):
        new = np.asarray(new)
        return np.where(improved.reshape(-1, *[1] * (new.ndim - 1)), new, old)

    return keras.tree.map_structure(where, states, best)


def fit_binaries(tasks: list[BinaryTask], arch: Architecture, variant: str, model_params: ModelParams,
                 train_params: TrainParams, epochs: int | None = None, initial_states: list[tuple] | None = None,
                 first_epoch: int = 0) -> list[Fitted]:
    """Train one binary model per task, all of one shape, for `epochs` (default train.epochs)
    with early stopping on each one's validation loss (each keeps its best epoch's state).

    Under JAX, two or more models train side by side in one compiled call per 8 steps (the
    Trainer's batch_* functions: `jax.vmap` over stacked states), each with its own data,
    order, validation and stopping; a stopped model is masked and keeps its state. Alone or
    under TensorFlow, a model trains through the Trainer's single-model functions. Batched,
    a model's numbers match the same model trained alone within floating-point noise (see
    tests/test_batched_training.py), not bit for bit: XLA fuses a batched call otherwise.

    Given the states of earlier runs of this shape (Fitted.state) that ended before
    `first_epoch`, training goes on from them as if it had not stopped (shuffles included)."""
    if len(tasks) > 1 and not batching_models():
        return [fit_binaries([t], arch, variant, model_params, train_params, epochs,
                             None if initial_states is None else [s], first_epoch)[0]
                for t, s in zip(tasks, initial_states or [None] * len(tasks))]
    frames, landmarks = tasks[0].X_train.shape[1], tasks[0].X_train.shape[3]
    built = [fresh_model(frames, landmarks, arch, variant, model_params, train_params.learning_rate, t.seed,
                         train_params.batch_size) for t in tasks]
    trainer = built[0][1]
    X = [t.X_train for t in tasks]
    Y = [one_hot(t.positive_train) for t in tasks]
    W = [sample_weights(t.positive_train, train_params.class_weight) for t in tasks]
    rngs = [np.random.default_rng(t.seed) for t in tasks]
    for rng, x in zip(rngs, X):
        for _ in range(first_epoch):
            rng.permutation(len(x))
    start = time.perf_counter()
    states = initial_states or [(*model_weights(model), trainer.initial_slots) for model, _ in built]
    single = len(tasks) == 1
    best = _stacked(states)  # host copies: the compiled calls never write to their inputs
    state = states[0] if single else best
    best_loss, waited = np.full(len(tasks), np.inf), np.zeros(len(tasks), int)
    running = np.ones(len(tasks), bool)
    patience = train_params.patience  # read once, whether or not early stopping comes to use it
    histories = [{"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []} for _ in tasks]
    for _ in range(train_params.epochs if epochs is None else epochs):
        if not running.any():
            break
        orders = [rng.permutation(len(x)) if go else None for rng, x, go in zip(rngs, X, running)]
        if single:
            state, loss, accuracy = trainer.epoch(state, X[0], Y[0], W[0], orders[0])
            losses, accuracies = [loss], [accuracy]
            probabilities = [trainer.probabilities(state, tasks[0].X_val)]
        else:
            state, losses, accuracies = trainer.batch_epoch(state, X, Y, W, orders)
            probabilities = trainer.batch_probabilities(state, [t.X_val for t in tasks])
        improved = np.zeros(len(tasks), bool)
        for i in np.flatnonzero(running):
            p, truth = probabilities[i], tasks[i].positive_val
            val_loss = binary_cross_entropy(truth, p)
            for key, value in (("loss", float(losses[i])), ("accuracy", float(accuracies[i])), ("val_loss", val_loss),
                               ("val_accuracy", float(np.mean((p[:, 1] > 0.5) == truth)))):
                histories[i][key].append(value)
            if val_loss < best_loss[i]:
                improved[i], best_loss[i], waited[i] = True, val_loss, 0
            else:
                waited[i] += 1
                running[i] = waited[i] < patience
        if improved.any():
            best = _kept(improved, _stacked([state]) if single else state, best)
    seconds = (time.perf_counter() - start) / len(tasks)  # a batch's time, shared out
    fitted = []
    for i, ((model, _), history) in enumerate(zip(built, histories)):
        kept = _model_state(best, i)
        set_model_weights(model, kept)
        fitted.append(Fitted(model, history, seconds, trainer, kept))
    return fitted


def fit_binary(X_train: np.ndarray, positive_train: np.ndarray, X_val: np.ndarray, positive_val: np.ndarray,
               arch: Architecture, variant: str, seed: int, model_params: ModelParams, train_params: TrainParams,
               epochs: int | None = None, initial_state: tuple | None = None, first_epoch: int = 0) -> Fitted:
    """One binary model (fit_binaries of one task)."""
    return fit_binaries([BinaryTask(X_train, positive_train, X_val, positive_val, seed)], arch, variant, model_params,
                        train_params, epochs, None if initial_state is None else [initial_state], first_epoch)[0]


def validation_scores(fitted: Fitted, X_val: np.ndarray, positive_val: np.ndarray) -> dict[str, float]:
    """Scores of the kept weights on the validation part; any may be the tuner's objective."""
    m = binary_metrics(positive_val, fitted.positive_probability(X_val))
    return {"val_loss": fitted.val_loss, "val_accuracy": m["accuracy"], "val_auc": m["roc_auc"]}
