from pathlib import Path

import pytest

from emo.errors import EmoError
from emo.files import MARKER, atomic_dir, atomic_file, temporary_path, write_csv, write_json


def test_atomic_file_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_file(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_dir_replaces_whole(tmp_path):
    target = tmp_path / "models"
    (target / "stale").mkdir(parents=True)
    (target / MARKER).write_text("")  # an earlier output of emo's
    with atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("x")
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "new.txt"]
    with pytest.raises(KeyboardInterrupt):
        with atomic_dir(target) as tmp:
            (tmp / "partial").write_text("x")
            raise KeyboardInterrupt
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]


def test_unwritable_folder_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(EmoError, match="cannot create the folder"):
        write_json(blocker / "sub" / "out.json", {})


def test_outputs_get_ordinary_permissions(tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        with atomic_file(tmp_path / "a.txt") as tmp:
            tmp.write_text("x")
        with atomic_dir(tmp_path / "d"):
            pass
    finally:
        os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755


def test_full_disk_is_one_clear_error_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    import errno
    import os

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(EmoError, match=r"could not write .*out.json \(No space left on device\); check free disk"):
        write_json(tmp_path / "out.json", {"a": 1})
    assert list(tmp_path.iterdir()) == []


def test_leftovers_of_a_killed_run_are_removed(tmp_path):
    (tmp_path / ".models.abc123.tmp").mkdir()
    (tmp_path / ".models.abc123.tmp" / "half.keras").write_text("x")
    (tmp_path / ".runs.csv.xyz.tmp.csv").write_text("half")
    with atomic_dir(tmp_path / "models") as tmp:
        (tmp / "whole.keras").write_text("x")
    with atomic_file(tmp_path / "runs.csv") as tmp:
        tmp.write_text("whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models", "runs.csv"]


def test_a_folder_emo_did_not_write_is_refused_and_left_unchanged(tmp_path):
    from emo.files import check_replaceable

    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"mine")
    message = f"{foreign} already exists and emo did not write it; move it away or choose another output folder."
    with pytest.raises(EmoError) as refused:
        with atomic_dir(foreign) as tmp:
            (tmp / "x").write_text("x")
    assert str(refused.value) == message
    with pytest.raises(EmoError, match="emo did not write it"):
        check_replaceable(foreign)
    assert [(p.name, p.read_bytes()) for p in foreign.iterdir()] == [("holiday.jpg", b"mine")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"]
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(EmoError, match="emo did not write it"):
        check_replaceable(tmp_path / "a_file")


def test_emo_s_own_empty_or_recorded_folders_are_replaceable(tmp_path, monkeypatch):
    from emo.files import check_replaceable

    check_replaceable(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    check_replaceable(tmp_path / "empty")
    with atomic_dir(tmp_path / "ours") as tmp:
        (tmp / "x").write_text("x")
    check_replaceable(tmp_path / "ours")
    # Written before the marker: a stage output that dvc.lock records, a tune.directory of Keras Tuner projects.
    (tmp_path / "data" / "raw" / "demo" / "S001").mkdir(parents=True)
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\nstages:\n  demo_data:\n    outs:\n    - path: data/raw/demo\n")
    (tmp_path / "tuner" / "tune-anger-K468-abc").mkdir(parents=True)
    (tmp_path / "tuner" / "tune-anger-K468-abc" / "oracle.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    check_replaceable("data/raw/demo")
    check_replaceable("tuner")


def test_a_failed_swap_keeps_the_old_folder(tmp_path, monkeypatch):
    import errno
    import os

    target = tmp_path / "models"
    with atomic_dir(target) as tmp:
        (tmp / "old.keras").write_text("old")
    real_replace = os.replace
    failed = []

    def rename_in_fails(source, destination):
        if Path(destination) == target and not failed:  # the new folder's rename; putting the old one back works
            failed.append(source)
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        return real_replace(source, destination)

    monkeypatch.setattr(os, "replace", rename_in_fails)
    with pytest.raises(EmoError, match="could not write"):
        with atomic_dir(target) as tmp:
            (tmp / "new.keras").write_text("new")
    assert failed and (target / "old.keras").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]


def test_temporary_names_are_ignored_by_git(tmp_path):
    import subprocess

    from tests.support import REPO

    names = []
    with atomic_dir(tmp_path / "models") as folder, atomic_file(tmp_path / "runs.csv") as file:
        names += [folder.name, file.name]
    names.append(temporary_path(tmp_path / "models").name)  # where an old folder goes aside while replaced
    for name in names:
        for where in ("", "models/full/", "reports/figures/"):
            path = f"{where}{name}"
            assert subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO).returncode == 0, path


def test_leftovers_of_a_dead_writer_are_removed_and_a_live_one_s_kept(tmp_path):
    import os
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    (tmp_path / f".runs.csv.emo-{dead}-0a1b2c3d.tmp.csv").write_text("half")
    live = tmp_path / f".runs.csv.emo-{os.getppid()}-0a1b2c3d.tmp.csv"  # another process still writing
    live.write_text("being written")
    with atomic_file(tmp_path / "runs.csv") as tmp:
        tmp.write_text("whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "runs.csv"])


def _two_outputs(root, fail: bool):
    import pandas as pd

    with atomic_dir(root / "models") as tmp:
        (tmp / "a.keras").write_text("model")
    write_csv(root / "runs.csv", pd.DataFrame({"accuracy": [0.5]}))
    if fail:
        raise EmoError("stopped after two outputs")


def test_a_stage_s_outputs_appear_together_or_not_at_all(tmp_path):
    from emo.files import MANIFEST, stage_outputs

    with pytest.raises(EmoError):
        with stage_outputs("train_full"):
            _two_outputs(tmp_path, fail=True)
    assert list(tmp_path.iterdir()) == []  # neither output, no temporary
    with stage_outputs("train_full"):
        _two_outputs(tmp_path, fail=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models", "runs.csv"]
    assert (tmp_path / "models" / MANIFEST).is_file()
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(KeyboardInterrupt):
        with stage_outputs("train_full"):
            with atomic_dir(tmp_path / "models") as tmp:
                (tmp / "b.keras").write_text("other model")
            raise KeyboardInterrupt
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before  # the old set, whole


def test_require_complete_refuses_a_missing_or_stale_manifest(tmp_path):
    from emo.files import MANIFEST, require_complete, stage_outputs

    outputs = [tmp_path / "models", tmp_path / "runs.csv"]
    require_complete("train_full", outputs)  # nothing written yet: the caller says what is missing
    with stage_outputs("train_full"):
        _two_outputs(tmp_path, fail=False)
    require_complete("train_full", outputs)
    (tmp_path / "runs.csv").write_text("accuracy\n0.9\n")  # a newer runs.csv beside the old models
    with pytest.raises(EmoError) as stale:
        require_complete("train_full", outputs)
    assert str(stale.value) == (f"{tmp_path} is inconsistent: {tmp_path / 'runs.csv'} is not what the stage "
                                "train_full wrote with the rest; run `dvc repro` to redo it.")
    (tmp_path / "models" / MANIFEST).unlink()  # as after a kill before the stage finished
    with pytest.raises(EmoError) as incomplete:
        require_complete("train_full", outputs)
    assert str(incomplete.value) == (f"{tmp_path} is incomplete: the last run of its stage train_full did not "
                                     "finish; run `dvc repro` to redo it.")
