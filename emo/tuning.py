"""The grid search over F, Q, R (Keras Tuner GridSearch), per emotion and landmark count.

One function, `grid_search`, serves the tune stage (all 468 landmarks) and retrain_k (each
emotion's top K). It trains T-EMO on partition 0's training part and scores it on its
validation part; the test part is never touched. Keras Tuner keeps each search's state
under `tune.directory`, in a project named after everything that shapes its numbers, so an
interrupted search resumes where it stopped and a changed setting starts afresh.
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
from emo.dataset import LandmarkData, Partition
from emo.emotions import EMOTIONS
from emo.model import Architecture, build_model
from emo.training import TrainingContext, fit_binary, training_inputs, validation_scores

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


def grid_oracle(objective, seed: int):
    """A Keras Tuner oracle that hands out every combination of the grid's Choice values once,
    in grid order (the last value changing fastest, as GridSearch goes).

    Keras Tuner 1.4.8's own GridSearchOracle derives each combination from a finished trial
    through a linked list that it does not save, so a search resumed in a new process fails
    (keras-team/keras-tuner#1055), and in distributed mode its workers mostly wait for one
    another. Here the state is the trials alone: a restarted search continues from them, and
    N workers run N trials at once.
    """
    import itertools

    import keras_tuner

    class GridOracle(keras_tuner.Oracle):
        def populate_space(self, trial_id):
            space = self.get_space().space
            taken = {tuple(t.hyperparameters.values.get(hp.name) for hp in space) for t in self.trials.values()}
            for combination in itertools.product(*(hp.values for hp in space)):
                if combination not in taken:
                    return {"status": "RUNNING", "values": {hp.name: v for hp, v in zip(space, combination)}}
            # Everything is handed out; workers still training finish their trials before the chief ends.
            return {"status": "STOPPED", "values": None}

    return GridOracle(objective=objective, seed=seed)


def distributed_role() -> str | None:
    """'chief' or 'worker' when Keras Tuner's distributed variables are set, else None."""
    from keras_tuner.src.distribute import utils

    if not utils.has_chief_oracle():
        return None
    return "chief" if utils.is_chief_oracle() else "worker"


def best_of(trials: list[dict], job: SearchJob) -> Architecture:
    """The best grid point by the objective; ties go to the earlier point of the grid, so that
    every way of running the grid picks the same one."""
    sign = 1 if DIRECTION[job.objective] == "min" else -1

    def key(t):
        score = t[job.objective]
        return (score != score, sign * score if score == score else 0.0, job.filters.index(t["filters"]),
                job.units.index(t["units"]), job.neurons.index(t["neurons"]))

    best = min(trials, key=key)
    return Architecture(best["filters"], best["units"], best["neurons"])


def _run_grid(jobs: list[SearchJob], project: str, directory: str, data: LandmarkData,
              partitions: list[Partition], context: TrainingContext) -> list[SearchResult] | None:
    """One Keras Tuner grid over (job, F, Q, R), run or resumed; every job's trials and winner.

    In Keras Tuner's distributed mode this process is the chief (it serves the grid to the
    workers and returns the results) or a worker (it trains the trials it is given and returns
    None); otherwise it trains every trial itself."""
    import keras_tuner

    grid = jobs[0]
    prepared: dict[int, tuple] = {}

    def data_for(i: int) -> tuple:
        if i not in prepared:
            job = jobs[i]
            part = partitions[job.partition]
            prepared[i] = (*training_inputs(data, part, job.emotion, job.landmarks, context.train.flip), part.seed)
        return prepared[i]

    def hyperparameters(hp) -> tuple[int, Architecture]:
        i = hp.Choice("job", list(range(len(jobs))))
        return i, Architecture(hp.Choice("filters", list(grid.filters)), hp.Choice("units", list(grid.units)),
                               hp.Choice("neurons", list(grid.neurons)))

    def build(hp):
        i, arch = hyperparameters(hp)
        X_train, _, _, _, seed = data_for(i)
        return build_model(X_train.shape[1], X_train.shape[3], arch, "temo", context.model,
                           context.train.learning_rate, seed)

    class LandmarkGridSearch(keras_tuner.Tuner):
        # Our own trial: train with early stopping, score the kept weights on validation.
        # It also skips Keras Tuner's per-trial checkpoint (megabytes per trial) and its
        # TensorBoard hook (which imports tensorboard in every trial).
        def run_trial(self, trial, *args, **kwargs):
            i, arch = hyperparameters(trial.hyperparameters)
            X_train, y_train, X_val, y_val, seed = data_for(i)
            fitted = fit_binary(X_train, y_train, X_val, y_val, arch, "temo", seed, context.model, context.train)
            scores = validation_scores(fitted, X_val, y_val)
            Path(self.get_trial_dir(trial.trial_id), "history.json").write_text(json.dumps(fitted.history))
            return {**scores, "epochs": float(fitted.epochs), "seconds": fitted.seconds}

    tuner = LandmarkGridSearch(
        oracle=grid_oracle(keras_tuner.Objective(grid.objective, DIRECTION[grid.objective]),
                           partitions[grid.partition].seed),
        hypermodel=build,
        directory=directory,
        project_name=project,
        overwrite=False,
    )
    tuner.search(verbose=0)
    if distributed_role() == "worker":
        return None
    rows: dict[int, list[dict]] = {i: [] for i in range(len(jobs))}
    for trial in sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id):
        if trial.status != "COMPLETED":
            continue
        values = dict(trial.hyperparameters.values)
        history_file = Path(tuner.get_trial_dir(trial.trial_id), "history.json")
        rows[values.pop("job")].append({
            **values,
            **{name: trial.metrics.get_last_value(name) for name in ("val_loss", "val_accuracy", "val_auc",
                                                                       "epochs", "seconds")},
            "trial": trial.trial_id,
            "history": json.loads(history_file.read_text()) if history_file.is_file() else {},
        })
    return [SearchResult(job, best_of(rows[i], job), rows[i]) for i, job in enumerate(jobs)]


def grid_search(job: SearchJob, data: LandmarkData, partitions: list[Partition], context: TrainingContext) -> SearchResult:
    """Run (or resume) one emotion's grid search and return every trial's scores."""
    return _run_grid([job], job.project, job.directory, data, partitions, context)[0]


def search_all(jobs: list[SearchJob], data: LandmarkData, partitions: list[Partition], context: TrainingContext,
               workers: int, stage: str, progress: bool, on_result=None) -> list[SearchResult] | None:
    """Every job's grid search: one per job in this machine's processes, or, in Keras Tuner's
    distributed mode, all jobs as one grid served by the chief to its workers (None on a worker)."""
    from tqdm import tqdm

    from emo.training import run_many

    if distributed_role():
        digest = hashlib.sha256("".join(j.project for j in jobs).encode()).hexdigest()[:12]
        project = f"{stage}-grid-{digest}"
        results = _run_grid(jobs, project, jobs[0].directory, data, partitions, context)
        if results is None:
            return None
        # Name the shared project on each job, so that its state is removed once the stage is done.
        results = [SearchResult(dataclasses.replace(r.job, project=project), r.best, r.trials) for r in results]
        for result in results:
            if on_result:
                on_result(result)
        return results
    results = []
    with tqdm(total=len(jobs), desc=f"{stage} grid search", unit="grid", disable=not progress) as bar:
        for result in run_many(jobs, context, workers, task=grid_search):
            results.append(result)
            if on_result:
                on_result(result)
            bar.set_postfix_str(f"{EMOTIONS[result.job.emotion]} K{result.job.k} done")
            bar.update()
    return sorted(results, key=lambda r: jobs.index(r.job))


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
    from emo.dataset import load_landmarks, load_partitions, require_every_emotion
    from emo.files import atomic_dir, write_json
    from emo.tracking import stage_run

    data = load_landmarks(landmarks_file)
    partitions = load_partitions(splits_file, len(data.y))
    require_every_emotion(data.y[partitions[0].train], f"the training part of partition 0 in {splits_file}")
    context = TrainingContext(landmarks_file, splits_file, params.model, params.train)
    jobs = [search_job(e, params.tune, data, partitions[0], context) for e in range(len(EMOTIONS))]
    if distributed_role() == "worker":  # train the chief's trials; the chief writes the outputs
        search_all(jobs, data, partitions, context, params.train.workers, "tune", progress)
        return pd.DataFrame()
    with stage_run("tune", {"model": params.model, "train": params.train, "tune": params.tune}) as run:
        results = search_all(jobs, data, partitions, context, params.train.workers, "tune", progress,
                             on_result=lambda r: log_trials(run, r, data.frames))
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
