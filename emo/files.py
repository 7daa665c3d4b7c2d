"""Atomic outputs: a stage writes under a temporary name and renames at the end,
so an interrupted run never leaves a half-written artifact for DVC to cache."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from emo.errors import EmoError


def _writable_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise EmoError(f"cannot create the folder {path.parent} ({e.strerror}); check its permissions.") from None
    if not os.access(path.parent, os.W_OK):
        raise EmoError(f"the folder {path.parent} is not writable; fix its permissions or choose another output.")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_leftovers(path: Path, pattern: str) -> None:
    """Temporary siblings that a killed run (SIGKILL, power loss) could not remove."""
    for stale in path.parent.glob(pattern):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on error it is removed."""
    path = Path(path)
    _writable_parent(path)
    _remove_leftovers(path, f".{path.name}.*.tmp{path.suffix}")
    # The suffix stays last: writers such as OpenCV's pick the format by it.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes it private; outputs are ordinary files
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise EmoError(f"could not write {path} ({e.strerror}); check free disk space and permissions.") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside `path`; on success it replaces `path` whole."""
    path = Path(path)
    _writable_parent(path)
    _remove_leftovers(path, f".{path.name}.*.tmp")
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    tmp.chmod(0o777 & ~_umask())
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise EmoError(f"could not write {path} ({e.strerror}); check free disk space and permissions.") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_json(path: str | Path, data: Any) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_csv(path: str | Path, table) -> None:
    """A pandas DataFrame as CSV, atomically."""
    with atomic_file(path) as tmp:
        table.to_csv(tmp, index=False)
