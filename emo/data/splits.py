"""Train / validation / test partitions, one per seed.

Subject-wise by default (no person in two parts, which the paper does not promise) and
stratified by emotion as far as the subjects allow; `random` is the paper's plain split.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.model_selection import ShuffleSplit, StratifiedGroupKFold, StratifiedShuffleSplit

from emo.config import SplitParams
from emo.data.dataset import PART_NAMES, Partition, missing_emotions
from emo.data.emotions import EMOTIONS
from emo.errors import EmoError


RANDOM_DRAWS = 10  # split.mode random: shuffles tried per part before giving up


def _hold_outs(idx: np.ndarray, y: np.ndarray, groups: np.ndarray | None, fraction: float, seed: int):
    """Candidate splits of idx into (rest, held), about `fraction` held out, stratified by y:
    the subject-wise folds of StratifiedGroupKFold, or shuffles; the first is the seed's own
    draw, the others its deterministic redraws."""
    if groups is None:
        counts = np.bincount(y[idx])
        stratified = counts[counts > 0].min() >= 2
        # The first draw is train_test_split's for this seed (same splitter, same state).
        splitter = (StratifiedShuffleSplit if stratified else ShuffleSplit)(
            n_splits=RANDOM_DRAWS, test_size=fraction, random_state=seed)
    else:
        n_groups = len(np.unique(groups[idx]))
        if n_groups < 2:
            raise EmoError("only one subject is left to split; subject-wise splits need more subjects, or set split.mode: random.")
        splitter = StratifiedGroupKFold(n_splits=min(max(2, round(1 / fraction)), n_groups), shuffle=True,
                                        random_state=seed)
    with warnings.catch_warnings():  # "the least populated class has only n members": what the check below is for
        warnings.simplefilter("ignore", UserWarning)
        for rest, held in splitter.split(idx, y[idx], groups[idx] if groups is not None else None):
            yield np.sort(idx[rest]), np.sort(idx[held])


def _partition(y: np.ndarray, groups: np.ndarray | None, params: SplitParams, seed: int) -> Partition:
    """The seed's first draw with every emotion in train, validation and test; a redraw
    (another fold or shuffle, deterministic) only where the first lacks one."""
    everything = np.arange(len(y))
    first = None
    for pool, test in _hold_outs(everything, y, groups, params.test_fraction, seed):
        for train, val in _hold_outs(pool, y, groups, params.val_fraction, seed):
            part = Partition(seed=seed, train=train, val=val, test=test)
            if not missing_emotions(part, y):
                return part
            first = first or part
    name, emotion = missing_emotions(first, y)[0]
    has = y == EMOTIONS.index(emotion)
    source = f"{has.sum()} {emotion} videos" + (f" from {len(np.unique(groups[has]))} subjects" if groups is not None else "")
    raise EmoError(f"split seed {seed}: no draw puts a {emotion} video in the {PART_NAMES[name]} part ({source}); "
                   f"add {emotion} videos, or change split.test_fraction, split.val_fraction or split.seeds.")


def make_partitions(y: np.ndarray, subjects: np.ndarray, params: SplitParams) -> list[Partition]:
    groups = subjects if params.mode == "subject" else None
    if groups is not None and len(np.unique(groups)) < 3:
        raise EmoError(
            f"the data has {len(np.unique(groups))} subject(s); subject-wise train/validation/test needs at least 3 "
            "(add subjects, or set split.mode: random)."
        )
    return [_partition(y, groups, params, seed) for seed in params.seeds]


def partitions_document(partitions: list[Partition], params: SplitParams, n_samples: int) -> dict:
    return {
        "mode": params.mode,
        "n_samples": n_samples,
        "partitions": [
            {"seed": p.seed, "train": p.train.tolist(), "val": p.val.tolist(), "test": p.test.tolist()}
            for p in partitions
        ],
    }


def partition_sizes(partitions: list[Partition]) -> dict[str, float]:
    """The split stage's headline numbers (MLflow): partitions and mean videos per part."""
    return {"partitions": len(partitions),
            **{f"{name}_videos": float(np.mean([len(getattr(p, name)) for p in partitions]))
               for name in ("train", "val", "test")}}


def describe(partitions: list[Partition], y: np.ndarray, subjects: np.ndarray) -> str:
    p = partitions[0]
    parts = ", ".join(f"{name} {len(idx)} videos / {len(np.unique(subjects[idx]))} subjects"
                      for name, idx in (("train", p.train), ("val", p.val), ("test", p.test)))
    return f"{len(partitions)} partitions; seed {p.seed}: {parts}"
