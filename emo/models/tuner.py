"""The Keras Tuner side of a search (emo.models.tuning runs it): the oracle over its jobs' grids,
and the tuner that trains their trials (in batches, emo.models.batch_tuner) and reads the
trials back as results. It imports Keras
Tuner and Keras (seconds): import it where a search runs, not at the top of a module."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import keras_tuner
from tqdm import tqdm

from emo.data.dataset import LandmarkData, Partition
from emo.data.emotions import EMOTIONS
from emo.models.model import Architecture, build_model
from emo.models.batch_tuner import BatchTuner
from emo.models.oracles import GridHyperbandOracle, GridOracle, JobsOracle
from emo.models.runs import TrainingContext
from emo.models.search_jobs import DIRECTION, SearchJob
from emo.models.search_results import HyperbandRound, SearchResult, Trial, best_trial
from emo.models.search_state import STATE
from emo.models.trials import HISTORY, TrialRun, train_trials, trial_batches


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


class LandmarkTuner(BatchTuner):
    """A Keras Tuner search over every job: T-EMO trained on each job's partition's training
    part, scored on its validation part; trials of one shape train together (emo.models.trials)."""

    task = staticmethod(train_trials)

    def __init__(self, jobs: list[SearchJob], data: LandmarkData, partitions: list[Partition],
                 context: TrainingContext, role: str | None, timeout: float | None, workers: int,
                 progress: tqdm, **kwargs):
        self.jobs = jobs  # before BatchTuner's __init__, which builds a model
        super().__init__(data, partitions, context, role, timeout, workers, sum(job.size for job in jobs), progress,
                         **kwargs)

    def point(self, hp) -> tuple[int, Architecture]:
        """A trial's job index and point of the grid."""
        first = self.jobs[0]
        i = hp.Choice("job", list(range(len(self.jobs))))
        return i, Architecture(hp.Choice("filters", list(first.filters)), hp.Choice("units", list(first.units)),
                               hp.Choice("neurons", list(first.neurons)))

    def build(self, hp):
        i, arch = self.point(hp)
        job = self.jobs[i]
        return build_model(self.data.frames, job.k, arch, "temo", self.context.model,
                           self.context.train.learning_rate, self.partitions[job.partition].seed)

    def work(self, trial) -> TrialRun:
        values = trial.hyperparameters.values
        i, arch = self.point(trial.hyperparameters)
        # Hyperband continues a trial of the previous round from its state; if that is not on
        # this machine (tune.directory not shared), it trains afresh to the round's budget.
        start = None
        if "tuner/trial_id" in values:
            path = Path(self.get_trial_dir(values["tuner/trial_id"]), STATE)
            start = str(path) if path.is_file() else None
        first = values["tuner/initial_epoch"] if start else 0
        return TrialRun(trial.trial_id, self.jobs[i], arch, epochs=values.get("tuner/epochs", self.context.train.epochs)
                        - first, first_epoch=first, start_state=start, trial_dir=self.get_trial_dir(trial.trial_id),
                        keep_state=self.jobs[i].strategy == "hyperband")

    def batches(self, works: list[TrialRun]) -> list[list[TrialRun]]:
        return trial_batches(works, self.data.frames, self.context)

    def describe(self, trial) -> str:
        values = trial.hyperparameters.values
        job = self.jobs[values["job"]]
        return f"{EMOTIONS[job.emotion]} K{job.k} F{values['filters']}"

    def results(self) -> list[SearchResult]:
        """Every job's completed trials, in trial id order, and its winner."""
        trials: dict[int, list[Trial]] = {i: [] for i in range(len(self.jobs))}
        for trial in sorted(self.oracle.trials.values(), key=lambda t: t.trial_id):
            if trial.status != "COMPLETED":
                continue
            values = trial.hyperparameters.values
            score = trial.metrics.get_last_value  # what run_trial returned
            history_file = Path(self.get_trial_dir(trial.trial_id), HISTORY)
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
