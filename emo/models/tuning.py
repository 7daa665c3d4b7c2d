"""The search over F, Q, R per emotion and landmark count: Keras Tuner, exhaustive grid or Hyperband.

One function, `search`, serves the tune stage (all 468 landmarks) and retrain_k (each
emotion's top K). It trains T-EMO on partition 0's training part and scores it on its
validation part; the test part is never touched. `tune.strategy: grid` trains every
combination of the F, Q, R lists for train.epochs (the paper); `hyperband` is Keras Tuner's
Hyperband oracle over the same lists with train.epochs as its largest budget: it trains
many combinations for a few epochs and continues the best ones from their weights. Keras
Tuner keeps each search's state under `tune.directory`, in a project named after everything
that shapes its numbers, so an interrupted search resumes where it stopped and a changed
setting starts afresh.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emo.config import TuneParams
from emo.data.dataset import LandmarkData, Partition
from emo.data.emotions import EMOTIONS
from emo.models.model import Architecture, build_model
from emo.models.training import TrainingContext, fit_binary, training_inputs, validation_scores

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
    strategy: str = "grid"
    factor: int = 3  # Hyperband's reduction factor

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
    trials: list[dict]  # one row per trial: F, Q, R, the validation scores, epochs, seconds (and Hyperband's round)


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
    settings = {"grid": [tune.filters, tune.units, tune.neurons, tune.objective],
                "strategy": [tune.strategy, tune.factor] if tune.strategy == "hyperband" else "grid",
                "model": asdict(context.model),
                "train": {k: v for k, v in asdict(context.train).items() if k != "workers"},
                "landmarks": landmarks, "seed": partition.seed}
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    k = 468 if landmarks is None else len(landmarks)
    return SearchJob(
        emotion=emotion, filters=tuple(tune.filters), units=tuple(tune.units), neurons=tuple(tune.neurons),
        objective=tune.objective, directory=str(tune.directory),
        project=f"{stage}-{EMOTIONS[emotion]}-K{k}-{digest.hexdigest()[:12]}", landmarks=landmarks,
        strategy=tune.strategy, factor=tune.factor,
    )


def job_oracle(job: SearchJob, index: int, objective, max_epochs: int):
    """The oracle of one job's search: every combination of its F, Q, R values (grid), or Keras
    Tuner's Hyperband over the same values. Its space holds the job's index as a fixed value,
    so that several jobs' oracles can serve one tuner (`jobs_oracle`)."""
    import keras_tuner

    space = keras_tuner.HyperParameters()
    space.Fixed("job", index)
    space.Choice("filters", list(job.filters))
    space.Choice("units", list(job.units))
    space.Choice("neurons", list(job.neurons))
    seed = int(hashlib.sha256(job.project.encode()).hexdigest()[:8], 16)
    if job.strategy == "hyperband":
        return hyperband_oracle(objective, max_epochs, job.factor, seed, space)
    return grid_oracle(objective, seed, space)


def grid_points(space) -> list[dict]:
    """Every combination of a space's values, in grid order (the last value changing fastest,
    as Keras Tuner's GridSearch goes)."""
    import itertools

    hps = space.space
    return [{hp.name: v for hp, v in zip(hps, combination)}
            for combination in itertools.product(*(getattr(hp, "values", None) or [hp.value] for hp in hps))]


def grid_oracle(objective, seed: int, space):
    """A Keras Tuner oracle that hands out every combination of the space's values once, in
    grid order.

    Keras Tuner 1.4.8's own GridSearchOracle derives each combination from a finished trial
    through a linked list that it does not save, so a search resumed in a new process fails
    (keras-team/keras-tuner#1055), and in distributed mode its workers mostly wait for one
    another. Here the state is the trials alone: a restarted search continues from them, and
    N workers run N trials at once.
    """
    import keras_tuner

    points = grid_points(space)

    class GridOracle(keras_tuner.Oracle):
        def populate_space(self, trial_id):
            for values in points:
                if not self._duplicate(values):  # the values of every trial handed out so far
                    return {"status": "RUNNING", "values": dict(values)}
            # Everything is handed out; workers still training finish their trials before the chief ends.
            return {"status": "STOPPED", "values": None}

    return GridOracle(objective=objective, seed=seed, hyperparameters=space, tune_new_entries=False)


def hyperband_oracle(objective, max_epochs: int, factor: int, seed: int, space):
    """Keras Tuner's HyperbandOracle, fitted to a finite grid.

    Keras Tuner sizes each bracket for an unbounded space: on a 6-point grid its first bracket
    waits for 9 first-round trials, gets 6, and ends with none continued. Here no round asks
    for more trials than the grid has points (the grid's size over factor^round), and a
    random draw that keeps hitting tried points falls back to the first untried one in grid
    order (Keras Tuner gives up after 20 collisions, ending a round early)."""
    import math

    import keras_tuner

    points = grid_points(space)

    class GridHyperbandOracle(keras_tuner.oracles.HyperbandOracle):
        def _get_size(self, bracket_num, round_num):
            return min(super()._get_size(bracket_num, round_num), math.ceil(len(points) / self.factor**round_num))

        def _random_values(self):
            values = super()._random_values()
            return values if values is not None else next((dict(p) for p in points if not self._duplicate(p)), None)

    return GridHyperbandOracle(objective=objective, max_epochs=max_epochs, factor=factor, seed=seed,
                               hyperparameters=space, tune_new_entries=False)


def jobs_oracle(objective, oracles: list):
    """One Keras Tuner oracle serving several jobs' independent searches (one per emotion and
    K): each trial is taken from the first job whose own oracle has one to give, and its
    result goes back to that oracle. In Keras Tuner's distributed mode one oracle serves all
    workers; through this one they take trials of any job, so none waits while one job's
    Hyperband round waits for its last trials. The jobs' oracles keep their state (Hyperband's
    brackets) inside this one's saved state, so an interrupted search resumes."""
    import keras_tuner

    class JobsOracle(keras_tuner.Oracle):
        def __init__(self):
            super().__init__(objective=objective, seed=1)
            self.jobs = oracles

        def populate_space(self, trial_id):
            waiting = False
            for oracle in self.jobs:
                response = oracle.populate_space(trial_id)
                if response["status"] == "RUNNING":
                    return response
                waiting |= response["status"] == "IDLE"
            return {"status": "IDLE" if waiting else "STOPPED", "values": None}

        @keras_tuner.synchronized
        def create_trial(self, tuner_id):
            trial = super().create_trial(tuner_id)
            if trial.status == "RUNNING":  # the job's oracle learns of it as if it had made it
                oracle = self.jobs[trial.hyperparameters.values["job"]]
                oracle.trials[trial.trial_id] = trial
                oracle.ongoing_trials[tuner_id] = trial
                oracle._record_values(trial)  # what its random draws must not repeat
            return trial

        @keras_tuner.synchronized
        def end_trial(self, trial):
            super().end_trial(trial)  # scores the trial object that the job's oracle shares
            oracle = self.jobs[self.trials[trial.trial_id].hyperparameters.values["job"]]
            oracle.ongoing_trials = {k: t for k, t in oracle.ongoing_trials.items() if t.trial_id != trial.trial_id}

        def get_state(self):
            return {**super().get_state(), "jobs": [oracle.get_state() for oracle in self.jobs]}

        def set_state(self, state):
            super().set_state(state)
            for i, (oracle, job_state) in enumerate(zip(self.jobs, state["jobs"], strict=True)):
                oracle.trials = {k: t for k, t in self.trials.items() if t.hyperparameters.values["job"] == i}
                oracle.set_state(job_state)

    return JobsOracle()


def distributed_role() -> str | None:
    """'chief' or 'worker' when Keras Tuner's distributed variables are set, else None."""
    from keras_tuner.src.distribute import utils

    if not utils.has_chief_oracle():
        return None
    return "chief" if utils.is_chief_oracle() else "worker"


def best_trial(trials: list[dict], job: SearchJob) -> dict:
    """The best trial by the objective; ties go to the earlier point of the grid (then the
    earlier trial), so that every way of running the search picks the same one."""
    sign = 1 if DIRECTION[job.objective] == "min" else -1

    def key(t):
        score = t[job.objective]
        return (score != score, sign * score if score == score else 0.0, job.filters.index(t["filters"]),
                job.units.index(t["units"]), job.neurons.index(t["neurons"]))

    return min(trials, key=key)


HYPERBAND_COLUMNS = {"tuner/round": "round", "tuner/bracket": "bracket", "tuner/epochs": "epoch_budget",
                     "tuner/trial_id": "continues"}


def _run_search(jobs: list[SearchJob], project: str, directory: str, data: LandmarkData,
                partitions: list[Partition], context: TrainingContext) -> list[SearchResult] | None:
    """One Keras Tuner search over every job (each with its own grid or Hyperband oracle), run
    or resumed; every job's trials and winner.

    In Keras Tuner's distributed mode this process is the chief (it serves the trials to the
    workers and returns the results) or a worker (it trains the trials it is given and returns
    None); otherwise it trains every trial itself."""
    import keras_tuner

    first = jobs[0]
    objective = keras_tuner.Objective(first.objective, DIRECTION[first.objective])
    prepared: dict[int, tuple] = {}

    def data_for(i: int) -> tuple:
        if i not in prepared:
            job = jobs[i]
            part = partitions[job.partition]
            prepared[i] = (*training_inputs(data, part, job.emotion, job.landmarks, context.train.flip), part.seed)
        return prepared[i]

    def hyperparameters(hp) -> tuple[int, Architecture]:
        i = hp.Choice("job", list(range(len(jobs))))
        return i, Architecture(hp.Choice("filters", list(first.filters)), hp.Choice("units", list(first.units)),
                               hp.Choice("neurons", list(first.neurons)))

    def build(hp):
        i, arch = hyperparameters(hp)
        X_train, _, _, _, seed = data_for(i)
        return build_model(X_train.shape[1], X_train.shape[3], arch, "temo", context.model,
                           context.train.learning_rate, seed)

    class LandmarkSearch(keras_tuner.Tuner):
        # Our own trial: train with early stopping, score the kept weights on validation.
        # It also skips Keras Tuner's per-trial checkpoint (megabytes per trial) and its
        # TensorBoard hook (which imports tensorboard in every trial).
        def run_trial(self, trial, *args, **kwargs):
            values = trial.hyperparameters.values
            i, arch = hyperparameters(trial.hyperparameters)
            X_train, y_train, X_val, y_val, seed = data_for(i)
            # Hyperband continues a trial of the previous round from its state; if that is not on
            # this machine (tune.directory not shared), it trains afresh to the round's budget.
            start = None
            if "tuner/trial_id" in values:
                start = _load_state(Path(self.get_trial_dir(values["tuner/trial_id"]), STATE))
            first = values["tuner/initial_epoch"] if start is not None else 0
            fitted = fit_binary(X_train, y_train, X_val, y_val, arch, "temo", seed, context.model, context.train,
                                epochs=values.get("tuner/epochs", context.train.epochs) - first,
                                initial_state=start, first_epoch=first)
            trial_dir = Path(self.get_trial_dir(trial.trial_id))
            if jobs[i].strategy == "hyperband":
                _save_state(trial_dir / STATE, fitted.state)
            (trial_dir / "history.json").write_text(json.dumps(fitted.history))
            return {**validation_scores(fitted, X_val, y_val), "epochs": float(fitted.epochs),
                    "seconds": fitted.seconds}

    tuner = LandmarkSearch(
        oracle=jobs_oracle(objective, [job_oracle(job, i, objective, context.train.epochs)
                                       for i, job in enumerate(jobs)]),
        hypermodel=build,
        directory=directory,
        project_name=project,
        overwrite=False,
    )
    tuner.search(verbose=0)
    # A trial's state is kept only for continuing it; once the search has ended, none will be.
    for state in Path(directory, project).glob(f"trial_*/{STATE}"):
        state.unlink()
    if distributed_role() == "worker":
        return None
    rows: dict[int, list[dict]] = {i: [] for i in range(len(jobs))}
    for trial in sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id):
        if trial.status != "COMPLETED":
            continue
        values = dict(trial.hyperparameters.values)
        history_file = Path(tuner.get_trial_dir(trial.trial_id), "history.json")
        rows[values.pop("job")].append({
            **{k: values[k] for k in ("filters", "units", "neurons")},
            **{name: trial.metrics.get_last_value(name) for name in ("val_loss", "val_accuracy", "val_auc",
                                                                       "epochs", "seconds")},
            **{column: values.get(key, "") for key, column in HYPERBAND_COLUMNS.items() if "tuner/round" in values},
            "trial": trial.trial_id,
            "history": json.loads(history_file.read_text()) if history_file.is_file() else {},
        })
    winners = [best_trial(rows[i], job) for i, job in enumerate(jobs)]
    return [SearchResult(job, Architecture(w["filters"], w["units"], w["neurons"]), rows[i])
            for i, (job, w) in enumerate(zip(jobs, winners))]


STATE = "state.npz"


def _save_state(path: Path, state: tuple) -> None:
    """A Fitted.state: (trainable, non-trainable, (step, Adam's m, Adam's v)) as flat arrays."""
    trainable, non_trainable, (step, m, v) = state
    parts = [trainable, non_trainable, [step], m, v]
    np.savez(path, *[np.asarray(a) for part in parts for a in part], sizes=[len(part) for part in parts])


def _load_state(path: Path) -> tuple | None:
    if not path.is_file():
        return None
    with np.load(path) as z:
        sizes = z["sizes"]
        arrays = iter(z[f"arr_{i}"] for i in range(int(sizes.sum())))
        trainable, non_trainable, (step,), m, v = ([next(arrays) for _ in range(n)] for n in sizes)
    return trainable, non_trainable, (step, m, v)


def search(job: SearchJob, data: LandmarkData, partitions: list[Partition], context: TrainingContext) -> SearchResult:
    """Run (or resume) one emotion's search and return every trial's scores."""
    return _run_search([job], job.project, job.directory, data, partitions, context)[0]


def search_all(jobs: list[SearchJob], data: LandmarkData, partitions: list[Partition], context: TrainingContext,
               workers: int, stage: str, progress: bool, on_result=None) -> list[SearchResult] | None:
    """Every job's search: one per job in this machine's processes, or, in Keras Tuner's
    distributed mode, all jobs as one search served by the chief to its workers (None on a worker)."""
    from tqdm import tqdm

    from emo.models.training import run_many

    if distributed_role():
        digest = hashlib.sha256("".join(j.project for j in jobs).encode()).hexdigest()[:12]
        project = f"{stage}-search-{digest}"
        results = _run_search(jobs, project, jobs[0].directory, data, partitions, context)
        if results is None:
            return None
        # Name the shared project on each job, so that its state is removed once the stage is done.
        results = [SearchResult(dataclasses.replace(r.job, project=project), r.best, r.trials) for r in results]
        for result in results:
            if on_result:
                on_result(result)
        return results
    results = []
    with tqdm(total=len(jobs), desc=f"{stage} {jobs[0].strategy} search", unit="search",
              disable=not progress) as bar:
        for result in run_many(jobs, context, workers, task=search):
            results.append(result)
            if on_result:
                on_result(result)
            bar.set_postfix_str(f"{EMOTIONS[result.job.emotion]} K{result.job.k} done")
            bar.update()
    return sorted(results, key=lambda r: jobs.index(r.job))


def trials_table(results: list[SearchResult], timings: bool = True) -> pd.DataFrame:
    """Every trial of every search; without its wall-clock seconds when `timings` is False
    (hparams.json, which later stages depend on, must not change when only the clock does)."""
    rows = []
    left_out = ("history", "trial") if timings else ("history", "trial", "seconds")
    for r in results:
        best = best_trial(r.trials, r.job)
        for t in r.trials:
            rows.append({"emotion": EMOTIONS[r.job.emotion], "K": r.job.k,
                         **{k: v for k, v in t.items() if k not in left_out}, "chosen": t is best})
    return pd.DataFrame(rows)


def best_scores(results: list[SearchResult]) -> dict[str, float]:
    """Each search's chosen trial's objective, as parent-run metrics, e.g. anger.K468.best_val_loss."""
    return {f"{EMOTIONS[r.job.emotion]}.K{r.job.k}.best_{r.job.objective}": best_trial(r.trials, r.job)[r.job.objective]
            for r in results}


def remove_search_state(results: list[SearchResult]) -> None:
    """Once a stage has written its outputs, its searches' resume state is no longer needed."""
    for r in results:
        shutil.rmtree(Path(r.job.directory) / r.job.project, ignore_errors=True)


def hparams_document(results: list[SearchResult]) -> dict:
    return {
        "objective": results[0].job.objective,
        "K": results[0].job.k,
        "best": {EMOTIONS[r.job.emotion]: r.best.as_dict() for r in results},
        "trials": trials_table(results, timings=False).to_dict(orient="records"),
    }


def load_hparams(path: Path) -> dict[str, Architecture]:
    from emo.errors import EmoError

    if not path.is_file():
        raise EmoError(f"{path} is missing; run `dvc repro tune` first.")
    best = json.loads(path.read_text())["best"]
    missing = [e for e in EMOTIONS if e not in best]
    if missing:
        raise EmoError(f"{path} has no hyperparameters for {', '.join(missing)}; rerun `dvc repro tune`.")
    return {e: Architecture(**best[e]) for e in EMOTIONS}
