"""What a search keeps on disk to resume: Keras Tuner's project under `tune.directory` (checked
before a search resumes, removed once its stage is done) and the trained state of each
Hyperband trial that a later round may continue."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

from emo.files import atomic_file
from emo.models.search_results import SearchResult

STATE = "state.npz"


def discard_unreadable_state(project: Path) -> None:
    """Remove a search's saved state if one of its JSON files does not parse: Keras Tuner would
    stop on it at every later run. The search then starts afresh, which costs time only."""
    for path in sorted(project.glob("*.json")) + sorted(project.glob("trial_*/*.json")):
        try:
            json.loads(path.read_text())
        except ValueError:  # cut short or not text (UnicodeDecodeError is a ValueError)
            print(f"{path} is unreadable (cut short?): starting the search in {project} afresh.", file=sys.stderr)
            shutil.rmtree(project)
            return


def save_json(path, obj) -> str:
    """keras_tuner.src.utils.save_json, atomically (a temporary name, then a rename): a search
    killed while saving keeps its previous state instead of a file cut short."""
    text = json.dumps(obj)
    with atomic_file(path, stage_output=False) as tmp:
        tmp.write_text(text)
    return text


def save_trial_state(path: Path, state: tuple) -> None:
    """A Fitted.state: (trainable, non-trainable, (step, Adam's m, Adam's v)) as flat arrays."""
    trainable, non_trainable, (step, m, v) = state
    parts = [trainable, non_trainable, [step], m, v]
    with atomic_file(path, stage_output=False) as tmp, open(tmp, "wb") as f:
        np.savez(f, *[np.asarray(a) for part in parts for a in part], sizes=[len(part) for part in parts])


def load_trial_state(path: Path) -> tuple | None:
    if not path.is_file():
        return None
    with np.load(path) as z:
        sizes = z["sizes"]
        arrays = iter(z[f"arr_{i}"] for i in range(int(sizes.sum())))
        trainable, non_trainable, (step,), m, v = ([next(arrays) for _ in range(n)] for n in sizes)
    return trainable, non_trainable, (step, m, v)


def remove_trial_states(project: Path) -> None:
    """A trial's state is kept only for continuing it; once the search has ended, none will be."""
    for state in project.glob(f"trial_*/{STATE}"):
        state.unlink(missing_ok=True)  # the chief and workers sharing tune.directory all clear it


def remove_search_state(results: list[SearchResult]) -> None:
    """Once a stage has written its outputs, its searches' resume state is no longer needed."""
    for r in results:
        shutil.rmtree(Path(r.job.directory) / r.job.project, ignore_errors=True)
