"""Atomic outputs: a stage writes under a temporary name and renames at the end, so an
interrupted run never leaves a half-written artifact for DVC to cache.

- Every temporary name matches TEMPORARY (gitignored) and carries its writer's process id; a
  killed run's leftovers (their process gone) are removed when that output is next written.
- A folder emo writes holds MARKER. An existing folder is replaced only if it holds the marker,
  is empty, or is a stage output that dvc.lock records (written before emo marked its folders):
  never a folder of the user's.
- Replacing renames the old output aside, renames the new one in, then deletes the old.
- Inside `stage_outputs` (run_stage) the old outputs stay aside until the stage ends: a stage
  that fails is undone, so it leaves all its old outputs or none of them; a stage that
  completes writes, last, a manifest (MANIFEST) of every output into its first output folder,
  which `require_complete` checks for readers that DVC does not sequence (emo predict).
"""

from __future__ import annotations

import contextlib
import contextvars
import fnmatch
import glob
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emo.errors import EmoError

TEMPORARY = ".*.emo-*.tmp*"  # every temporary name (and the old version of an output being replaced); in .gitignore
MARKER = ".emo-output"
MARKER_TEXT = "emo wrote this folder; it replaces it whole when the stage that wrote it runs again.\n"
MANIFEST = ".emo-complete.json"
_WRITER = re.compile(r"\.emo-(\d+)-[0-9a-f]+\.tmp")


def temporary_path(path: Path, suffix: str = "") -> Path:
    """A new name beside `path` for its temporary version or its old one: hidden, matching
    TEMPORARY, with this process's id (and `suffix` last: writers such as OpenCV's pick the
    format by it)."""
    return path.parent / f".{path.name}.emo-{os.getpid()}-{secrets.token_hex(4)}.tmp{suffix}"


def _writable_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise EmoError(f"cannot create the folder {path.parent} ({e.strerror}); check its permissions.") from None
    if not os.access(path.parent, os.W_OK):
        raise EmoError(f"the folder {path.parent} is not writable; fix its permissions or choose another output.")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _remove_leftovers(path: Path, suffix: str) -> None:
    """Temporaries of `path` that a killed run (SIGKILL, power loss) could not remove: those whose
    process is gone, and those named before names held one. A live writer's are left alone."""
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp{suffix}"):
        writer = _WRITER.search(stale.name)
        if writer is None or not _alive(int(writer[1])):
            _remove(stale)


def _recorded_output(path: Path) -> bool:
    """Whether dvc.lock (in the working directory: stages run at the repository's root) records
    `path` as an output of a stage that completed."""
    import yaml

    lock = Path("dvc.lock")
    if not lock.is_file():
        return False
    stages = (yaml.safe_load(lock.read_text()) or {}).get("stages", {})
    target = path.resolve()
    return any(Path(out["path"]).resolve() == target for stage in stages.values() for out in stage.get("outs", []))


def _search_state(path: Path) -> bool:
    """Whether `path` holds Keras Tuner projects only (a tune.directory from before the marker):
    folders each holding Keras Tuner's oracle.json."""
    return all((p / "oracle.json").is_file() for p in path.iterdir())


def check_replaceable(path: str | Path) -> None:
    """EmoError unless `path` is absent or a folder that emo may replace whole: one it wrote (it
    holds MARKER), an empty one, or one written before the marker existed (a stage output that
    dvc.lock records, or a tune.directory of Keras Tuner projects)."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    if path.is_dir() and not path.is_symlink() and (
            (path / MARKER).is_file() or not any(path.iterdir()) or _recorded_output(path) or _search_state(path)):
        return
    raise EmoError(f"{path} already exists and emo did not write it; move it away or choose another output folder.")


@dataclass
class StageOutputs:
    """The outputs replaced so far by the stage running in process `pid`, with their old versions
    (None where there was none), set aside until the stage ends. `stage_outputs` holds the one of
    the running stage in CURRENT_STAGE, the context that atomic_file and atomic_dir record into."""

    stage: str
    pid: int
    replaced: list[tuple[Path, Path | None]] = field(default_factory=list)

    def undo(self) -> None:
        """Every output replaced gets its old version back, or is removed where there was none."""
        for path, aside in reversed(self.replaced):
            _remove(path)
            if aside is not None:
                os.replace(aside, path)

    def complete(self) -> None:
        """Delete the old versions and write the set's manifest, last, into its first folder."""
        for _, aside in self.replaced:
            if aside is not None:
                _remove(aside)
        outputs = list(dict.fromkeys(path for path, _ in self.replaced))
        home = next((p for p in outputs if p.is_dir()), None)
        if home is not None:
            write_json(home / MANIFEST, {"stage": self.stage, "outputs": {
                Path(os.path.relpath(p, home)).as_posix(): _fingerprint(p) for p in outputs}})


# The running stage's outputs, set by `stage_outputs` alone; a context variable rather than a
# parameter of every writer because the writers are called deep inside domain-free helpers
# (write_json, write_csv, savez) that should not know about stages.
CURRENT_STAGE: contextvars.ContextVar[StageOutputs | None] = contextvars.ContextVar("emo_stage_outputs",
                                                                                  default=None)


def _swap_in(tmp: Path, path: Path, suffix: str, stage_output: bool) -> None:
    """Rename `tmp` to `path`: an old `path` is renamed aside first and put back if the rename
    fails; then deleted, or, inside `stage_outputs`, kept until the stage ends."""
    journal = CURRENT_STAGE.get() if stage_output else None
    if journal is not None and journal.pid != os.getpid():  # a worker process forked from the stage
        journal = None
    # What is written inside another output's temporary folder appears when that folder does.
    if any(fnmatch.fnmatch(part, TEMPORARY) for part in path.parent.parts):
        journal = None
    aside = None
    if path.exists() or path.is_symlink():
        aside = temporary_path(path, suffix)
        os.replace(path, aside)
    try:
        os.replace(tmp, path)
    except OSError:
        if aside is not None:
            os.replace(aside, path)
        raise
    if journal is not None:
        journal.replaced.append((path, aside))
    elif aside is not None:
        _remove(aside)


@contextlib.contextmanager
def atomic_file(path: str | Path, stage_output: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on error it is removed.
    `stage_output=False`: a file that outlives a failed stage (a search's resume state), not undone
    with the stage's outputs."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        raise EmoError(f"{path} is a folder, where a file is to be written; move it away or choose another output.")
    _writable_parent(path)
    _remove_leftovers(path, path.suffix)
    tmp = temporary_path(path, path.suffix)
    tmp.touch(mode=0o666, exist_ok=False)  # the umask applies: outputs are ordinary files
    try:
        yield tmp
        _swap_in(tmp, path, path.suffix, stage_output)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise EmoError(f"could not write {path} ({e.strerror}); check free disk space and permissions.") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside `path`; on success it replaces `path` whole, holding
    MARKER. EmoError at once if `path` is a folder that emo may not replace (check_replaceable)."""
    path = Path(path)
    check_replaceable(path)
    _writable_parent(path)
    _remove_leftovers(path, "")
    tmp = temporary_path(path)
    tmp.mkdir(mode=0o777)  # the umask applies
    try:
        yield tmp
        (tmp / MARKER).write_text(MARKER_TEXT)
        _swap_in(tmp, path, "", True)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise EmoError(f"could not write {path} ({e.strerror}); check free disk space and permissions.") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _fingerprint(path: Path) -> dict:
    """What the manifest records of an output: a file's size and sha256; a folder's files and
    their sizes (hashing every model at each `emo predict` would cost seconds)."""
    if path.is_dir():
        return {"files": {p.relative_to(path).as_posix(): p.stat().st_size for p in sorted(path.rglob("*"))
                          if p.is_file() and p.relative_to(path).as_posix() != MANIFEST}}
    with open(path, "rb") as f:
        return {"size": path.stat().st_size, "sha256": hashlib.file_digest(f, "sha256").hexdigest()}


@contextlib.contextmanager
def stage_outputs(stage: str) -> Iterator[StageOutputs]:
    """The outputs that `stage` writes inside this block (atomic_file, atomic_dir) as one set: if
    the block raises (an error, Ctrl-C, SIGTERM), every one it replaced gets its old version back
    (or is removed where there was none); if it completes, the old versions are deleted and a
    manifest of the set is written, last, into its first folder. No manifest where the stage
    writes no folder: its files are read by later stages only, which DVC runs after it completed."""
    journal = StageOutputs(stage, os.getpid())
    token = CURRENT_STAGE.set(journal)
    try:
        yield journal
    except BaseException:
        journal.undo()
        raise
    finally:
        CURRENT_STAGE.reset(token)
    journal.complete()


def require_complete(stage: str, outputs: Iterable[str | Path]) -> None:
    """EmoError unless `outputs` (some of `stage`'s, among them the folder that holds its
    manifest) are as that stage last wrote them whole; nothing to check where none exists yet
    (the caller says what is missing)."""
    outputs = [Path(p) for p in outputs]
    if not any(p.exists() for p in outputs):
        return
    folder = Path(os.path.commonpath(outputs)) if len(outputs) > 1 else outputs[0]
    home = next((p for p in outputs if (p / MANIFEST).is_file()), None)
    try:
        recorded = json.loads((home / MANIFEST).read_text())["outputs"] if home else None
    except (ValueError, KeyError):
        recorded = None
    if recorded is None:
        raise EmoError(f"{folder} is incomplete: the last run of its stage {stage} did not finish; "
                       "run `dvc repro` to redo it.")
    wanted = {os.path.normpath(home / name): entry for name, entry in recorded.items()}
    # Every recorded output and every one asked for, each fingerprinted once (most are both).
    for name in dict.fromkeys([*wanted, *map(os.path.normpath, outputs)]):
        path, expected = Path(name), wanted.get(name)
        if expected is None or not path.exists() or _fingerprint(path) != expected:
            raise EmoError(f"{folder} is inconsistent: {path} is not what the stage {stage} wrote with the rest; "
                           "run `dvc repro` to redo it.")


def write_json(path: str | Path, data: Any) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_csv(path: str | Path, table) -> None:
    """A pandas DataFrame as CSV, atomically."""
    with atomic_file(path) as tmp:
        table.to_csv(tmp, index=False)
