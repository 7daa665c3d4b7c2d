"""The Keras Tuner oracles of the F, Q, R searches (emo.models.tuning): a grid that resumes
from its trials, Hyperband fitted to a finite grid, and one oracle serving several searches.

They subclass Keras Tuner 1.4.8 (pinned in pyproject.toml) and use some of its private
methods and attributes; each use says beside it why and what it relies on, for whoever
upgrades Keras Tuner to check. Importing this module imports Keras Tuner, and with it Keras.
"""

from __future__ import annotations

import itertools
import math

import keras_tuner


def grid_points(space: keras_tuner.HyperParameters) -> list[dict]:
    """Every combination of a space's values, in grid order (the last value changing fastest,
    as Keras Tuner's GridSearch goes)."""
    hps = space.space
    return [{hp.name: v for hp, v in zip(hps, combination)}
            for combination in itertools.product(*(getattr(hp, "values", None) or [hp.value] for hp in hps))]


class GridOracle(keras_tuner.Oracle):
    """Hands out every combination of the space's values once, in grid order.

    Keras Tuner 1.4.8's own GridSearchOracle derives each combination from a finished trial
    through a linked list that it does not save, so a search resumed in a new process fails
    (keras-team/keras-tuner#1055), and in distributed mode its workers mostly wait for one
    another. Here the state is the trials alone: a restarted search continues from them, and
    N workers run N trials at once.
    """

    def __init__(self, objective: keras_tuner.Objective, seed: int, space: keras_tuner.HyperParameters):
        super().__init__(objective=objective, seed=seed, hyperparameters=space, tune_new_entries=False)
        self.grid = grid_points(space)

    def populate_space(self, trial_id):
        for values in self.grid:
            # Oracle._duplicate: whether these values are among those of every trial handed out
            # so far (their hashes in Oracle._tried_so_far, which create_trial adds to and the
            # oracle's saved state keeps), so a resumed search goes on at the first untried point.
            if not self._duplicate(values):
                return {"status": "RUNNING", "values": dict(values)}
        # Everything is handed out; workers still training finish their trials before the chief ends.
        return {"status": "STOPPED", "values": None}


class GridHyperbandOracle(keras_tuner.oracles.HyperbandOracle):
    """Keras Tuner's HyperbandOracle, fitted to a finite grid.

    Keras Tuner sizes each bracket for an unbounded space: on a 6-point grid its first bracket
    waits for 9 first-round trials, gets 6, and ends with none continued. Here no round asks
    for more trials than the grid has points (the grid's size over factor^round), and a
    random draw that keeps hitting tried points falls back to the first untried one in grid
    order (Keras Tuner gives up after 20 collisions, ending a round early)."""

    def __init__(self, objective: keras_tuner.Objective, max_epochs: int, factor: int, seed: int,
                 space: keras_tuner.HyperParameters):
        super().__init__(objective=objective, max_epochs=max_epochs, factor=factor, seed=seed,
                         hyperparameters=space, tune_new_entries=False)
        self.grid = grid_points(space)

    # HyperbandOracle._get_size(bracket_num, round_num): how many trials a round of a bracket
    # takes. Its populate_space (whether a round needs more trials) and _remove_completed_brackets
    # (whether a bracket is done) both ask it, so capping it here caps every round.
    def _get_size(self, bracket_num, round_num):
        return min(super()._get_size(bracket_num, round_num), math.ceil(len(self.grid) / self.factor**round_num))

    # Oracle._random_values: a first-round trial's values (HyperbandOracle._random_trial asks it);
    # it draws from the oracle's seeded state and returns None after Oracle._max_collisions (20)
    # draws of tried points. Oracle._duplicate, as in GridOracle, finds the first untried point.
    def _random_values(self):
        values = super()._random_values()
        return values if values is not None else next((dict(p) for p in self.grid if not self._duplicate(p)), None)


class JobsOracle(keras_tuner.Oracle):
    """One oracle serving several jobs' independent searches (one per emotion and K): each
    trial is taken from the first job whose own oracle has one to give, and its result goes
    back to that oracle. In Keras Tuner's distributed mode one oracle serves all workers;
    through this one they take trials of any job, so none waits while one job's Hyperband
    round waits for its last trials. The jobs' oracles keep their state (Hyperband's brackets)
    inside this one's saved state, so an interrupted search resumes. Each job's space holds
    its index as the fixed value `job`."""

    def __init__(self, objective: keras_tuner.Objective, jobs: list[keras_tuner.Oracle]):
        super().__init__(objective=objective, seed=1)
        self.jobs = jobs

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
            # Its populate_space reads these: Hyperband picks a round's trials from `trials`
            # and answers IDLE while `ongoing_trials` is not empty. Both hold the same Trial
            # object as ours, so the score that our end_trial gives it is the job's too.
            oracle.trials[trial.trial_id] = trial
            oracle.ongoing_trials[tuner_id] = trial
            # Oracle._record_values adds the values' hash to Oracle._tried_so_far, which
            # Oracle._duplicate reads: the points (grid) and draws (Hyperband) it must not repeat.
            oracle._record_values(trial)
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
            # Oracle.set_state looks its ongoing trials up in its `trials`, which Keras Tuner
            # reloads from the trial files of our project only: hand it its share first.
            oracle.trials = {k: t for k, t in self.trials.items() if t.hyperparameters.values["job"] == i}
            oracle.set_state(job_state)
