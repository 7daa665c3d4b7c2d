"""The bounds on params values, and the checks that hold a value to them.

Upper bounds: far above any useful setting, low enough that a slip (an extra digit or two)
stops here rather than exhausting memory, disk or days deep inside a stage. Each check raises
ConfigError with one sentence that names the key.
"""

from __future__ import annotations

import typing

from emo.errors import ConfigError

# Turns a field name into the full key for messages, e.g. "params.yaml: extract.frames".
KeyName = typing.Callable[[str], str]

# Seeds: numpy and scikit-learn take 0 to 2**32 - 1; the model seeds its layers with a split
# seed plus up to 4 (emo/models/model.py), which the jax backend needs below 2**32 too.
SEED_MAX = 2**31 - 1
# Demo data on disk: each subject is about seven sequences of PNG frames (CK+: 123 subjects,
# 10 to 60 frames); a recording's length grows with its episodes and stretches.
MAX_SUBJECTS, MAX_EPISODES, MAX_STRETCH_S = 500, 100, 60.0
# Frames per sequence (CK+: 10 to 71): the demo writes a PNG each, X holds [videos, frames, 2, 468]
# in memory, and training 8 batches of it per call.
MAX_FRAMES = 128
MAX_SEQUENCE_FRAMES = 10_000  # extract.min_frames: longer than any clip
MAX_INTENSITY = 3.0  # x the action units' nominal size (the profiles: 1.2 at most)
MAX_CROP = 2048  # pixels per side of the face crop: a larger one only costs memory (the paper: 300)
MAX_WORKERS = 256  # processes each load their own models: more than a machine's cores only cost memory
MAX_SEEDS = 100  # partitions: each trains every model again (the paper: 10)
MAX_BATCH = 512  # training holds 8 batches of [batch, frames, 2, 468] per compiled call
MAX_EPOCHS = 1000  # epochs and patience (the paper: 100 and 10)
MAX_GRID_VALUES = 32  # values per tune list: the grid's trials are their product (the paper: 10 at most)
MAX_WIDTH = 1024  # F, Q, R: the LSTM's weights grow with Q squared (the paper: 74 at most)
MAX_STEPS = 1000  # IG path points (the paper: 50); gauss_legendre builds a steps x steps matrix
MAX_BUDGET_MB = 16_384  # one gradient call's memory; 8 MB is already the fastest on CPU
MAX_REPEATS = 100  # retrain_k.random_draws (each retrains every K) and permutation shuffles
MAX_C = 1e6  # the SVM's training time grows with C
MAX_STRIDE = 1000  # timeline frames between model runs: far past a few seconds it is no timeline


def check_within(value: int | float, key: str, low: int | float, high: int | float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{key} is {value}; it must lie between {low} and {high}.")


def check_each(values: list[int], key: str, low: int, high: int) -> None:
    for value in values:
        if not low <= value <= high:
            raise ConfigError(f"{key} holds {value}; each value must lie between {low} and {high}.")


def check_count(values: list, key: str, high: int) -> None:
    if len(values) > high:
        raise ConfigError(f"{key} lists {len(values)} values; give at most {high}.")


def check_seed(value: int, key: str) -> None:
    if not 0 <= value <= SEED_MAX:
        raise ConfigError(f"{key}: seed {value} is out of range; a seed must lie between 0 and {SEED_MAX} "
                          "(2**31 - 1), which numpy, scikit-learn and Keras all take.")


def check_workers(value: int, key: str) -> None:
    check_within(value, key, 0, MAX_WORKERS)


def check_positive(value: int | float, key: str, low: int | float = 1) -> None:
    if value < low:
        raise ConfigError(f"{key} is {value}; it must be at least {low}.")


def check_non_negative(value: int | float, key: str) -> None:
    if value < 0:
        raise ConfigError(f"{key} is {value}; it must not be negative.")


def check_fraction(value: float, key: str, upper: float = 1.0) -> None:
    check_within(value, key, 0, upper)


def check_ordered_range(pair: tuple, key: str, low: int | float, high: int | float) -> None:
    if not low <= pair[0] <= pair[1] <= high:
        raise ConfigError(f"{key} is {list(pair)}; give [lowest, highest] with {low} <= lowest <= highest <= {high}.")
