import pytest

from emo.errors import EmoError
from emo.files import atomic_dir, atomic_file, write_json


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
    with atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("x")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    with pytest.raises(KeyboardInterrupt):
        with atomic_dir(target) as tmp:
            (tmp / "partial").write_text("x")
            raise KeyboardInterrupt
    assert [p.name for p in target.iterdir()] == ["new.txt"]
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
