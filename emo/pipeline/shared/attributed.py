"""What attribute, rivals and check_rankings share: the T-EMO models at all 468 landmarks that
they explain (every seed's, or the first attribute.models seeds')."""

from __future__ import annotations

from pathlib import Path

from emo import artifacts
from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.errors import EmoError


def attributed_models(models: int | str, n_partitions: int) -> dict[tuple[int, int], Path]:
    """{(emotion, partition): model file}, each of which must exist."""
    used = range(n_partitions if models == "all" else min(int(models), n_partitions))
    paths = {(e, p): artifacts.FULL.model_file(EMOTIONS[e], "temo", N_LANDMARKS, p)
             for e in range(len(EMOTIONS)) for p in used}
    missing = [str(f) for f in paths.values() if not f.is_file()]
    if missing:
        raise EmoError(f"{missing[0]} is missing ({len(missing)} T-EMO models in all); run `dvc repro train_full` first.")
    return paths
