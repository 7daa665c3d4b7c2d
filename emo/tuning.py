"""The grid search over F, Q, R (Keras Tuner GridSearch), per emotion and landmark count.

One function, `grid_search`, serves the tune stage (all 468 landmarks) and retrain_k (each
emotion's top K). It trains T-EMO on partition 0's training part and scores it on its
validation part; the test part is never touched. Keras Tuner keeps each search's state
under `tune.directory`, in a project named after everything that shapes its numbers, so an
interrupted search resumes where it stopped and a changed setting starts afresh.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emo.augmentation import augment
from emo.config import TuneParams
from emo.dataset import LandmarkData, Partition
from emo.emotions import EMOTIONS
from emo.model import Architecture, build_model
from emo.training import TrainingContext, fit_binary, model_input, validation_scores

DIRECTION = {"val_loss": "min", "val_accuracy": "max", "val_auc": "max"}


@dataclass(frozen=True)
class SearchJob:
    emotion: int
    filters: tuple[int, ...]
    units: tuple[int, ...]
    neurons: tuple[int, ...]
    objective: str
    directory: str
    project: str
    landmarks: tuple[int, ...] | None = None  # subset of the 468; None = all
    partition: int = 0

    @property
    def k(self) -> int:
        return 468 if self.landmarks is None else len(self.landmarks)

    @property
    def size(self) -> int:
        return len(self.filters) * len(self.units) * len(self.neurons)


@dataclass
class SearchResult:
    job: SearchJob
    best: Architecture
    trials: list[dict]  # one row per grid point: F, Q, R, the validation scores, epochs, seconds


def search_job(
    emotion: int,
    tune: TuneParams,
    data: LandmarkData,
    partition: Partition,
    context: TrainingContext,
    landmarks: tuple[int, ...] | None = None,
    stage: str = "tune",
) -> SearchJob:
    """A search job whose project name digests the data, the grid and the training settings."""
    digest = hashlib.sha256()
    for part in (partition.train, partition.val):
        digest.update(np.ascontiguousarray(data.X[part]).tobytes())
        digest.update((data.y[part] == emotion).tobytes())
    settings = {"grid": [tune.filters, tune.units, tune.neurons, tune.objective], "model": asdict(context.model),
                "train": {k: v for k, v in asdict(context.train).items() if k != "workers"},
                "landmarks": landmarks, "seed": partition.seed}
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    k = 468 if landmarks is None else len(landmarks)
    return SearchJob(
        emotion=emotion, filters=tuple(tune.filters), units=tuple(tune.units), neurons=tuple(tune.neurons),
        objective=tune.objective, directory=str(tune.directory),
        project=f"{stage}-{EMOTIONS[emotion]}-K{k}-{digest.hexdigest()[:12]}", landmarks=landmarks,
    )


def resumable_grid_oracle(objective, seed: int):
    """Keras Tuner's GridSearchOracle, with the walk through the grid saved in its state.

    Keras Tuner 1.4.8 saves the trials but not the grid oracle's ordered list of them, so a
    search resumed in a new process fails with a KeyError (keras-team/keras-tuner#1055).
    """
    import keras_tuner
    from keras_tuner.src.tuners.gridsearch import LinkedList

    class ResumableGridSearchOracle(keras_tuner.oracles.GridSearchOracle):
        def get_state(self):
            order, index = [], self._ordered_ids._next_index[None]
            while index is not None:
                order.append(self._ordered_ids._memory[index])
                index = self._ordered_ids._next_index[index]
            return {**super().get_state(), "grid_order": order, "populate_next": list(self._populate_next)}

        def set_state(self, state):
            super().set_state(state)
            self._ordered_ids = LinkedList()
            for trial_id in state["grid_order"]:
                self._ordered_ids.insert(trial_id)
            self._populate_next = list(state["populate_next"])

    return ResumableGridSearchOracle(objective=objective, seed=seed)


def grid_search(job: SearchJob, data: LandmarkData, partitions: list[Partition], context: TrainingContext) -> SearchResult:
    """Run (or resume) one emotion's grid search and return every trial's scores."""
    import keras_tuner

    part = partitions[job.partition]
    subset = None if job.landmarks is None else np.asarray(job.landmarks)
    positive = data.y == job.emotion
    X_train, y_train = augment(data.X[part.train], positive[part.train], context.train.flip)
    X_train = model_input(X_train, subset)
    X_val, y_val = model_input(data.X[part.val], subset), positive[part.val]

    def hyperparameters(hp) -> Architecture:
        return Architecture(hp.Choice("filters", list(job.filters)), hp.Choice("units", list(job.units)),
                            hp.Choice("neurons", list(job.neurons)))

    def build(hp):
        return build_model(X_train.shape[1], X_train.shape[3], hyperparameters(hp), "temo", context.model,
                           context.train.learning_rate, part.seed)

    class LandmarkGridSearch(keras_tuner.Tuner):
        # Our own trial: train with early stopping, score the kept weights on validation.
        # It also skips Keras Tuner's per-trial checkpoint (megabytes per trial) and its
        # TensorBoard hook (which imports tensorboard in every trial).
        def run_trial(self, trial, *args, **kwargs):
            fitted = fit_binary(X_train, y_train, X_val, y_val, hyperparameters(trial.hyperparameters), "temo",
                                part.seed, context.model, context.train)
            scores = validation_scores(fitted, X_val, y_val)
            Path(self.get_trial_dir(trial.trial_id), "history.json").write_text(json.dumps(fitted.history))
            return {**scores, "epochs": float(fitted.epochs), "seconds": fitted.seconds}

    tuner = LandmarkGridSearch(
        oracle=resumable_grid_oracle(keras_tuner.Objective(job.objective, DIRECTION[job.objective]), part.seed),
        hypermodel=build,
        directory=job.directory,
        project_name=job.project,
        overwrite=False,
    )
    tuner.search(verbose=0)
    trials = []
    for trial in sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id):
        if trial.status != "COMPLETED":
            continue
        history_file = Path(tuner.get_trial_dir(trial.trial_id), "history.json")
        row = {**trial.hyperparameters.values,
               **{name: trial.metrics.get_last_value(name) for name in ("val_loss", "val_accuracy", "val_auc",
                                                                          "epochs", "seconds")},
               "trial": trial.trial_id,
               "history": json.loads(history_file.read_text()) if history_file.is_file() else {}}
        trials.append(row)
    best = tuner.oracle.get_best_trials(1)[0].hyperparameters.values
    return SearchResult(job, Architecture(best["filters"], best["units"], best["neurons"]), trials)


def trials_table(results: list[SearchResult]) -> pd.DataFrame:
    rows = []
    for r in results:
        for t in r.trials:
            chosen = (t["filters"], t["units"], t["neurons"]) == (r.best.filters, r.best.units, r.best.neurons)
            rows.append({"emotion": EMOTIONS[r.job.emotion], "K": r.job.k,
                         **{k: v for k, v in t.items() if k not in ("history", "trial")}, "chosen": chosen})
    return pd.DataFrame(rows)


def remove_search_state(results: list[SearchResult]) -> None:
    """Once a stage has written its outputs, its searches' resume state is no longer needed."""
    for r in results:
        shutil.rmtree(Path(r.job.directory) / r.job.project, ignore_errors=True)


def run_tune(params, landmarks_file: Path, splits_file: Path, out_dir: Path, progress: bool = True) -> pd.DataFrame:
    """The tune stage: a grid search per emotion at L = 468, written to out_dir/hparams.json."""
    from tqdm import tqdm

    from emo.dataset import load_landmarks, load_partitions, require_every_emotion
    from emo.files import atomic_dir, write_json
    from emo.tracking import stage_run
    from emo.training import run_many

    data = load_landmarks(landmarks_file)
    partitions = load_partitions(splits_file, len(data.y))
    require_every_emotion(data.y[partitions[0].train], f"the training part of partition 0 in {splits_file}")
    context = TrainingContext(landmarks_file, splits_file, params.model, params.train)
    jobs = [search_job(e, params.tune, data, partitions[0], context) for e in range(len(EMOTIONS))]
    with stage_run("tune", {"model": params.model, "train": params.train, "tune": params.tune}) as run:
        results = []
        with tqdm(total=len(jobs), desc="tune", unit="emotion", disable=not progress) as bar:
            for result in run_many(jobs, context, params.train.workers, task=grid_search):
                results.append(result)
                log_trials(run, result, data.frames)
                bar.set_postfix_str(f"{EMOTIONS[result.job.emotion]} done")
                bar.update()
        results.sort(key=lambda r: r.job.emotion)
        table = trials_table(results)
        with atomic_dir(out_dir) as tmp:
            write_json(tmp / "hparams.json", hparams_document(results))
            table.to_csv(tmp / "trials.csv", index=False)
        run.log_table(table, "trials")
    remove_search_state(results)
    return table


def hparams_document(results: list[SearchResult]) -> dict:
    return {
        "objective": results[0].job.objective,
        "K": results[0].job.k,
        "best": {EMOTIONS[r.job.emotion]: r.best.as_dict() for r in results},
        "trials": trials_table(results).to_dict(orient="records"),
    }


def log_trials(run, result: SearchResult, frames: int) -> None:
    """One MLflow child run per grid point, so the grid is browsable in `mlflow ui`."""
    emotion = EMOTIONS[result.job.emotion]
    for t in result.trials:
        arch = Architecture(t["filters"], t["units"], t["neurons"])
        run.child(
            f"{emotion}/K{result.job.k}/F{arch.filters}-Q{arch.units}-R{arch.neurons}",
            params={"emotion": emotion, "variant": "temo", "L": result.job.k, "P": frames, **arch.as_dict(),
                    "objective": result.job.objective},
            metrics={k: t[k] for k in ("val_loss", "val_accuracy", "val_auc", "epochs", "seconds")},
            history=t["history"],
            tags={"kind": "trial", "chosen": str(arch == result.best)},
        )


def load_hparams(path: Path) -> dict[str, Architecture]:
    from emo.errors import EmoError

    if not path.is_file():
        raise EmoError(f"{path} is missing; run `dvc repro tune` first.")
    best = json.loads(path.read_text())["best"]
    missing = [e for e in EMOTIONS if e not in best]
    if missing:
        raise EmoError(f"{path} has no hyperparameters for {', '.join(missing)}; rerun `dvc repro tune`.")
    return {e: Architecture(**best[e]) for e in EMOTIONS}
