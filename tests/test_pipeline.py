"""The whole pipeline through real DVC, on the smoke profile, in a scratch git repository."""

import json

import numpy as np
import pytest

from emo.data.emotions import EMOTIONS
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


STAGES_TRACKED = {"extract", "split", "tune", "train_full", "attribute", "baselines", "retrain_k",
                  "evaluate@demo_heldout", "report"}
NATIVE_LOG_MARKS = ("I0000 ", "W0000 ", "oneDNN", "cuda drivers", "absl::InitializeLog", "XNNPACK")


def _rest(url: str, path: str, body: dict | None = None) -> dict:
    import urllib.request

    request = urllib.request.Request(f"{url}/api/2.0/mlflow/{path}", method="POST" if body else "GET",
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_mlflow_ui_opens_on_the_training_runs_with_every_stage_parent_first(smoke_repo):
    import urllib.parse

    from tests.conftest import mlflow_serving

    with mlflow_serving("ui", smoke_repo) as url:
        experiment = _rest(url, "experiments/get-by-name?" + urllib.parse.urlencode({"experiment_name": "emo"}))
        tags = {t["key"]: t["value"] for t in experiment["experiment"].get("tags", [])}
        assert tags["mlflow.experimentKind"] == "custom_model_development"
        # The UI's first page: 100 runs, newest first, children included.
        page = _rest(url, "runs/search", {"experiment_ids": [experiment["experiment"]["experiment_id"]],
                                          "max_results": 100, "order_by": ["attributes.start_time DESC"]})["runs"]
    parents = {}
    for run in page:
        run_tags = {t["key"]: t["value"] for t in run["data"].get("tags", [])}
        if "mlflow.parentRunId" not in run_tags:
            parents.setdefault(run_tags["stage"], (run_tags, {m["key"] for m in run["data"].get("metrics", [])}))
    assert STAGES_TRACKED <= set(parents), set(parents)
    assert len({parents[s][0]["pipeline"] for s in STAGES_TRACKED}) == 1  # one `dvc repro`, one tag
    for stage in STAGES_TRACKED:
        run_tags, metrics = parents[stage]
        assert metrics, stage
        assert run_tags["env.keras_backend"] == "jax" and run_tags["env.cpu"] and run_tags["env.keras"], stage
    assert "anger.temo.K32.random.accuracy_mean" in parents["retrain_k"][1]
    assert "anger.K468.best_val_loss" in parents["tune"][1]
    assert "anger.svm_linear.K468.all.roc_auc_std" in parents["baselines"][1]
    assert any(m.startswith("six_class.") for m in parents["report"][1])
    assert "T-EMO each emotions best K.six_class_accuracy" in parents["evaluate@demo_heldout"][1]


def test_a_forced_retune_with_the_same_results_leaves_the_rest_up_to_date(smoke_repo, tmp_path):
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(smoke_repo, copy, symlinks=True)
    done = __import__("subprocess").run([DVC, "repro", "-f", "-s", "tune"], cwd=copy, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "tune grid search" in done.stdout + done.stderr  # the progress bar shows ...
    assert not [line for line in (done.stdout + done.stderr).splitlines()
                if any(mark in line for mark in NATIVE_LOG_MARKS)]  # ... TensorFlow's and JAX's own lines do not
    assert "up to date" in _run([DVC, "status"], copy)


def test_dvc_exp_run_sets_a_param_and_shows_the_experiments_metrics(smoke_repo, tmp_path):
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(smoke_repo, copy, symlinks=True)
    _run([DVC, "exp", "run", "-n", "c2", "-S", "baselines.C=2.0"], copy)
    shown = json.loads(_run([DVC, "exp", "show", "--json"], copy))
    experiments = [e for commit in shown for e in (commit.get("experiments") or [])]
    (c2,) = [e for e in experiments if e.get("name") == "c2"]
    data = c2["revs"][0]["data"]
    assert data["params"]["params.yaml"]["data"]["baselines"]["C"] == 2.0
    baselines = data["metrics"]["models/baselines/metrics.json"]["data"]
    assert 0 <= baselines["svm_linear"]["anger"]["accuracy_mean"] <= 1
