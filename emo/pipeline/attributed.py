"""What attribute, rivals and check_rankings share: the T-EMO models at all 468 landmarks that
they explain (every seed's, or the first attribute.models seeds'), and the rivals' jobs on them."""

from __future__ import annotations

from pathlib import Path

from emo import artifacts
from emo.config import AttributeParams
from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.errors import EmoError
from emo.explanation.rivals import RivalJob


def attributed_models(models: int | str, n_partitions: int) -> dict[tuple[int, int], Path]:
    """{(emotion, partition): model file}, each of which must exist."""
    used = range(n_partitions if models == "all" else min(int(models), n_partitions))
    paths = {(e, p): artifacts.FULL.model_file(EMOTIONS[e], "temo", N_LANDMARKS, p)
             for e in range(len(EMOTIONS)) for p in used}
    missing = [str(f) for f in paths.values() if not f.is_file()]
    if missing:
        raise EmoError(f"{missing[0]} is missing ({len(missing)} T-EMO models in all); run `dvc repro train_full` first.")
    return paths


def rival_jobs(paths: dict, methods: tuple[str, ...], attribute: AttributeParams, repeats: int) -> list[RivalJob]:
    """One job per model file {(emotion, partition): path}, with the attribute stage's IG settings."""
    a = attribute
    return [RivalJob(e, p, str(f), methods, a.steps, a.method, a.samples, a.mask, a.budget_mb * 2**20, repeats)
            for (e, p), f in paths.items()]
