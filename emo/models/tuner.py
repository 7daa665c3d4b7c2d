"""The Keras Tuner side of a search (emo.models.tuning runs it): the oracle over its jobs' grids,
and the tuner that trains each trial and reads the trials back as results. It imports Keras
Tuner and Keras (seconds): import it where a search runs, not at the top of a module."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import keras_tuner

from emo.data.dataset import LandmarkData, Partition
from emo.data.emotions import EMOTIONS
from emo.models.model import Architecture, build_model
from emo.models.oracles import GridHyperbandOracle, GridOracle, JobsOracle, save_json, serve
from emo.models.runs import TrainingContext, training_inputs
from emo.models.search_jobs import DIRECTION, SearchJob
from emo.models.search_results import HyperbandRound, SearchResult, Trial, best_trial
from emo.models.search_state import STATE, load_trial_state, save_trial_state
from emo.models.training import fit_binary, validation_scores


def search_oracle(jobs: list[SearchJob], max_epochs: int) -> JobsOracle:
    """The oracle of a search over `jobs`: each job's own (every combination of its F, Q, R
    values, or Keras Tuner's Hyperband over them), all served by one JobsOracle. Each job's
    space holds its index as a fixed value, so that a trial tells which job it belongs to."""
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


class LandmarkTuner(keras_tuner.Tuner):
    """A Keras Tuner search over every job: T-EMO trained on each job's partition's training
    part, scored on its validation part.

    `role` is Keras Tuner's distributed role ('chief', 'worker' or None): the chief serves the
    trials to the workers (EmoError when a worker has not finished one within `timeout`
    seconds), a worker trains the trials it is given, a lone process trains every trial."""

    def __init__(self, jobs: list[SearchJob], data: LandmarkData, partitions: list[Partition],
                 context: TrainingContext, role: str | None, timeout: float | None, **kwargs):
        # Set before Keras Tuner's __init__, which builds a model to fill the search space.
        self.jobs, self.data, self.partitions, self.context = jobs, data, partitions, context
        self.role, self.timeout = role, timeout
        self.prepared: dict[int, tuple] = {}
        super().__init__(hypermodel=self.build, **kwargs)

    def data_for(self, i: int) -> tuple:
        """Job i's (X_train, y_train, X_val, y_val, seed), prepared once."""
        if i not in self.prepared:
            job = self.jobs[i]
            part = self.partitions[job.partition]
            self.prepared[i] = (*training_inputs(self.data, part, job.emotion, job.landmarks,
                                                 self.context.train.flip), part.seed)
        return self.prepared[i]

    def point(self, hp) -> tuple[int, Architecture]:
        """A trial's job index and point of the grid."""
        first = self.jobs[0]
        i = hp.Choice("job", list(range(len(self.jobs))))
        return i, Architecture(hp.Choice("filters", list(first.filters)), hp.Choice("units", list(first.units)),
                               hp.Choice("neurons", list(first.neurons)))

    def build(self, hp):
        i, arch = self.point(hp)
        X_train, _, _, _, seed = self.data_for(i)
        return build_model(X_train.shape[1], X_train.shape[3], arch, "temo", self.context.model,
                           self.context.train.learning_rate, seed)

    # The chief: what Keras Tuner's BaseTuner.search does on a chief (save, then serve until
    # the search ends), with emo.models.oracles.serve in place of its server loop.
    def search(self, *args, **kwargs):
        if self.role != "chief":
            return super().search(*args, **kwargs)
        self.oracle.verbose = kwargs.get("verbose", self.oracle.verbose)
        self.save()
        serve(self.oracle, self.timeout)

    # Our own trial: train with early stopping, score the kept weights on validation.
    # It also skips Keras Tuner's per-trial checkpoint (megabytes per trial) and its
    # TensorBoard hook (which imports tensorboard in every trial).
    def run_trial(self, trial, *args, **kwargs):
        values = trial.hyperparameters.values
        i, arch = self.point(trial.hyperparameters)
        X_train, y_train, X_val, y_val, seed = self.data_for(i)
        # Hyperband continues a trial of the previous round from its state; if that is not on
        # this machine (tune.directory not shared), it trains afresh to the round's budget.
        start = None
        if "tuner/trial_id" in values:
            start = load_trial_state(Path(self.get_trial_dir(values["tuner/trial_id"]), STATE))
        first = values["tuner/initial_epoch"] if start is not None else 0
        train = self.context.train
        fitted = fit_binary(X_train, y_train, X_val, y_val, arch, "temo", seed, self.context.model, train,
                            epochs=values.get("tuner/epochs", train.epochs) - first,
                            initial_state=start, first_epoch=first)
        trial_dir = Path(self.get_trial_dir(trial.trial_id))
        if self.jobs[i].strategy == "hyperband":
            save_trial_state(trial_dir / STATE, fitted.state)
        save_json(trial_dir / "history.json", fitted.history)
        return {**validation_scores(fitted, X_val, y_val), "epochs": float(fitted.epochs),
                "seconds": fitted.seconds}

    def results(self) -> list[SearchResult]:
        """Every job's completed trials, in trial id order, and its winner."""
        trials: dict[int, list[Trial]] = {i: [] for i in range(len(self.jobs))}
        for trial in sorted(self.oracle.trials.values(), key=lambda t: t.trial_id):
            if trial.status != "COMPLETED":
                continue
            values = trial.hyperparameters.values
            score = trial.metrics.get_last_value  # what run_trial returned
            history_file = Path(self.get_trial_dir(trial.trial_id), "history.json")
            trials[values["job"]].append(Trial(
                arch=Architecture(values["filters"], values["units"], values["neurons"]),
                val_loss=score("val_loss"), val_accuracy=score("val_accuracy"), val_auc=score("val_auc"),
                epochs=score("epochs"), seconds=score("seconds"), trial=trial.trial_id,
                history=json.loads(history_file.read_text()) if history_file.is_file() else {},
                # The values HyperbandOracle adds to a trial's own.
                hyperband=HyperbandRound(values["tuner/round"], values["tuner/bracket"], values["tuner/epochs"],
                                         values.get("tuner/trial_id", "")) if "tuner/round" in values else None,
            ))
        return [SearchResult(job, best_trial(trials[i], job).arch, trials[i]) for i, job in enumerate(self.jobs)]
