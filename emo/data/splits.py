"""Train / validation / test partitions, one per seed.

Subject-wise by default (no person in two parts, which the paper does not promise) and
stratified by emotion as far as the subjects allow; `random` is the paper's plain split.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from emo.config import SplitParams
from emo.data.dataset import Partition
from emo.errors import EmoError


def _hold_out(idx: np.ndarray, y: np.ndarray, groups: np.ndarray | None, fraction: float, seed: int):
    """Split idx into (rest, held) with about `fraction` held out, stratified by y."""
    if groups is None:
        counts = np.bincount(y[idx])
        stratify = y[idx] if counts[counts > 0].min() >= 2 else None
        rest, held = train_test_split(idx, test_size=fraction, random_state=seed, stratify=stratify)
        return np.sort(rest), np.sort(held)
    n_groups = len(np.unique(groups[idx]))
    folds = min(max(2, round(1 / fraction)), n_groups)
    if n_groups < 2:
        raise EmoError("only one subject is left to split; subject-wise splits need more subjects, or set split.mode: random.")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    rest, held = next(splitter.split(idx, y[idx], groups[idx]))
    return np.sort(idx[rest]), np.sort(idx[held])


def make_partitions(y: np.ndarray, subjects: np.ndarray, params: SplitParams) -> list[Partition]:
    groups = subjects if params.mode == "subject" else None
    if groups is not None and len(np.unique(groups)) < 3:
        raise EmoError(
            f"the data has {len(np.unique(groups))} subject(s); subject-wise train/validation/test needs at least 3 "
            "(add subjects, or set split.mode: random)."
        )
    everything = np.arange(len(y))
    out = []
    for seed in params.seeds:
        pool, test = _hold_out(everything, y, groups, params.test_fraction, seed)
        train, val = _hold_out(pool, y, groups, params.val_fraction, seed)
        out.append(Partition(seed=seed, train=train, val=val, test=test))
    return out


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
