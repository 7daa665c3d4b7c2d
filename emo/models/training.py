"""Training and evaluating the binary models, one at a time or many in parallel processes.

A run is fully described by a RunSpec (emotion, variant, partition, F/Q/R, landmark subset);
its numbers depend on nothing else, so runs can go to any worker in any order and a rerun
gives the same numbers on CPU.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emo.config import ModelParams, TrainParams
from emo.data.dataset import LandmarkData, Partition, load_landmarks, load_partitions
from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.evaluation.metrics import binary_metrics
from emo.models.augmentation import augment
from emo.models.backend import compiled, configure, gpu_visible, use_backend, value_and_gradient
from emo.models.model import Architecture, build_model, model_weights, save_model, set_model_weights
from emo.parallel import process_pool, worker_count

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
            chunk = np.concatenate([chunk, np.zeros((S - n, B), dtype=chunk.dtype)])  # padding, never run
            *state, loss, hits = self._train_steps(*state, X[chunk], Y[chunk], W[chunk], np.int32(n))
            loss_sum += float(loss)
            correct += float(hits)
        return tuple(state), loss_sum / steps, correct / (steps * B)

    def probabilities(self, state: tuple, X: np.ndarray) -> np.ndarray:
        """[N, 2] class probabilities of inputs X under `state`'s weights."""
        out = []
        for first in range(0, len(X), PREDICT_CHUNK):
            chunk = X[first : first + PREDICT_CHUNK]
            padded = np.concatenate([chunk, np.zeros((PREDICT_CHUNK - len(chunk), *chunk.shape[1:]), chunk.dtype)])
            out.append(np.asarray(self._predict(state[0], state[1], padded))[: len(chunk)])
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


def fit_binary(
    X_train: np.ndarray,
    positive_train: np.ndarray,
    X_val: np.ndarray,
    positive_val: np.ndarray,
    arch: Architecture,
    variant: str,
    seed: int,
    model_params: ModelParams,
    train_params: TrainParams,
    epochs: int | None = None,
    initial_state: tuple | None = None,
    first_epoch: int = 0,
) -> Fitted:
    """Train one binary model on model-ready inputs ([N, P, 2, L, 1]) for `epochs` (default
    train.epochs); early stopping on validation loss keeps the best epoch's state. Given the
    state of an earlier run of this shape (weights, batch-norm statistics, dropout seed and
    Adam's slots: a Fitted.state) that ended before `first_epoch`, training goes on from it
    as if it had not stopped (the epochs' shuffles continue too)."""
    model, trainer = fresh_model(X_train.shape[1], X_train.shape[3], arch, variant, model_params,
                                 train_params.learning_rate, seed, train_params.batch_size)
    weights = np.ones(len(X_train), np.float32)
    if train_params.class_weight == "balanced":
        share = float(np.mean(positive_train))
        weights = np.where(positive_train, 0.5 / share, 0.5 / (1 - share)).astype(np.float32)
    Y = one_hot(positive_train)
    rng = np.random.default_rng(seed)
    for _ in range(first_epoch):
        rng.permutation(len(X_train))
    start = time.perf_counter()
    state = initial_state or (*model_weights(model), trainer.initial_slots)
    best, best_loss, waited = state, np.inf, 0
    patience = train_params.patience  # read once, whether or not early stopping comes to use it
    history: dict[str, list[float]] = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    for _ in range(train_params.epochs if epochs is None else epochs):
        state, loss, accuracy = trainer.epoch(state, X_train, Y, weights, rng.permutation(len(X_train)))
        p = trainer.probabilities(state, X_val)
        val_loss = binary_cross_entropy(positive_val, p)
        for key, value in (("loss", loss), ("accuracy", accuracy), ("val_loss", val_loss),
                           ("val_accuracy", float(np.mean((p[:, 1] > 0.5) == positive_val)))):
            history[key].append(value)
        if val_loss < best_loss:
            best, best_loss, waited = state, val_loss, 0
        else:
            waited += 1
            if waited >= patience:
                break
    set_model_weights(model, best)
    return Fitted(model, history, time.perf_counter() - start, trainer, best)


def validation_scores(fitted: Fitted, X_val: np.ndarray, positive_val: np.ndarray) -> dict[str, float]:
    """Scores of the kept weights on the validation part; any may be the tuner's objective."""
    m = binary_metrics(positive_val, fitted.positive_probability(X_val))
    return {"val_loss": fitted.val_loss, "val_accuracy": m["accuracy"], "val_auc": m["roc_auc"]}


# ------------------------------------------------------------------------ runs on partitions


@dataclass(frozen=True)
class RunSpec:
    emotion: int
    variant: str
    partition: int  # index into the partitions list
    arch: Architecture
    landmarks: tuple[int, ...] | None = None  # subset of the 468; None = all
    selection: str = "all"  # how the subset was chosen: all, top, random, bottom
    save_to: str | None = None  # .keras path, or None
    draw: int = 0  # which of a seed's random draws (selection 'random')

    @property
    def k(self) -> int:
        return N_LANDMARKS if self.landmarks is None else len(self.landmarks)

    @property
    def selection_name(self) -> str:
        return f"{self.selection}{self.draw}" if self.selection == "random" else self.selection

    @property
    def name(self) -> str:
        return f"{EMOTIONS[self.emotion]}/{self.variant}/K{self.k}-{self.selection_name}/p{self.partition}"


@dataclass
class RunResult:
    """One trained model's numbers; its fields and properties are named as the runs table's
    columns (emo.models.experiments.runs_table)."""

    spec: RunSpec
    seed: int
    metrics: dict[str, float]  # on the test part: emo.evaluation.metrics.METRICS
    history: dict[str, list[float]]
    seconds: float  # training
    parameters: int
    test_index: np.ndarray
    test_probability: np.ndarray
    val_loss: float  # the kept epoch's
    inference_ms: float  # per test sample
    n_test_positive: int

    @property
    def epochs(self) -> int:
        return len(self.history["loss"])

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / max(self.epochs, 1)

    @property
    def n_test(self) -> int:
        return len(self.test_index)


@dataclass(frozen=True)
class TrainingContext:
    """What every run needs besides its spec; workers load it once."""

    landmarks_file: Path
    splits_file: Path
    model: ModelParams
    train: TrainParams

    def load(self) -> tuple[LandmarkData, list[Partition]]:
        data = load_landmarks(self.landmarks_file)
        return data, load_partitions(self.splits_file, labels=data.y)


def training_inputs(data: LandmarkData, part: Partition, emotion: int, landmarks: tuple[int, ...] | None,
                    flip: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Model-ready (X_train, positive_train, X_val, positive_val) of one emotion on one partition."""
    subset = None if landmarks is None else np.asarray(landmarks)
    positive = data.y == emotion
    # Flip the full 468-landmark videos before gathering: a subset's mirror partners may lie outside it.
    X_train, y_train = augment(data.X[part.train], positive[part.train], flip)
    return model_input(X_train, subset), y_train, model_input(data.X[part.val], subset), positive[part.val]


def run_one(spec: RunSpec, data: LandmarkData, partitions: list[Partition], context: TrainingContext) -> RunResult:
    part = partitions[spec.partition]
    subset = None if spec.landmarks is None else np.asarray(spec.landmarks)
    positive = data.y == spec.emotion
    X_train, y_train, X_val, y_val = training_inputs(data, part, spec.emotion, spec.landmarks, context.train.flip)
    fitted = fit_binary(X_train, y_train, X_val, y_val, spec.arch, spec.variant, part.seed, context.model,
                        context.train)
    X_test = model_input(data.X[part.test], subset)
    start = time.perf_counter()
    probability = fitted.positive_probability(X_test)
    inference_ms = (time.perf_counter() - start) * 1000 / len(X_test)
    if spec.save_to:
        Path(spec.save_to).parent.mkdir(parents=True, exist_ok=True)
        save_model(fitted.model, spec.save_to)
    return RunResult(
        spec=spec, seed=part.seed, metrics=binary_metrics(positive[part.test], probability),
        history=fitted.history, seconds=fitted.seconds, parameters=int(fitted.model.count_params()),
        test_index=part.test, test_probability=probability, val_loss=fitted.val_loss, inference_ms=inference_ms,
        n_test_positive=int(positive[part.test].sum()),
    )


_worker: dict = {}


def _init_worker(context: TrainingContext, single_threaded: bool) -> None:
    use_backend(context.train.backend, single_threaded)
    configure(single_threaded)
    _worker["context"] = context
    _worker["data"], _worker["partitions"] = context.load()


def _run_in_worker(task, job):
    return task(job, _worker["data"], _worker["partitions"], _worker["context"])


def training_workers(requested: int, jobs: int) -> int:
    """`requested` processes; 0 means one per core, or a single one when the backend sees a GPU."""
    if requested == 0:
        if gpu_visible():
            return 1
    return worker_count(requested, jobs)


def run_many(jobs: list, context: TrainingContext, workers: int, task=run_one) -> Iterator:
    """Run task(job, data, partitions, context) for every job in a pool of processes, each
    holding the data once; yield the results as they finish."""
    n = training_workers(workers, len(jobs))
    with process_pool(n, _init_worker, (context, n > 1)) as pool:
        futures = [pool.submit(_run_in_worker, task, job) for job in jobs]
        for future in as_completed(futures):
            yield future.result()
