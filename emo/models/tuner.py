"""The Keras Tuner side of a search (emo.models.tuning runs it): the oracle over its jobs' grids,
and the tuner that trains each trial and reads the trials back as results. It imports Keras
Tuner and Keras (seconds): import it where a search runs, not at the top of a module."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from pathlib import Path

import keras_tuner
from keras_tuner.engine.trial import TrialStatus
from tqdm import tqdm

from emo.data.dataset import LandmarkData, Partition
from emo.data.emotions import EMOTIONS
from emo.models.model import Architecture, build_model
from emo.models.oracles import GridHyperbandOracle, GridOracle, JobsOracle, serve
from emo.models.runs import TrainingContext, training_pool, training_workers
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


# Trials handed out at once, then trained in batches of one shape: a constant, so that which
# trials share a call depends on the search alone, never on the cores or workers.
HANDED_OUT = 256


class LandmarkTuner(keras_tuner.Tuner):
    """A Keras Tuner search over every job: T-EMO trained on each job's partition's training
    part, scored on its validation part.

    `role` is Keras Tuner's distributed role ('chief', 'worker' or None): the chief serves the
    trials to the workers (EmoError when a worker has not finished one within `timeout`
    seconds), a worker trains the trials it is given, a lone process trains every trial.
    Workers and lone processes take up to HANDED_OUT trials at a time (as that many Keras
    Tuner clients, `<tuner id>-<slot>`), train those of one shape together
    (emo.models.trials) in `workers` processes, and report each as its own trial, so that
    resuming, Hyperband and the distributed mode work as with one trial at a time."""

    def __init__(self, jobs: list[SearchJob], data: LandmarkData, partitions: list[Partition],
                 context: TrainingContext, role: str | None, timeout: float | None, workers: int,
                 progress: tqdm, **kwargs):
        # Set before Keras Tuner's __init__, which builds a model to fill the search space.
        self.jobs, self.data, self.partitions, self.context = jobs, data, partitions, context
        self.role, self.timeout, self.workers, self.progress = role, timeout, workers, progress
        self.held: list[str] = []  # a worker's slot whose trial waits for its next round
        self.counted: set[str] = set()  # slots the oracle has heard from and not yet told STOPPED
        super().__init__(hypermodel=self.build, **kwargs)

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

    def trial_run(self, trial) -> TrialRun:
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

    def search(self, *args, **kwargs):
        if self.role != "worker":  # a worker's oracle is the chief's, through Keras Tuner's client
            self.oracle.verbose = kwargs.get("verbose", self.oracle.verbose)
        if self.role == "chief":
            # What Keras Tuner's BaseTuner.search does on a chief (save, then serve until the
            # search ends), with emo.models.oracles.serve in place of its server loop.
            self.save()
            serve(self.oracle, self.timeout)
            return
        processes = training_workers(self.workers, sum(job.size for job in self.jobs))
        with contextlib.ExitStack() as stack:
            pool = stack.enter_context(training_pool(self.context, processes)) if processes > 1 else None
            while (runs := self.hand_out(processes)) is not None:
                batches = trial_batches(runs, self.data.frames, self.context)
                if pool is None:
                    done = (train_trials(b, self.data, self.partitions, self.context) for b in batches)
                else:
                    done = pool(batches, train_trials)
                for scores in done:
                    for trial_id, metrics in scores:
                        self.end(self.oracle.get_trial(trial_id), metrics)

    def hand_out(self, processes: int) -> list[TrialRun] | None:
        """The next trials to train (in trial order), or None once the search has ended.

        Alone, every trial the oracle has to give (up to HANDED_OUT), so that which trials
        share a call depends on the search alone. A worker of a distributed search takes one
        call's worth per training process and leaves the rest to the other workers: the first
        trial past that stays with its slot and comes first in the next round. A slot that
        holds an unfinished trial (one a killed run had) gets it again. Once a slot hears
        STOPPED, only the slots that the oracle still counts are asked, each until it hears
        STOPPED too: the chief ends when none is left, and a slot asked after that would wait
        for it for ever."""
        slots = [f"{self.tuner_id}-{i}" for i in range(HANDED_OUT)]
        slots = self.held + [slot for slot in slots if slot not in self.held]
        self.held, runs, stopped = [], {}, False
        for slot in slots:
            if stopped and slot not in self.counted:
                continue
            trial = self.oracle.create_trial(slot)
            if trial.status == TrialStatus.STOPPED:
                self.counted.discard(slot)
                stopped = True
                continue
            self.counted.add(slot)
            if trial.status != TrialStatus.RUNNING:
                continue
            run = self.trial_run(trial)
            if self.role == "worker" and runs and \
                    len(trial_batches([*runs.values(), run], self.data.frames, self.context)) > processes:
                self.held = [slot]
                break
            runs[int(trial.trial_id)] = run
        if not runs:
            if stopped and not self.counted:
                return None
            time.sleep(0.5)  # IDLE: a Hyperband round waits for trials that other workers train
        # In trial order: a resumed search hands its unfinished trials out in another.
        return [runs[i] for i in sorted(runs)]

    def end(self, trial, metrics: dict[str, float]) -> None:
        """Report a trained trial, as Keras Tuner's own loop does after run_trial."""
        self.oracle.update_trial(trial.trial_id, metrics)
        trial.status = TrialStatus.COMPLETED
        self.on_trial_end(trial)  # the oracle ends it; the tuner saves
        values = trial.hyperparameters.values
        self.progress.set_postfix_str(f"{EMOTIONS[self.jobs[values['job']].emotion]} "
                                      f"K{self.jobs[values['job']].k} F{values['filters']}")
        self.progress.update()

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
