"""Training and evaluating the binary models, one at a time or many in parallel processes.

A run is fully described by a RunSpec (emotion, variant, partition, F/Q/R, landmark subset);
its numbers depend on nothing else, so runs can go to any worker in any order and a rerun
gives the same numbers on CPU.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emo.augmentation import augment
from emo.config import ModelParams, TrainParams
from emo.dataset import LandmarkData, Partition, load_landmarks, load_partitions
from emo.emotions import EMOTIONS
from emo.metrics import binary_metrics
from emo.model import Architecture, build_model
from emo.parallel import process_pool, worker_count

def model_input(X: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray:
    """[N, P, 2, 468] -> [N, P, 2, L, 1], gathering the landmark subset (no re-extraction)."""
    if landmarks is not None:
        X = X[..., landmarks]
    return np.ascontiguousarray(X[..., None], dtype=np.float32)


def one_hot(positive: np.ndarray) -> np.ndarray:
    positive = np.asarray(positive, dtype=np.int64)
    return np.eye(2, dtype=np.float32)[positive]


@dataclass
class Fitted:
    model: object  # keras.Model with the best epoch's weights
    history: dict[str, list[float]]
    seconds: float

    @property
    def epochs(self) -> int:
        return len(self.history["loss"])


_compiled: dict[tuple, object] = {}


def fresh_model(frames: int, landmarks: int, arch: Architecture, variant: str, model_params: ModelParams,
                learning_rate: float, seed: int):
    """A newly initialised model for this seed, reusing a model of the same shape built earlier in
    this process when there is one: its traced train, test and predict functions are kept and
    only its state is replaced (weights, batch-norm statistics, dropout seed state, optimizer
    slots). Tracing costs about 2 s a model; the reused model trains to the same numbers."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_model(frames, landmarks, arch, variant, model_params, learning_rate=learning_rate, seed=seed)
    key = (frames, landmarks, arch, variant, model_params, learning_rate)
    cached = _compiled.setdefault(key, model)
    if cached is not model:
        for target, source in zip(cached.variables, model.variables, strict=True):
            target.assign(source)
        for slot in cached.optimizer.variables:
            if not slot.path.endswith("learning_rate"):
                slot.assign(np.zeros(slot.shape, slot.dtype))
    return cached


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
) -> Fitted:
    """Train one binary model on model-ready inputs ([N, P, 2, L, 1]); early stopping on
    validation loss keeps the best epoch's weights."""
    import keras

    model = fresh_model(X_train.shape[1], X_train.shape[3], arch, variant, model_params,
                        train_params.learning_rate, seed)
    class_weight = None
    if train_params.class_weight == "balanced":
        share = float(np.mean(positive_train))
        class_weight = {0: 0.5 / (1 - share), 1: 0.5 / share}
    start = time.perf_counter()
    history = model.fit(
        X_train, one_hot(positive_train),
        validation_data=(X_val, one_hot(positive_val)),
        epochs=train_params.epochs,
        batch_size=train_params.batch_size,
        shuffle=True,
        class_weight=class_weight,
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=train_params.patience,
                                                 restore_best_weights=True)],
        verbose=0,
    )
    return Fitted(model, {k: [float(v) for v in vs] for k, vs in history.history.items()}, time.perf_counter() - start)


def predict_positive(model, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The positive-class probability; predict_on_batch per chunk, since Keras' predict() costs
    about 0.1 s of set-up per call, more than these models take for a whole test part."""
    return np.concatenate([np.asarray(model.predict_on_batch(X[i : i + batch_size]))[:, 1]
                           for i in range(0, len(X), batch_size)])


def validation_scores(fitted: Fitted, X_val: np.ndarray, positive_val: np.ndarray) -> dict[str, float]:
    """Scores of the kept weights on the validation part; any may be the tuner's objective."""
    p = predict_positive(fitted.model, X_val)
    m = binary_metrics(positive_val, p)
    best = int(np.argmin(fitted.history["val_loss"]))
    return {"val_loss": fitted.history["val_loss"][best], "val_accuracy": m["accuracy"], "val_auc": m["roc_auc"]}


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

    @property
    def k(self) -> int:
        return 468 if self.landmarks is None else len(self.landmarks)

    @property
    def name(self) -> str:
        return f"{EMOTIONS[self.emotion]}/{self.variant}/K{self.k}-{self.selection}/p{self.partition}"


@dataclass
class RunResult:
    spec: RunSpec
    seed: int
    metrics: dict[str, float]
    history: dict[str, list[float]]
    seconds: float
    parameters: int
    test_index: np.ndarray
    test_probability: np.ndarray
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        return len(self.history["loss"])

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / max(self.epochs, 1)


@dataclass(frozen=True)
class TrainingContext:
    """What every run needs besides its spec; workers load it once."""

    landmarks_file: Path
    splits_file: Path
    model: ModelParams
    train: TrainParams

    def load(self) -> tuple[LandmarkData, list[Partition]]:
        data = load_landmarks(self.landmarks_file)
        return data, load_partitions(self.splits_file, len(data.y))


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
    probability = predict_positive(fitted.model, X_test)
    start = time.perf_counter()  # the first call traced the predict step; time a second one
    predict_positive(fitted.model, X_test)
    inference_ms = (time.perf_counter() - start) * 1000 / len(X_test)
    if spec.save_to:
        Path(spec.save_to).parent.mkdir(parents=True, exist_ok=True)
        fitted.model.save(spec.save_to)
    return RunResult(
        spec=spec, seed=part.seed, metrics=binary_metrics(positive[part.test], probability),
        history=fitted.history, seconds=fitted.seconds, parameters=int(fitted.model.count_params()),
        test_index=part.test, test_probability=probability,
        extra={**validation_scores(fitted, X_val, y_val),
               "n_test_positive": int(positive[part.test].sum()), "inference_ms": inference_ms},
    )


_worker: dict = {}


def configure_tensorflow(single_threaded: bool) -> None:
    """Op determinism always (same seed, same numbers); one thread per process when the
    processes already fill the cores (these small models gain nothing from a second thread)."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # retracing notices for every new model's predict
    if single_threaded:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)
    tf.config.experimental.enable_op_determinism()


def _init_worker(context: TrainingContext, single_threaded: bool) -> None:
    configure_tensorflow(single_threaded)
    _worker["context"] = context
    _worker["data"], _worker["partitions"] = context.load()


def _run_in_worker(task, job):
    return task(job, _worker["data"], _worker["partitions"], _worker["context"])


def training_workers(requested: int, jobs: int) -> int:
    """`requested` processes; 0 means one per core, or a single one when TensorFlow sees a GPU."""
    if requested == 0:
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
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
