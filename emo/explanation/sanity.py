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

from emo.data.dataset import LandmarkData, Partition
from emo.data.mesh import N_LANDMARKS
from emo.models.model import Architecture, build_model, save_model
from emo.models.runs import training_inputs
from emo.models.training import fit_binary

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


def sanity_model(job: SanityModelJob, data: LandmarkData, partitions: list[Partition], context) -> SanityModelJob:
    """Build (randomised) or train (shuffled) the job's model and save it (run_many's task signature)."""
    part = partitions[job.partition]
    if job.check == "randomised":  # the seed T-EMO's own training started from
        model = build_model(data.frames, N_LANDMARKS, job.arch, "temo", context.model, seed=part.seed)
    elif job.check == "shuffled":
        shuffled = dataclasses.replace(data, y=shuffled_labels(data.y, part.seed))
        X_train, y_train, X_val, y_val = training_inputs(shuffled, part, job.emotion, None, context.train.flip)
        model = fit_binary(X_train, y_train, X_val, y_val, job.arch, "temo", part.seed, context.model,
                           context.train).model
    else:
        raise ValueError(f"unknown sanity check {job.check!r}; use one of {CHECKS}")
    Path(job.save_to).parent.mkdir(parents=True, exist_ok=True)
    save_model(model, job.save_to)
    return job


def sanity_means(table: pd.DataFrame) -> pd.DataFrame:
    """Rows method, columns check of a table (method, check, emotion, spearman): the mean over
    the emotions of the Spearman with the trained model's ranking (NaN: the check does not apply)."""
    return table.groupby(["method", "check"], sort=False).spearman.mean().unstack("check")
