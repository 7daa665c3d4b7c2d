"""The params-read log: which params keys each stage reads.

tests/test_dvc_yaml.py holds each stage's `params:` list in dvc.yaml to the keys its code
reads; it learns them by running the smoke pipeline with EMO_PARAMS_READS naming a folder.
The whole mechanism is here:

- `log_reads(stage)` (called by run_stage) points EMO_PARAMS_READS_FILE at
  <folder>/<stage>.txt: an environment variable, so that the stage's worker processes log
  into the same file.
- The parser `bind`s each section to its key (e.g. 'extract'). Reading a field of a bound
  section (`Section.__getattribute__`) appends the field's full key to that file, once per
  process. A copy made with dataclasses.replace is unbound and logs nothing.
- Reads that are no stage's (validation, hashing, comparing, printing, MLflow's params) run
  inside `reads_unlogged()` or go through `field_values`; the `@section` decorator makes a
  section's generated __eq__, __hash__ and __repr__ such reads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, dataclass_transform

from emo.environment import EMO_PARAMS_READS, EMO_PARAMS_READS_FILE


class ReadLog:
    """One process's log: the keys it has written (each once) and how many reads_unlogged
    blocks are open."""

    def __init__(self) -> None:
        self.written: set[str] = set()
        self.paused = 0  # > 0 while reads are no stage's

    def record(self, key: str) -> None:
        log = os.environ.get(EMO_PARAMS_READS_FILE)
        if log and not self.paused and key not in self.written:
            self.written.add(key)
            with open(log, "a") as f:
                f.write(key + "\n")


# The process's log. Module-level because a read happens wherever a section's field is read,
# far from any object that could carry the log there.
READ_LOG = ReadLog()


def log_reads(stage: str) -> None:
    """Log this process's params reads (and its workers') as `stage`'s, when EMO_PARAMS_READS is set."""
    folder = os.environ.get(EMO_PARAMS_READS)
    if folder:
        log = Path(folder) / f"{stage}.txt"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch()  # a stage that reads no key leaves an empty log: it ran
        os.environ[EMO_PARAMS_READS_FILE] = str(log)


@contextlib.contextmanager
def reads_unlogged() -> Iterator[None]:
    """Reads inside are no stage's, and not logged."""
    READ_LOG.paused += 1
    try:
        yield
    finally:
        READ_LOG.paused -= 1


def unlogged(method: Callable) -> Callable:
    """`method`, its reads not logged."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with reads_unlogged():
            return method(*args, **kwargs)

    return wrapper


class Section:
    """A params section: a frozen dataclass (declare it with @section) that knows its key
    (e.g. 'extract') and logs which of its fields a stage reads."""

    _key = ""  # set by bind; a copy made with dataclasses.replace logs nothing

    def __getattribute__(self, name: str):
        value = object.__getattribute__(self, name)
        if not name.startswith("_") and name in type(self).__dataclass_fields__:
            key = object.__getattribute__(self, "_key")
            if key:
                READ_LOG.record(f"{key}.{name}")
        return value


S = TypeVar("S", bound=type[Section])


@dataclass_transform(frozen_default=True)
def section(cls: S) -> S:
    """Declare a Section subclass: a frozen dataclass whose generated __hash__, __eq__ and
    __repr__ do not log (a section used as a dict key, e.g. the trainer cache's, compared or
    printed is not read for its values)."""
    cls = dataclasses.dataclass(frozen=True)(cls)
    for name in ("__hash__", "__eq__", "__repr__"):
        setattr(cls, name, unlogged(getattr(cls, name)))
    return cls


def bind(obj: Section, key: str) -> None:
    """Log the reads of `obj`'s fields under `key` (e.g. 'demo.heldout')."""
    object.__setattr__(obj, "_key", key)


def field_values(obj) -> dict[str, Any]:
    """A section's fields by name, without logging them as read (e.g. for MLflow's params)."""
    return {name: vars(obj)[name] for name in type(obj).__dataclass_fields__}
