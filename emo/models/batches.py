"""Which models train together in one compiled call (emo.models.training.fit_binaries).

Models of one shape (L, F/Q/R, variant) share a call, as many as a memory budget holds. The
batches depend only on the run list and the budget, never on the number of cores or
workers, so that the same params give the same numbers on the same machine.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from emo.config import TrainParams
from emo.models.model import Architecture
from emo.models.training import STEPS_PER_CALL

Job = TypeVar("Job")

MAX_MODELS = 128  # per call: past this, a CPU gains nothing and a GPU little (bench/train.py)


def model_bytes(frames: int, landmarks: int, arch: Architecture, batch_size: int, steps: int) -> int:
    """Rough memory of one model in a training call: its `steps` batches of input, the
    convolution's activations and their gradients for one batch (the widest layer), and its
    LSTM weights (the largest) with their gradient and Adam's two slots, in float32."""
    inputs = steps * batch_size * frames * 2 * landmarks
    activations = 4 * batch_size * frames * 2 * landmarks * arch.filters
    lstm = 4 * arch.units * (2 * landmarks * arch.filters + arch.units + 1)
    return 4 * (inputs + activations + 4 * lstm)


def models_per_call(bytes_per_model: int, budget_mb: int) -> int:
    """How many models of this size one call trains within `budget_mb` (at least one)."""
    return max(1, min(MAX_MODELS, budget_mb * 2**20 // bytes_per_model))


def call_size(frames: int, landmarks: int, arch: Architecture, train: TrainParams) -> int:
    """How many models of this shape one training call holds within train.budget_mb."""
    return models_per_call(model_bytes(frames, landmarks, arch, train.batch_size, STEPS_PER_CALL), train.budget_mb)


def model_batches(jobs: Sequence[Job], shape: Callable[[Job], Hashable], size: Callable[[Job], int]) -> list[list[Job]]:
    """The jobs grouped by shape (in order of first appearance, each keeping the jobs' order)
    and each group cut into the fewest batches of at most `size(job)` models, as equal as
    possible (so 40 models, 32 per call, make two batches of 20, not 32 and 8)."""
    groups: dict[Hashable, list[Job]] = {}
    for job in jobs:
        groups.setdefault(shape(job), []).append(job)
    batches = []
    for group in groups.values():
        n = -(-len(group) // size(group[0]))
        cuts = [round(i * len(group) / n) for i in range(n + 1)]
        batches += [group[a:b] for a, b in zip(cuts, cuts[1:])]
    return batches
