"""The whole pipeline through real DVC, on the smoke profile, in a scratch git repository."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emo.emotions import EMOTIONS
from tests.conftest import REPO, SMOKE

pytestmark = pytest.mark.slow


def _run(args, cwd):
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
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
    _run(["git", "init", "-q"], repo)
    _run(["git", "add", "-A"], repo)
    _run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "smoke"], repo)
    bin_dir = str(Path(sys.executable).parent)
    _run([f"{bin_dir}/dvc", "repro"], repo)
    return repo


def test_repro_builds_every_artifact(smoke_repo):
    z = np.load(smoke_repo / "data/landmarks/landmarks.npz")
    assert z["X"].shape[1:] == (8, 2, 468) and len(z["y"]) == 36
    assert (smoke_repo / "data/landmarks/manifest.csv").is_file()
    assert len(json.loads((smoke_repo / "data/splits.json").read_text())["partitions"]) == 2
    assert set(json.loads((smoke_repo / "models/tune/hparams.json").read_text())["best"]) == set(EMOTIONS)
    assert set(json.loads((smoke_repo / "models/full/metrics.json").read_text())) == set(EMOTIONS)
    assert len(list((smoke_repo / "models/full/models").glob("*/*/*.keras"))) == 6 * 2 * 2
    assert (smoke_repo / "mlflow.db").is_file()


def test_dvc_metrics_show_reads_the_summary(smoke_repo):
    out = _run([f"{Path(sys.executable).parent}/dvc", "metrics", "show"], smoke_repo)
    assert "models/full/metrics.json" in out and "anger.temo.accuracy_mean" in out


def test_second_repro_does_nothing(smoke_repo):
    out = _run([f"{Path(sys.executable).parent}/dvc", "repro"], smoke_repo)
    assert "Running stage" not in out, out
