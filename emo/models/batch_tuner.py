"""Keras Tuner tuners that train the trials they are handed many at a time: a search's grid
points (emo.models.tuner) or final training runs (emo.models.served_runs). It imports Keras
Tuner and Keras (seconds): import it where a search runs, not at the top of a module."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Hashable

import keras_tuner
from keras_tuner.engine.trial import TrialStatus
from tqdm import tqdm

from emo.data.dataset import LandmarkData, Partition
from emo.models.oracles import serve
from emo.models.runs import TrainingContext, training_pool, training_workers

# Trials handed out at once, then trained in batches of one shape: a constant, so that which
# trials share a call depends on the search alone, never on the cores or workers.
HANDED_OUT = 256


class BatchTuner(keras_tuner.Tuner):
    """A Keras Tuner tuner that trains its trials in batches.

    `role` is Keras Tuner's distributed role ('chief', 'worker' or None): the chief serves the
    trials to the workers (EmoError when a worker has not finished one within `timeout`
    seconds), a worker trains the trials it is given, a lone process trains every trial.
    Workers and lone processes take several trials at a time (as that many Keras Tuner
    clients, `<tuner id>-<slot>`), train them in batches (`batches`: those that share one
    call) with `task` in `workers` processes, and report each as its own trial, so that
    resuming, Hyperband and the distributed mode work as with one trial at a time.

    A subclass says what a trial is to train (`work`), how works form batches, and the task
    that trains a batch: task(batch, data, partitions, context) -> [(trial id, metrics)]."""

    task: Callable

    def __init__(self, data: LandmarkData, partitions: list[Partition], context: TrainingContext,
                 role: str | None, timeout: float | None, workers: int, trials: int, progress: tqdm, **kwargs):
        # Set before Keras Tuner's __init__, which builds a model to fill the search space.
        self.data, self.partitions, self.context = data, partitions, context
        self.role, self.timeout, self.workers, self.progress = role, timeout, workers, progress
        self.trials = trials  # how many the search has at most (sizes the pool)
        self.held: list[str] = []  # a worker's slot whose trial waits for its next round
        self.counted: set[str] = set()  # slots the oracle has heard from and not yet told STOPPED
        super().__init__(hypermodel=self.build, **kwargs)

    def build(self, hp):
        raise NotImplementedError

    def work(self, trial) -> Hashable:
        """What a trial trains, as `task` takes it."""
        raise NotImplementedError

    def batches(self, works: list) -> list[list]:
        raise NotImplementedError

    def describe(self, trial) -> str:
        """A few words for the progress bar."""
        raise NotImplementedError

    def search(self, *args, **kwargs):
        if self.role != "worker":  # a worker's oracle is the chief's, through Keras Tuner's client
            self.oracle.verbose = kwargs.get("verbose", self.oracle.verbose)
        if self.role == "chief":
            # What Keras Tuner's BaseTuner.search does on a chief (save, then serve until the
            # search ends), with emo.models.oracles.serve in place of its server loop.
            self.save()
            serve(self.oracle, self.timeout)
            return
        processes = training_workers(self.workers, self.trials)
        with contextlib.ExitStack() as stack:
            pool = stack.enter_context(training_pool(self.context, processes)) if processes > 1 else None
            while (works := self.hand_out(processes)) is not None:
                batches = self.batches(works)
                if pool is None:
                    done = (type(self).task(b, self.data, self.partitions, self.context) for b in batches)
                else:
                    done = pool(batches, type(self).task)
                for scores in done:
                    for trial_id, metrics in scores:
                        self.end(self.oracle.get_trial(trial_id), metrics)

    def hand_out(self, processes: int) -> list | None:
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
        self.held, works, stopped = [], {}, False
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
            work = self.work(trial)
            if self.role == "worker" and works and len(self.batches([*works.values(), work])) > processes:
                self.held = [slot]
                break
            works[int(trial.trial_id)] = work
        if not works:
            if stopped and not self.counted:
                return None
            time.sleep(0.5)  # IDLE: a Hyperband round waits for trials that other workers train
        # In trial order: a resumed search hands its unfinished trials out in another.
        return [works[i] for i in sorted(works)]

    def end(self, trial, metrics: dict[str, float]) -> None:
        """Report a trained trial, as Keras Tuner's own loop does after run_trial."""
        self.oracle.update_trial(trial.trial_id, metrics)
        trial.status = TrialStatus.COMPLETED
        self.on_trial_end(trial)  # the oracle ends it; the tuner saves
        self.progress.set_postfix_str(self.describe(trial))
        self.progress.update()
