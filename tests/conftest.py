import dataclasses
import shutil
from pathlib import Path

import pytest

from emo.config import load_params

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "profiles" / "smoke.yaml"


@pytest.fixture(scope="session")
def smoke_params():
    return load_params(SMOKE)


@pytest.fixture(scope="session")
def face_model() -> Path:
    """The official face model, fetched once into the repository's models/ folder."""
    from emo.face_model import DEFAULT_PATH, managed_face_model

    return managed_face_model(REPO / DEFAULT_PATH)


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory, smoke_params, face_model) -> Path:
    """Two subjects, one sequence per emotion each, plus one contempt and one unlabeled."""
    from emo.data.demo import generate_demo

    out = tmp_path_factory.mktemp("demo") / "demo"
    params = dataclasses.replace(smoke_params.demo, out=out, subjects=2, frames=(10, 10), workers=2)
    generate_demo(params, face_model, progress=False)
    return out


@pytest.fixture
def ckplus_copy(tmp_path, tiny_demo) -> Path:
    """A writable copy of the tiny demo, for tests that damage it."""
    dest = tmp_path / "ckplus"
    shutil.copytree(tiny_demo, dest)
    return dest
