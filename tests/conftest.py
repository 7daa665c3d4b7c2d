"""The suite's shared fixtures; plain helpers and constants are in tests/support.py."""

import contextlib
import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from emo.config import load_params
from emo.environment import EMO_PARAMS_READS
from emo.models.backend import use_backend
from tests.support import BACKEND, DVC, REPO, SMOKE, run

use_backend(BACKEND)


@pytest.fixture(scope="session", autouse=True)
def backend_configured():
    from emo.models.backend import configure

    configure(single_threaded=False)


@pytest.fixture
def emo_in_process(capfd):
    """`emo ARGS` from a folder, in this process (its imports and compiled functions stay warm: about
    0.6 s a call against 4 s for a new process), as a CompletedProcess. For tests that check no native
    log lines: what TensorFlow or MediaPipe write, and whether they are hidden, only a new process shows."""
    from emo.cli import main

    def emo(args: list, cwd: Path) -> subprocess.CompletedProcess:
        capfd.readouterr()
        code = 0
        with contextlib.chdir(cwd):
            try:
                main([str(a) for a in args])
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else int(e.code is not None)
        out, err = capfd.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return emo


@pytest.fixture(scope="session")
def smoke_params():
    return load_params(SMOKE)


@pytest.fixture(scope="session")
def face_model() -> Path:
    """The official face model, fetched once into the repository's models/ folder."""
    from emo.artifacts import FACE_MODEL
    from emo.data.face_model import managed_face_model

    return managed_face_model(REPO / FACE_MODEL)


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory, smoke_params, face_model) -> Path:
    """Two subjects, one sequence per emotion each, plus one contempt and one unlabeled."""
    from emo.data.demo import generate_demo

    out = tmp_path_factory.mktemp("demo") / "demo"
    out.mkdir()
    params = dataclasses.replace(smoke_params.demo, subjects=2, frames=(10, 10), workers=2)
    generate_demo(params, face_model, out, progress=False)
    return out


@pytest.fixture
def ckplus_copy(tmp_path, tiny_demo) -> Path:
    """A writable copy of the tiny demo, for tests that damage it."""
    dest = tmp_path / "ckplus"
    shutil.copytree(tiny_demo, dest)
    return dest


def _shared_dir(tmp_path_factory) -> Path:
    """This run's temporary folder, the one that pytest-xdist's workers share (their own
    folders sit inside it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def smoke_repo(tmp_path_factory, face_model):
    """The smoke profile's pipeline, run once per test run however many workers share it;
    tests read it, and copy it to change anything."""
    from filelock import FileLock

    shared = _shared_dir(tmp_path_factory)
    repo, built = shared / "pipeline" / "repo", shared / "pipeline" / "built"
    with FileLock(shared / "pipeline.lock"):
        if not built.is_file():
            shutil.rmtree(repo.parent, ignore_errors=True)  # a worker that died half-way
            _build_smoke_repo(repo, face_model)
            built.touch()
    return repo


def _build_smoke_repo(repo: Path, face_model: Path) -> None:
    tracked = run(["git", "ls-files"], REPO).stdout.split()
    for rel in tracked:
        if (REPO / rel).is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, repo / rel)
    shutil.copy2(SMOKE, repo / "params.yaml")
    (repo / "dvc.lock").unlink(missing_ok=True)
    # The face model is already fetched; the face_model stage only checks its hash.
    (repo / "models").mkdir(exist_ok=True)
    shutil.copy2(face_model, repo / "models" / "face_landmarker.task")
    run(["git", "init", "-q"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "smoke"], repo)
    # Every stage logs the params keys it reads (tests/test_dvc_yaml.py compares them with dvc.yaml).
    run([DVC, "repro"], repo, env={**os.environ, EMO_PARAMS_READS: str(repo / ".params_reads")})
