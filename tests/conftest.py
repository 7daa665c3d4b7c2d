import contextlib
import dataclasses
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from emo.models.backend import use_backend
from emo.config import READS_FOLDER, load_params

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "profiles" / "smoke.yaml"
BIN = Path(sys.executable).parent  # the environment's dvc, emo and mlflow
DVC = str(BIN / "dvc")
# The backend of these tests: params.yaml's, or EMO_TEST_BACKEND (test_backends.py reruns the
# model, trainer and IG tests under the other one in a subprocess).
BACKEND = os.environ.get("EMO_TEST_BACKEND") or load_params(REPO / "params.yaml").train.backend
use_backend(BACKEND)


@pytest.fixture(scope="session", autouse=True)
def backend_configured():
    from emo.models.backend import configure

    configure(single_threaded=False)


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def mlflow_serving(command: str, cwd: Path, *options: str):
    """`mlflow server` or `mlflow ui` on a free loopback port, until the block ends; yields its URL."""
    import time
    import urllib.request

    port = free_port()
    process = subprocess.Popen([str(BIN / "mlflow"), command, "--host", "127.0.0.1", "--port", str(port),
                                "--workers", "1", *options], cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2)
                break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    raise RuntimeError(f"mlflow {command} did not start")
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def run_command(args, cwd, env=None):
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="session")
def smoke_repo(tmp_path_factory, face_model):
    repo = tmp_path_factory.mktemp("pipeline") / "repo"
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for rel in tracked:
        if (REPO / rel).is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, repo / rel)
    shutil.copy2(SMOKE, repo / "params.yaml")
    (repo / "dvc.lock").unlink(missing_ok=True)
    # The face model is already fetched; the face_model stage only checks its hash.
    (repo / "models").mkdir(exist_ok=True)
    shutil.copy2(face_model, repo / "models" / "face_landmarker.task")
    run_command(["git", "init", "-q"], repo)
    run_command(["git", "add", "-A"], repo)
    run_command(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "smoke"], repo)
    # Every stage logs the params keys it reads (tests/test_dvc_yaml.py compares them with dvc.yaml).
    run_command([DVC, "repro"], repo, env={**os.environ, READS_FOLDER: str(repo / ".params_reads")})
    return repo
