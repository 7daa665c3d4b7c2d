"""The search over F, Q, R per emotion and landmark count: Keras Tuner, exhaustive grid or Hyperband.

One function, `search`, serves the tune stage (all 468 landmarks) and retrain_k (each
emotion's top K). It trains T-EMO on partition 0's training part and scores it on its
validation part; the test part is never touched. `tune.strategy: grid` trains every
combination of the F, Q, R lists for train.epochs (the paper); `hyperband` is Keras Tuner's
Hyperband oracle over the same lists with train.epochs as its largest budget: it trains
many combinations for a few epochs and continues the best ones from their weights (the
oracles are in emo.models.oracles). Keras Tuner keeps each search's state under
`tune.directory`, in a project named after everything that shapes its numbers, so an
interrupted search resumes where it stopped and a changed setting starts afresh. Its state
files are written atomically (emo.models.oracles.save_json); one that is unreadable all the
same (cut short by an older version, edited) makes that search start afresh, said once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from emo.config import TuneParams
from emo.data.dataset import LandmarkData, Partition
from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.errors import EmoError
from emo.files import atomic_file
from emo.models.model import Architecture, build_model
from emo.models.training import TrainingContext, fit_binary, run_many, training_inputs, validation_scores

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
        return N_LANDMARKS if self.landmarks is None else len(self.landmarks)

    @property
    def size(self) -> int:
        return len(self.filters) * len(self.units) * len(self.neurons)


@dataclass(frozen=True)
class HyperbandRound:
    """Where a trial of a Hyperband search stands."""

    round: int
    bracket: int
    epoch_budget: int  # the epochs it trains to, counting those of the trial it continues
    continues: str  # the id of the previous round's trial it trains on from; "" in a first round


@dataclass(frozen=True)
class Trial:
    """One completed trial of a search: its point of the grid and how it scored on validation."""

    arch: Architecture
    val_loss: float
    val_accuracy: float
    val_auc: float
    epochs: float  # as Keras Tuner keeps every reported number (trials.csv writes 2.0)
    seconds: float
    trial: str  # Keras Tuner's trial id
    history: dict[str, list[float]]  # per epoch: loss, accuracy, val_loss, val_accuracy
    hyperband: HyperbandRound | None = None  # None in a grid search

    def row(self) -> dict:
        """Its columns in trials.csv and hparams.json, in their order."""
        return {**self.arch.as_dict(), "val_loss": self.val_loss, "val_accuracy": self.val_accuracy,
                "val_auc": self.val_auc, "epochs": self.epochs, "seconds": self.seconds,
                **(asdict(self.hyperband) if self.hyperband else {})}


@dataclass
class SearchResult:
    job: SearchJob
    best: Architecture
    trials: list[Trial]  # in trial id order


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
                # which models train_full trains and how many processes do not shape a search
                "model": {f.name: getattr(context.model, f.name) for f in dataclasses.fields(context.model)
                          if f.name != "variants"},
                "train": {f.name: getattr(context.train, f.name) for f in dataclasses.fields(context.train)
                          if f.name != "workers"},
                "landmarks": landmarks, "seed": partition.seed}
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    k = N_LANDMARKS if landmarks is None else len(landmarks)
    return SearchJob(
        emotion=emotion, filters=tuple(tune.filters), units=tuple(tune.units), neurons=tuple(tune.neurons),
        objective=tune.objective, directory=str(tune.directory),
        project=f"{stage}-{EMOTIONS[emotion]}-K{k}-{digest.hexdigest()[:12]}", landmarks=landmarks,
        strategy=tune.strategy, factor=tune.factor,
    )


def search_oracle(jobs: list[SearchJob], max_epochs: int):
    """The oracle of a search over `jobs`: each job's own (every combination of its F, Q, R
    values, or Keras Tuner's Hyperband over them), all served by one JobsOracle. Each job's
    space holds its index as a fixed value, so that a trial tells which job it belongs to."""
    # Here, not at the top: emo.models.oracles imports Keras Tuner and Keras (seconds).
    import keras_tuner

    from emo.models.oracles import GridHyperbandOracle, GridOracle, JobsOracle

    objective = keras_tuner.Objective(jobs[0].objective, DIRECTION[jobs[0].objective])
    oracles = []
    for index, job in enumerate(jobs):
        space = keras_tuner.HyperParameters()
        space.Fixed("job", index)
        space.Choice("filters", list(job.filters))
        space.Choice("units", list(job.units))
        space.Choice("neurons", list(job.neurons))
        seed = int(hashlib.sha256(job.project.encode()).hexdigest()[:8], 16)
        oracles.append(GridHyperbandOracle(objective, max_epochs, job.factor, seed, space)
                       if job.strategy == "hyperband" else GridOracle(objective, seed, space))
    return JobsOracle(objective, oracles, [f"{EMOTIONS[job.emotion]} K{job.k}" for job in jobs])


def distributed_role() -> str | None:
    """'chief' or 'worker' when Keras Tuner's distributed variables are set, else None."""
    # Private (keras_tuner.src): Keras Tuner exports no test of its distributed mode. These are
    # the ones its tuners use: KERASTUNER_ORACLE_IP set, and 'chief' in KERASTUNER_TUNER_ID.
    from keras_tuner.src.distribute import utils

    if not utils.has_chief_oracle():
        return None
    return "chief" if utils.is_chief_oracle() else "worker"


def best_trial(trials: list[Trial], job: SearchJob) -> Trial:
    """The best trial by the objective; ties go to the earlier point of the grid (then the
    earlier trial), so that every way of running the search picks the same one."""
    sign = 1 if DIRECTION[job.objective] == "min" else -1

    def key(t: Trial):
        score = getattr(t, job.objective)
        return (score != score, sign * score if score == score else 0.0, job.filters.index(t.arch.filters),
                job.units.index(t.arch.units), job.neurons.index(t.arch.neurons))

    return min(trials, key=key)


def _run_search(jobs: list[SearchJob], project: str, directory: str, data: LandmarkData,
                partitions: list[Partition], context: TrainingContext) -> list[SearchResult] | None:
    """One Keras Tuner search over every job (each with its own grid or Hyperband oracle), run
    or resumed; every job's trials and winner.

    In Keras Tuner's distributed mode this process is the chief (it serves the trials to the
    workers and returns the results; EmoError when a worker has not finished a trial within
    EMO_TRIAL_TIMEOUT_S) or a worker (it trains the trials it is given and returns None);
    otherwise it trains every trial itself."""
    import keras_tuner

    from emo.models.oracles import save_json, serve, trial_timeout

    role = distributed_role()
    timeout = trial_timeout() if role == "chief" else None  # checked before anything starts

    first = jobs[0]
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
        # The chief: what Keras Tuner's BaseTuner.search does on a chief (save, then serve until
        # the search ends), with emo.models.oracles.serve in place of its server loop.
        def search(self, *args, **kwargs):
            if role != "chief":
                return super().search(*args, **kwargs)
            self.oracle.verbose = kwargs.get("verbose", self.oracle.verbose)
            self.save()
            serve(self.oracle, timeout)

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
            save_json(trial_dir / "history.json", fitted.history)
            return {**validation_scores(fitted, X_val, y_val), "epochs": float(fitted.epochs),
                    "seconds": fitted.seconds}

    if role != "worker":  # a worker reads only its own tuner file; the chief owns the project
        _discard_unreadable_state(Path(directory, project))
    tuner = LandmarkSearch(
        oracle=search_oracle(jobs, context.train.epochs),
        hypermodel=build,
        directory=directory,
        project_name=project,
        overwrite=False,
    )
    tuner.search(verbose=0)
    # A trial's state is kept only for continuing it; once the search has ended, none will be.
    for state in Path(directory, project).glob(f"trial_*/{STATE}"):
        state.unlink(missing_ok=True)  # the chief and workers sharing tune.directory all clear it
    if role == "worker":
        return None
    trials: dict[int, list[Trial]] = {i: [] for i in range(len(jobs))}
    for trial in sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id):
        if trial.status != "COMPLETED":
            continue
        values = trial.hyperparameters.values
        score = trial.metrics.get_last_value  # what run_trial returned
        history_file = Path(tuner.get_trial_dir(trial.trial_id), "history.json")
        trials[values["job"]].append(Trial(
            arch=Architecture(values["filters"], values["units"], values["neurons"]),
            val_loss=score("val_loss"), val_accuracy=score("val_accuracy"), val_auc=score("val_auc"),
            epochs=score("epochs"), seconds=score("seconds"), trial=trial.trial_id,
            history=json.loads(history_file.read_text()) if history_file.is_file() else {},
            # The values HyperbandOracle adds to a trial's own.
            hyperband=HyperbandRound(values["tuner/round"], values["tuner/bracket"], values["tuner/epochs"],
                                     values.get("tuner/trial_id", "")) if "tuner/round" in values else None,
        ))
    return [SearchResult(job, best_trial(trials[i], job).arch, trials[i]) for i, job in enumerate(jobs)]


STATE = "state.npz"


def _discard_unreadable_state(project: Path) -> None:
    """Remove a search's saved state if one of its JSON files does not parse: Keras Tuner would
    stop on it at every later run. The search then starts afresh, which costs time only."""
    for path in sorted(project.glob("*.json")) + sorted(project.glob("trial_*/*.json")):
        try:
            json.loads(path.read_text())
        except ValueError:  # cut short or not text (UnicodeDecodeError is a ValueError)
            print(f"{path} is unreadable (cut short?): starting the search in {project} afresh.", file=sys.stderr)
            shutil.rmtree(project)
            return


def _save_state(path: Path, state: tuple) -> None:
    """A Fitted.state: (trainable, non-trainable, (step, Adam's m, Adam's v)) as flat arrays."""
    trainable, non_trainable, (step, m, v) = state
    parts = [trainable, non_trainable, [step], m, v]
    with atomic_file(path, stage_output=False) as tmp, open(tmp, "wb") as f:
        np.savez(f, *[np.asarray(a) for part in parts for a in part], sizes=[len(part) for part in parts])


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
    for r in results:
        best = best_trial(r.trials, r.job)
        for t in r.trials:
            row = t.row()
            if not timings:
                del row["seconds"]
            rows.append({"emotion": EMOTIONS[r.job.emotion], "K": r.job.k, **row, "chosen": t is best})
    return pd.DataFrame(rows)


def best_scores(results: list[SearchResult]) -> dict[str, float]:
    """Each search's chosen trial's objective, as parent-run metrics, e.g. anger.K468.best_val_loss."""
    return {f"{EMOTIONS[r.job.emotion]}.K{r.job.k}.best_{r.job.objective}":
            getattr(best_trial(r.trials, r.job), r.job.objective) for r in results}


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
    if not path.is_file():
        raise EmoError(f"{path} is missing; run `dvc repro tune` first.")
    best = json.loads(path.read_text())["best"]
    missing = [e for e in EMOTIONS if e not in best]
    if missing:
        raise EmoError(f"{path} has no hyperparameters for {', '.join(missing)}; rerun `dvc repro tune`.")
    return {e: Architecture(**best[e]) for e in EMOTIONS}
