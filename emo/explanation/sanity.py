"""Sanity checks of explanations (Adebayo et al. 2018): an explanation of a trained model must
change when the model knows nothing. Two such models per emotion, of the same architecture:
- `randomised`: the T-EMO model's own initial weights, untrained (every layer at once);
- `shuffled`: T-EMO trained the same way on labels shuffled across videos (the class sizes
  kept), so that what it learns cannot be the emotion.
Each method's attribution of these models is compared with its attribution of the trained
model by Spearman correlation; a method whose ranking survives is explaining the input, not
the model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emo.config import TrainParams
from emo.data.dataset import LandmarkData, Partition
from emo.data.mesh import N_LANDMARKS
from emo.models.model import Architecture, build_model, save_model
from emo.models.batches import call_size, model_batches
from emo.models.runs import TrainingContext, training_inputs
from emo.models.training import BinaryTask, fit_binaries

CHECKS = ("randomised", "shuffled")


def shuffled_labels(y: np.ndarray, seed: int) -> np.ndarray:
    """The labels permuted across videos, from generator (seed, 1)."""
    return y[np.random.default_rng([seed, 1]).permutation(len(y))]


@dataclass(frozen=True)
class SanityModelJob:
    emotion: int
    partition: int
    arch: Architecture
    check: str  # one of CHECKS
    save_to: str


def sanity_models(jobs: list[SanityModelJob], data: LandmarkData, partitions: list[Partition],
                  context: TrainingContext) -> list[SanityModelJob]:
    """Build (randomised) or train (shuffled, those of one architecture together) the jobs'
    models and save them (run_many's task signature, a batch of jobs of one check)."""
    if any(job.check not in CHECKS for job in jobs):
        raise ValueError(f"unknown sanity check in {sorted({job.check for job in jobs})}; use {CHECKS}")
    trained = [job for job in jobs if job.check == "shuffled"]
    tasks = []
    for job in trained:
        part = partitions[job.partition]
        shuffled = dataclasses.replace(data, y=shuffled_labels(data.y, part.seed))
        tasks.append(BinaryTask(*training_inputs(shuffled, part, job.emotion, None, context.train.flip),
                                seed=part.seed))
    fitted = dict(zip(trained, fit_binaries(tasks, trained[0].arch, "temo", context.model, context.train)
                      if trained else []))
    for job in jobs:
        if job.check == "shuffled":
            model = fitted[job].model
        else:  # randomised: the seed T-EMO's own training started from
            model = build_model(data.frames, N_LANDMARKS, job.arch, "temo", context.model,
                                seed=partitions[job.partition].seed)
        Path(job.save_to).parent.mkdir(parents=True, exist_ok=True)
        save_model(model, job.save_to)
    return jobs


def sanity_batches(jobs: list[SanityModelJob], frames: int, train: TrainParams) -> list[list[SanityModelJob]]:
    """The jobs in batches of one check and architecture, as many per batch as one training call holds."""
    return model_batches(jobs, lambda job: (job.check, job.arch),
                         lambda job: call_size(frames, N_LANDMARKS, job.arch, train))


def sanity_means(table: pd.DataFrame) -> pd.DataFrame:
    """Rows method, columns check of a table (method, check, emotion, spearman): the mean over
    the emotions of the Spearman with the trained model's ranking (NaN: the check does not apply)."""
    return table.groupby(["method", "check"], sort=False).spearman.mean().unstack("check")
