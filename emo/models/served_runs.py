"""Final training runs (train_full's, train_timeline's, retrain_k's) served to Keras Tuner's distributed workers.

The run list is a grid over run indices (emo.models.oracles.GridOracle) that the chief serves
as it serves a search; each worker trains the runs it is handed, those of one shape together
(emo.models.runs.run_batch), and leaves each run's numbers and model in its trial's folder
under tune.directory, which the chief and its workers share; the chief reads them back as
RunResults. The chief writes the run list there first (runs.json) and every trial names its
digest, so a worker never trains a run of another list. A chief that is stopped and rerun
resumes: finished runs are kept. It imports Keras Tuner and Keras: import it where runs are
served, not at the top of a module."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import keras_tuner
import numpy as np
from tqdm import tqdm

from emo.data.dataset import LandmarkData, Partition
from emo.errors import EmoError
from emo.models.batch_tuner import BatchTuner
from emo.models.model import Architecture, build_model
from emo.models.oracles import GridOracle, JobsOracle, trial_timeout
from emo.models.runs import RunResult, RunSpec, TrainingContext, run_batch, spec_batches
from emo.models.search_state import discard_unreadable_state, save_json

RUNS_FILE = "runs.json"
RESULT = "result.json"
MODEL = "model.keras"


def spec_document(spec: RunSpec) -> dict:
    """A run as the chief lists it (where its model goes is the chief's own business)."""
    return {"emotion": spec.emotion, "variant": spec.variant, "partition": spec.partition,
            "arch": spec.arch.as_dict(), "landmarks": None if spec.landmarks is None else list(spec.landmarks),
            "selection": spec.selection, "draw": spec.draw}


def spec_from(doc: dict) -> RunSpec:
    return RunSpec(doc["emotion"], doc["variant"], doc["partition"], Architecture(**doc["arch"]),
                   None if doc["landmarks"] is None else tuple(doc["landmarks"]), doc["selection"], draw=doc["draw"])


def list_digest(listed: list[dict]) -> str:
    return hashlib.sha256(json.dumps(listed, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ServedRun:
    trial_id: str
    spec: RunSpec  # saving its model in the trial's folder
    trial_dir: str


def train_served_runs(batch: list[ServedRun], data: LandmarkData, partitions: list[Partition],
                      context: TrainingContext) -> list[tuple[str, dict[str, float]]]:
    """Train a batch of runs of one shape (BatchTuner's task); each run's numbers go to its
    trial's folder beside its model."""
    results = run_batch([w.spec for w in batch], data, partitions, context)
    for served, r in zip(batch, results):
        save_json(Path(served.trial_dir, RESULT), {
            "run": spec_document(r.spec), "seed": r.seed, "metrics": r.metrics, "history": r.history,
            "seconds": r.seconds, "parameters": r.parameters, "test_index": r.test_index.tolist(),
            "test_probability": r.test_probability.tolist(), "val_loss": r.val_loss,
            "inference_ms": r.inference_ms, "n_test_positive": r.n_test_positive})
    return [(served.trial_id, {"val_loss": r.val_loss}) for served, r in zip(batch, results)]


class RunsTuner(BatchTuner):
    """The run list as a Keras Tuner search: trial values `run` (an index into it) and `runs`
    (the list's digest)."""

    task = staticmethod(train_served_runs)

    def __init__(self, specs: list[RunSpec], digest: str, data: LandmarkData, partitions: list[Partition],
                 context: TrainingContext, role: str, timeout: float | None, workers: int, progress: tqdm, **kwargs):
        self.specs, self.digest = specs, digest  # before BatchTuner's __init__, which builds a model
        super().__init__(data, partitions, context, role, timeout, workers, len(specs), progress, **kwargs)

    def build(self, hp):
        spec = self.specs[hp.Choice("run", list(range(len(self.specs))))]
        return build_model(self.data.frames, spec.k, spec.arch, spec.variant, self.context.model,
                           self.context.train.learning_rate, self.partitions[spec.partition].seed)

    def work(self, trial) -> ServedRun:
        values = trial.hyperparameters.values
        if values["runs"] != self.digest:
            raise EmoError(f"The chief serves another run list ({values['runs']}) than this worker read from "
                           f"{Path(self.project_dir, RUNS_FILE)} ({self.digest}): start the worker again once the "
                           "chief has written its list, with the chief's params and data.")
        trial_dir = self.get_trial_dir(trial.trial_id)
        spec = dataclasses.replace(self.specs[values["run"]], save_to=str(Path(trial_dir, MODEL)))
        return ServedRun(trial.trial_id, spec, trial_dir)

    def batches(self, works: list[ServedRun]) -> list[list[ServedRun]]:
        return spec_batches(works, self.data.frames, self.context.train, spec_of=lambda w: w.spec)

    def describe(self, trial) -> str:
        return self.specs[trial.hyperparameters.values["run"]].name

    def results(self, specs: list[RunSpec]) -> list[RunResult]:
        """Every run's result, its model moved to where `specs` (the chief's) save it."""
        done = {t.hyperparameters.values["run"]: t for t in self.oracle.trials.values() if t.status == "COMPLETED"}
        results = []
        for i, spec in enumerate(specs):
            trial_dir = Path(self.get_trial_dir(done[i].trial_id))
            doc = json.loads((trial_dir / RESULT).read_text())
            if doc["run"] != spec_document(spec):  # the trial's `runs` digest makes this a bug, not a user error
                raise RuntimeError(f"{trial_dir / RESULT} holds run {doc['run']}, not run {i} {spec_document(spec)}")
            if spec.save_to:
                Path(spec.save_to).parent.mkdir(parents=True, exist_ok=True)
                shutil.move(trial_dir / MODEL, spec.save_to)
            results.append(RunResult(
                spec=spec, seed=doc["seed"], metrics=doc["metrics"], history=doc["history"], seconds=doc["seconds"],
                parameters=doc["parameters"], test_index=np.asarray(doc["test_index"], int),
                test_probability=np.asarray(doc["test_probability"], np.float32), val_loss=doc["val_loss"],
                inference_ms=doc["inference_ms"], n_test_positive=doc["n_test_positive"]))
        return results


def runs_oracle(n: int, digest: str, name: str) -> JobsOracle:
    objective = keras_tuner.Objective("val_loss", "min")
    space = keras_tuner.HyperParameters()
    space.Fixed("job", 0)
    space.Fixed("runs", digest)
    space.Choice("run", list(range(n)))
    return JobsOracle(objective, [GridOracle(objective, 1, space)], [name])


def serve_runs(specs: list[RunSpec] | None, role: str, stage: str, directory: str, context: TrainingContext,
               progress: bool) -> list[RunResult] | None:
    """On the chief (`specs` given): serve the runs to the workers until every one is trained
    and return their results, in spec order. On a worker (`specs` None): train the runs it is
    handed, once the chief has listed them, and return None."""
    project = Path(directory, f"{stage}-runs")
    listed_file = project / RUNS_FILE
    timeout = None
    if role == "chief":
        timeout = trial_timeout()  # checked before anything starts
        listed = [spec_document(s) for s in specs]
        discard_unreadable_state(project)  # a state file cut short: start afresh, said once
        if listed_file.is_file() and json.loads(listed_file.read_text()) != listed:
            shutil.rmtree(project)  # another run list's: nothing to resume
        project.mkdir(parents=True, exist_ok=True)
        save_json(listed_file, listed)
    else:
        if not listed_file.is_file():
            print(f"{stage}: waiting for the chief's run list in {project}", file=sys.stderr)
        while not listed_file.is_file():
            time.sleep(1)
        listed = json.loads(listed_file.read_text())
        specs = [spec_from(doc) for doc in listed]
    digest = list_digest(listed)
    data, partitions = context.load()
    with tqdm(total=len(specs), desc=f"{stage} runs", unit="model", disable=not progress or role == "chief") as bar:
        tuner = RunsTuner(specs, digest, data, partitions, context, role, timeout, context.train.workers, bar,
                          oracle=runs_oracle(len(specs), digest, f"{stage} runs"), directory=directory,
                          project_name=project.name, overwrite=False)
        tuner.search(verbose=0)
    if role == "worker":
        return None
    results = tuner.results(specs)
    shutil.rmtree(project)  # the models are in place; the numbers go to the stage's outputs next
    return results
