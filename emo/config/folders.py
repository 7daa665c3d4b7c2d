"""The folders emo deletes and writes anew whole (the demo sets, Keras Tuner's state), and the
check that keeps them inside the project, apart from its own folders, from each other and from
the dataset."""

from __future__ import annotations

import os
from pathlib import Path

from emo.config.bounds import KeyName
from emo.config.data_sections import DataParams, DemoParams
from emo.config.model_sections import TuneParams
from emo.errors import ConfigError

# Top-level folders of the project: never a folder for emo to replace, and the source ones
# (whose content is the project's own) not a place for one either.
PROJECT_FOLDERS = frozenset({"data", "models", "reports"})
SOURCE_FOLDERS = frozenset({"emo", "stages", "tests", "profiles", ".git", ".dvc"})

# What each folder emo replaces is in the committed profiles: the example its messages give.
REPLACED_EXAMPLES = {"demo.out": "data/raw/demo", "demo.heldout.out": "data/raw/demo_heldout",
                     "demo.recordings.out": "data/raw/demo_recordings", "tune.directory": ".tuner"}


def replaced_folders(demo: DemoParams, tune: TuneParams) -> dict[str, Path]:
    """The folders emo deletes and writes anew whole, by their params keys."""
    return {"demo.out": demo.out, "demo.heldout.out": demo.heldout.out, "demo.recordings.out": demo.recordings.out,
            "tune.directory": tune.directory}


def from_project(path: Path) -> Path:
    """`path` relative to the project (the current directory), normalised (it may start with ..)."""
    return Path(os.path.relpath(os.path.normpath(Path.cwd() / path), Path.cwd()))


def check_replaced_folders(data: DataParams, demo: DemoParams, tune: TuneParams, key: KeyName) -> None:
    """The folders emo deletes and writes anew stay inside the project, apart from its own
    folders, from each other and from the dataset (the demo may write the dataset itself)."""
    folders = replaced_folders(demo, tune)
    within = {name: _replaceable(folder, name, key) for name, folder in folders.items()}
    data_root = from_project(data.root)
    for i, (name, folder) in enumerate(within.items()):
        if _overlap(folder, data_root) and not (name == "demo.out" and folder == data_root):
            raise ConfigError(f"{key(name)} is {folders[name]}, which overlaps data.root ({data.root}); "
                              f"choose a folder of its own inside the project, such as {REPLACED_EXAMPLES[name]}.")
        for other in list(within)[:i]:
            if _overlap(folder, within[other]):
                raise ConfigError(f"{key(name)} is {folders[name]}, which overlaps {other} ({folders[other]}); "
                                  "choose a folder of its own inside the project, such as "
                                  f"{REPLACED_EXAMPLES[name]}.")


def _replaceable(folder: Path, name: str, key: KeyName) -> Path:
    """The folder params key `name` gives, relative to the project; refused where replacing it
    would delete something that is not emo's output."""
    parts = from_project(folder).parts  # () for the project itself
    if not parts or parts[0] == ".." or parts[0] in SOURCE_FOLDERS or (len(parts) == 1 and parts[0] in PROJECT_FOLDERS):
        raise ConfigError(f"{key(name)} is {folder}; emo deletes and rewrites this folder, so choose one of its "
                          f"own inside the project, such as {REPLACED_EXAMPLES[name]}.")
    return Path(*parts)


def _overlap(a: Path, b: Path) -> bool:
    """a and b are the same folder, or one holds the other."""
    return a == b or a in b.parents or b in a.parents
