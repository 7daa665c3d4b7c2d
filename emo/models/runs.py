"""Training runs on partitions: what a run is and gives, and many runs in batches over processes.

A RunSpec says what to train, a RunResult what it gave; runs of one shape train together in
batches (emo.models.batches) spread over processes.

A run is fully described by a RunSpec (emotion, variant, partition, F/Q/R, landmark subset);
its numbers depend on nothing else but, within floating-point noise, the batch it trains in
(fixed by the run list and train.budget_mb), so batches can go to any worker in any order
and a rerun gives the same numbers on CPU.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emo.config import ModelParams, TrainParams, TrainTimelineParams
from emo.data.dataset import LandmarkData, Partition, load_landmarks, load_partitions
from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.evaluation.metrics import binary_metrics
from emo.models.augmentation import augment
from emo.models.backend import configure, gpu_visible, use_backend
from emo.models.batches import call_size, model_batches
from emo.models.model import Architecture, save_model
from emo.models.training import BinaryTask, Fitted, fit_binaries, model_input
from emo.models.windows import timeline_windows
from emo.parallel import process_pool, worker_count


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
    windows: TrainTimelineParams | None = None  # the timeline's models: clips and timeline-like windows

    def load(self) -> tuple[LandmarkData, list[Partition]]:
        data = load_landmarks(self.landmarks_file)
        return data, load_partitions(self.splits_file, labels=data.y)


def training_inputs(data: LandmarkData, part: Partition, emotion: int, landmarks: tuple[int, ...] | None,
                    flip: str, windows: TrainTimelineParams | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Model-ready (X_train, positive_train, X_val, positive_val) of one emotion on one partition;
    with `windows`, each part's clips are joined by timeline-like windows made from them."""
    subset = None if landmarks is None else np.asarray(landmarks)
    positive = data.y == emotion
    # Flip the full 468-landmark videos before gathering: a subset's mirror partners may lie outside it.
    X_train, y_train = augment(data.X[part.train], positive[part.train], flip)
    X_val, y_val = data.X[part.val], positive[part.val]
    if windows is not None:
        X_train, y_train = _with_windows(X_train, y_train, windows, part.seed)
        X_val, y_val = _with_windows(X_val, y_val, windows, part.seed + 1)
    return model_input(X_train, subset), y_train, model_input(X_val, subset), y_val


def _with_windows(X: np.ndarray, positive: np.ndarray, windows: TrainTimelineParams, seed: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    extra, labels = timeline_windows(X, positive, windows.windows, windows.jitter, seed)
    return np.concatenate([X, extra]), np.concatenate([positive, labels])


def run_batch(specs: list[RunSpec], data: LandmarkData, partitions: list[Partition],
              context: TrainingContext) -> list[RunResult]:
    """Train runs of one shape together (fit_binaries), each on its own partition, and
    score each on its partition's test part."""
    tasks = [BinaryTask(*training_inputs(data, partitions[s.partition], s.emotion, s.landmarks, context.train.flip,
                                         context.windows), seed=partitions[s.partition].seed) for s in specs]
    fitted = fit_binaries(tasks, specs[0].arch, specs[0].variant, context.model, context.train)
    return [_scored(spec, f, data, partitions[spec.partition]) for spec, f in zip(specs, fitted)]


def _scored(spec: RunSpec, fitted: Fitted, data: LandmarkData, part: Partition) -> RunResult:
    positive = data.y == spec.emotion
    X_test = model_input(data.X[part.test], None if spec.landmarks is None else np.asarray(spec.landmarks))
    # A model trained in a batch has not yet called the single-model prediction, which
    # compiles at its first call in this process: keep that out of the inference time.
    fitted.positive_probability(X_test[:1])
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


def spec_batches(jobs: list, frames: int, train: TrainParams, spec_of: Callable = lambda job: job) -> list[list]:
    """Runs (or what holds one: spec_of(job)) in batches of one shape (L, F/Q/R, variant), as
    many per batch as one training call holds (emo.models.batches)."""
    return model_batches(jobs, lambda job: (spec_of(job).k, spec_of(job).arch, spec_of(job).variant),
                         lambda job: call_size(frames, spec_of(job).k, spec_of(job).arch, train))


def run_batches(specs: list[RunSpec], context: TrainingContext, frames: int, workers: int) -> Iterator[RunResult]:
    """Train every spec, models of one shape together in batches (spec_batches) spread over
    `workers` processes; yield the results as their batches finish."""
    for results in run_many(spec_batches(specs, frames, context.train), context, workers, task=run_batch):
        yield from results


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


@contextlib.contextmanager
def training_pool(context: TrainingContext, workers: int) -> Iterator[Callable[[list, Callable], Iterator]]:
    """`workers` processes, each holding the data once, kept for many rounds of jobs: yields
    run(jobs, task), which runs task(job, data, partitions, context) for every job and yields
    the results as they finish."""
    with process_pool(workers, _init_worker, (context, workers > 1)) as pool:
        def run(jobs: list, task: Callable) -> Iterator:
            futures = [pool.submit(_run_in_worker, task, job) for job in jobs]
            for future in as_completed(futures):
                yield future.result()

        yield run


def run_many(jobs: list, context: TrainingContext, workers: int, task) -> Iterator:
    """Run task(job, data, partitions, context) for every job in a pool of processes, each
    holding the data once; yield the results as they finish."""
    with training_pool(context, training_workers(workers, len(jobs))) as run:
        yield from run(jobs, task)
