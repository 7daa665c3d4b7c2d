"""The whole pipeline through real DVC, on the smoke profile, in a scratch git repository."""

import json

import numpy as np
import pytest

from emo.emotions import EMOTIONS
from tests.conftest import DVC
from tests.conftest import run_command as _run

pytestmark = pytest.mark.slow


def test_repro_builds_every_artifact(smoke_repo):
    z = np.load(smoke_repo / "data/landmarks/landmarks.npz")
    assert z["X"].shape[1:] == (8, 2, 468) and len(z["y"]) == 36
    assert (smoke_repo / "data/landmarks/manifest.csv").is_file()
    assert len(json.loads((smoke_repo / "data/splits.json").read_text())["partitions"]) == 2
    assert set(json.loads((smoke_repo / "models/tune/hparams.json").read_text())["best"]) == set(EMOTIONS)
    assert set(json.loads((smoke_repo / "models/full/metrics.json").read_text())) == set(EMOTIONS)
    assert len(list((smoke_repo / "models/full/models").glob("*/*/*.keras"))) == 6 * 2 * 2
    assert (smoke_repo / "mlflow.db").is_file()
    attributions = np.load(smoke_repo / "data/attributions.npz")
    assert attributions["ranking"].shape == (6, 468)
    assert len(list((smoke_repo / "models/retrain_k/models").glob("K32/*/*/*.keras"))) == 6 * 2 * 2
    report = (smoke_repo / "reports/report.md").read_text()
    assert "Tables 6 and 7" in report and "(paper .924 +- .016)" in report
    assert json.loads((smoke_repo / "reports/metrics.json").read_text())["six_class_accuracy"]


def test_dvc_metrics_show_reads_the_summary(smoke_repo):
    out = _run([DVC, "metrics", "show"], smoke_repo)
    assert "models/full/metrics.json" in out and "anger.temo.accuracy_mean" in out
    assert "reports/metrics.json" in out and "six_class_accuracy" in out


def test_second_repro_does_nothing(smoke_repo):
    out = _run([DVC, "repro"], smoke_repo)
    assert "Running stage" not in out, out
