"""Training a search's trials, those of one shape together in one call (emo.models.tuner hands
them out; emo.models.batches groups them). A trial is trained wherever its batch goes, the
search's own process or a training worker, so it says everything that process needs and
writes its history and state beside Keras Tuner's trial file. No Keras Tuner here: workers
import this module without it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emo.data.dataset import LandmarkData, Partition
from emo.models.batches import call_size, model_batches
from emo.models.model import Architecture
from emo.models.runs import TrainingContext, training_inputs
from emo.models.search_jobs import SearchJob
from emo.models.search_state import STATE, load_trial_state, save_json, save_trial_state
from emo.models.training import BinaryTask, fit_binaries, validation_scores

HISTORY = "history.json"


@dataclass(frozen=True)
class TrialRun:
    """One trial to train: its search job's data, its point of the grid, and its budget."""

    trial_id: str
    job: SearchJob
    arch: Architecture
    epochs: int  # to train now
    first_epoch: int  # > 0: Hyperband continues a trial of an earlier round from `start_state`
    start_state: str | None
    trial_dir: str
    keep_state: bool  # Hyperband: a later round may continue this trial

    @property
    def shape(self) -> tuple:
        """What trials must share to train in one call."""
        return self.job.k, self.arch, self.epochs, self.first_epoch


def trial_batches(runs: list[TrialRun], frames: int, context: TrainingContext) -> list[list[TrialRun]]:
    """The runs grouped by shape into calls within train.budget_mb (emo.models.batches)."""
    return model_batches(runs, lambda run: run.shape,
                         lambda run: call_size(frames, run.job.k, run.arch, context.train))


def train_trials(runs: list[TrialRun], data: LandmarkData, partitions: list[Partition],
                 context: TrainingContext) -> list[tuple[str, dict[str, float]]]:
    """Train runs of one shape together, each on its job's partition; write each one's history
    (and state, where kept); (trial id, validation scores) of each."""
    tasks = []
    for run in runs:
        part = partitions[run.job.partition]
        tasks.append(BinaryTask(*training_inputs(data, part, run.job.emotion, run.job.landmarks, context.train.flip),
                                seed=part.seed))
    first = runs[0]
    starts = [load_trial_state(Path(run.start_state)) for run in runs] if first.start_state else None
    fitted = fit_binaries(tasks, first.arch, "temo", context.model, context.train, epochs=first.epochs,
                          initial_states=starts, first_epoch=first.first_epoch)
    scores = []
    for run, task, f in zip(runs, tasks, fitted):
        if run.keep_state:
            save_trial_state(Path(run.trial_dir, STATE), f.state)
        save_json(Path(run.trial_dir, HISTORY), f.history)
        scores.append((run.trial_id, {**validation_scores(f, task.X_val, task.positive_val),
                                      "epochs": float(f.epochs), "seconds": f.seconds}))
    return scores
