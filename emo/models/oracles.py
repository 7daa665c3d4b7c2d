"""The Keras Tuner oracles of the F, Q, R searches (emo.models.tuning): a grid that resumes
from its trials, Hyperband fitted to a finite grid, and one oracle serving several searches.

In distributed mode the chief serves JobsOracle with `serve`, Keras Tuner's own gRPC server
loop plus a time limit on every trial it hands out (EMO_TRIAL_TIMEOUT_S): the oracle has no
authentication, so a worker that dies, or any client that reaches its port, could otherwise
take a trial and keep the chief waiting for ever.

They subclass Keras Tuner 1.4.8 (pinned in pyproject.toml) and use some of its private
methods and attributes; each use says beside it why and what it relies on, for whoever
upgrades Keras Tuner to check. Importing this module imports Keras Tuner, and with it Keras.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from concurrent import futures

import keras_tuner
from keras_tuner.src import utils as keras_tuner_utils

from emo.environment import EMO_TRIAL_TIMEOUT_S, KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT
from emo.errors import EmoError
from emo.models.search_state import save_json

DEFAULT_TRIAL_TIMEOUT_S = 6 * 3600  # a paper-profile trial (at most 100 epochs at L = 468) is projected at minutes
# Once every trial has ended, how long the chief waits for the workers still registered to ask
# again (and hear that the search is done): a live worker asks within milliseconds.
GONE_AFTER_S = 60


# Private (keras_tuner.src.utils.save_json): every state file of a search (oracle.json,
# trial_*/trial.json, tuner0.json) is written through it, looked up on the module at each call
# (Stateful.save, Tuner._try_build); ours writes atomically.
keras_tuner_utils.save_json = save_json


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
    trial is taken from the job with the fewest trials whose own oracle has one to give, and its result goes
    back to that oracle. In Keras Tuner's distributed mode one oracle serves all workers;
    through this one they take trials of any job, so none waits while one job's Hyperband
    round waits for its last trials. The jobs' oracles keep their state (Hyperband's brackets)
    inside this one's saved state, so an interrupted search resumes. Each job's space holds
    its index as the fixed value `job`."""

    def __init__(self, objective: keras_tuner.Objective, jobs: list[keras_tuner.Oracle],
                 names: list[str] | None = None):
        super().__init__(objective=objective, seed=1)
        self.jobs = jobs
        self.names = names or [f"job {i}" for i in range(len(jobs))]  # for messages, e.g. "anger K468"
        # trial id -> when it was handed out (time.monotonic()), while it runs; not saved: a
        # restarted chief offers its unfinished trials again (Oracle.reload).
        self.handed_at: dict[str, float] = {}

    # The job with the fewest trials so far goes first (the lowest index on a tie): the jobs'
    # trials come interleaved, so the trials handed out together hold the same grid point for
    # many jobs, which train in one call (emo.models.trials). The order follows from the
    # trials alone, so a resumed search goes on in it.
    def populate_space(self, trial_id):
        waiting = False
        for oracle in sorted(self.jobs, key=lambda oracle: len(oracle.trials)):
            response = oracle.populate_space(trial_id)
            if response["status"] == "RUNNING":
                return response
            waiting |= response["status"] == "IDLE"
        return {"status": "IDLE" if waiting else "STOPPED", "values": None}

    @keras_tuner.synchronized
    def create_trial(self, tuner_id):
        again = tuner_id in self.ongoing_trials  # Oracle.create_trial then returns the same trial
        trial = super().create_trial(tuner_id)
        if trial.status == "RUNNING" and not again:
            self.handed_at[trial.trial_id] = time.monotonic()
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
        self.handed_at.pop(trial.trial_id, None)

    def running(self) -> list[tuple[str, keras_tuner.engine.trial.Trial]]:
        """(worker id, trial) of every trial handed out and not ended. Read without the oracle's
        lock: Keras Tuner's `synchronized` never releases it when a method raises (a bad request
        can make one), and copying a dict is one step that no other thread interleaves."""
        return list(self.ongoing_trials.items())

    def describe(self, trial) -> str:
        values = trial.hyperparameters.values
        if "run" in values:  # a run of train_full's or retrain_k's list (emo.models.served_runs)
            return f"trial {trial.trial_id} ({self.names[values['job']]}: run {values['run']})"
        return (f"trial {trial.trial_id} of the {self.names[values['job']]} search "
                f"(F={values['filters']}, Q={values['units']}, R={values['neurons']})")

    def overdue(self, timeout: float) -> tuple[str, keras_tuner.engine.trial.Trial] | None:
        """The first (worker id, trial) that was handed out more than `timeout` seconds ago."""
        now = time.monotonic()
        for tuner_id, trial in self.running():
            handed = self.handed_at.get(trial.trial_id)
            if handed is not None and now - handed > timeout:
                return tuner_id, trial
        return None

    def get_state(self):
        return {**super().get_state(), "jobs": [oracle.get_state() for oracle in self.jobs]}

    def set_state(self, state):
        super().set_state(state)
        for i, (oracle, job_state) in enumerate(zip(self.jobs, state["jobs"], strict=True)):
            # Oracle.set_state looks its ongoing trials up in its `trials`, which Keras Tuner
            # reloads from the trial files of our project only: hand it its share first.
            oracle.trials = {k: t for k, t in self.trials.items() if t.hyperparameters.values["job"] == i}
            oracle.set_state(job_state)


def duration(seconds: float) -> str:
    """Seconds for a message: '90 s', '10 min', '6 h'."""
    for unit, size, below in (("s", 1, 120), ("min", 60, 7200), ("h", 3600, math.inf)):
        if seconds < below:
            return f"{round(seconds / size, 1):g} {unit}"


def trial_timeout() -> float:
    """EMO_TRIAL_TIMEOUT_S: how many seconds the chief gives a worker to finish a trial."""
    text = os.environ.get(EMO_TRIAL_TIMEOUT_S, "").strip()
    if not text:
        return DEFAULT_TRIAL_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise EmoError(f"{EMO_TRIAL_TIMEOUT_S} is {text!r}; give the seconds a worker may take over one trial "
                       f"before the chief gives up, a number above 0 (unset: {DEFAULT_TRIAL_TIMEOUT_S}, "
                       f"{duration(DEFAULT_TRIAL_TIMEOUT_S)}).")
    return value


def overdue_message(oracle: JobsOracle, tuner_id: str, trial, timeout: float) -> str:
    return (f"The chief waited {duration(timeout)} ({EMO_TRIAL_TIMEOUT_S}) for worker {tuner_id!r} to finish "
            f"{oracle.describe(trial)} and stopped without writing any output: check that worker (and that "
            f"only your own workers can reach the oracle's port), then rerun the chief, which resumes the "
            f"search and offers that trial again, or raise {EMO_TRIAL_TIMEOUT_S} if trials take that long.")


def serve(oracle: JobsOracle, timeout: float, poll: float = 1.0, gone_after: float = GONE_AFTER_S) -> None:
    """The chief's part of a distributed search: serve `oracle` to the workers until every
    trial has ended, as keras_tuner.src.distribute.oracle_chief.start_server does (it binds
    KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT, plain-text gRPC, no authentication), but
    raise EmoError once a trial is not finished `timeout` seconds after it was handed out,
    answer no result for a trial that is not running, and end `gone_after` seconds after the
    last trial even if a worker that registered never comes back for its answer."""
    import grpc

    # Private (keras_tuner.src): the servicer and protos that start_server uses; start_server
    # itself loops until the search ends, with no way to stop it.
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer
    from keras_tuner.src.engine.trial import Trial

    class Servicer(OracleServicer):
        # UpdateTrial and EndTrial name no worker, so the most a chief can check is that the
        # trial is one it handed out and has not ended, with the values it was handed out with.
        def _require_running(self, trial_id: str, context, values: dict | None = None) -> None:
            running = {trial.trial_id: trial for _, trial in oracle.running()}
            if trial_id not in running:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                              f"trial {trial_id!r} is not running on this chief: it was never handed out "
                              "or has ended")
            if values is not None and values != running[trial_id].hyperparameters.values:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                              f"trial {trial_id} came back with other values than it was handed out with")

        def UpdateTrial(self, request, context):
            self._require_running(request.trial_id, context)
            return super().UpdateTrial(request, context)

        def EndTrial(self, request, context):
            trial = Trial.from_proto(request.trial)
            self._require_running(trial.trial_id, context, trial.hyperparameters.values)
            return super().EndTrial(request, context)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))  # one request at a time, as Keras Tuner's
    servicer = Servicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    server.add_insecure_port(f"{os.environ[KERASTUNER_ORACLE_IP]}:{os.environ[KERASTUNER_ORACLE_PORT]}")
    server.start()
    done_since = None
    try:
        while True:
            time.sleep(poll)
            late = oracle.overdue(timeout)
            if late:
                raise EmoError(overdue_message(oracle, *late, timeout))
            # A worker hears STOPPED when nothing is left to hand out (stop_triggered); the search
            # is over once no trial runs, and every worker has heard it or is taken to be gone.
            if servicer.stop_triggered and not oracle.running():
                done_since = done_since or time.monotonic()
                if not oracle.tuner_ids or time.monotonic() - done_since > gone_after:
                    return
    finally:
        # New requests are refused at once; one being answered (which may be saving the
        # oracle's state) gets a few seconds to finish.
        server.stop(grace=5).wait()
