"""The same params give the same numbers: the smoke pipeline's number stages run again on a
copy of it, against real DVC. Apart from test_workflow.py (whose tests share one copy), so
that the two run side by side."""

import shutil

import numpy as np
import pytest

from emo import artifacts
from tests.support import DVC, ran_stages, run

pytestmark = pytest.mark.slow

# The stages whose outputs hold the pipeline's numbers, in order; the others only draw, score
# checks or package (rerunning them all too would double the test's two minutes).
NUMBER_STAGES = ["extract", "split", "tune", "train_full", "attribute", "baselines", "retrain_k", "report"]


def test_same_params_same_numbers(smoke_repo, tmp_path):
    """Forcing the stages that compute the numbers to run again on the same inputs gives the
    same landmarks, partitions, hyperparameters and metrics, byte for byte (CPU)."""
    copy = tmp_path / "repo"
    shutil.copytree(smoke_repo, copy, symlinks=True)
    ran = ran_stages(run([DVC, "repro", "-f", "-s", *NUMBER_STAGES], copy).stdout)
    assert ran == NUMBER_STAGES
    again, before = np.load(copy / artifacts.LANDMARKS), np.load(smoke_repo / artifacts.LANDMARKS)
    for name in before.files:  # the arrays: the npz's zip entries carry their write time
        assert np.array_equal(again[name], before[name]), name
    for output in (artifacts.SPLITS, artifacts.TUNED_HPARAMS, artifacts.FULL.metrics, artifacts.RETRAIN.metrics,
                   artifacts.REPORT_METRICS, artifacts.ATTRIBUTION_SUMMARY, artifacts.BASELINE_METRICS):
        assert (copy / output).read_text() == (smoke_repo / output).read_text(), output
