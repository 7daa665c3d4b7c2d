"""The whole pipeline through real DVC, on the smoke profile, in a scratch git repository."""

import json
import os
import re

import numpy as np
import pandas as pd
import pytest

from emo import artifacts
from emo.data.emotions import EMOTIONS
from emo.explanation.rivals import RIVALS
from emo.tracking.ui import VIEW_TAG
from tests.support import DVC, mlflow_serving, run

pytestmark = pytest.mark.slow


def test_repro_builds_every_artifact(smoke_repo):
    z = np.load(smoke_repo / artifacts.LANDMARKS)
    assert z["X"].shape[1:] == (8, 2, 468) and len(z["y"]) == 36
    assert (smoke_repo / artifacts.MANIFEST).is_file()
    assert len(json.loads((smoke_repo / artifacts.SPLITS).read_text())["partitions"]) == 2
    assert set(json.loads((smoke_repo / artifacts.TUNED_HPARAMS).read_text())["best"]) == set(EMOTIONS)
    assert set(json.loads((smoke_repo / artifacts.FULL.metrics).read_text())) == set(EMOTIONS)
    assert len(list((smoke_repo / artifacts.FULL.models).glob("*/*/*.keras"))) == 6 * 2 * 2
    assert (smoke_repo / "mlflow.db").is_file()
    attributions = np.load(smoke_repo / artifacts.ATTRIBUTIONS)
    assert attributions["ranking"].shape == (6, 468)
    assert len(list((smoke_repo / artifacts.RETRAIN.models).glob("K32/*/*/*.keras"))) == 6 * 2 * 2
    # The timeline's own models: T-EMO only, every emotion and seed, scored on the same test clips
    assert len(list((smoke_repo / artifacts.TIMELINE_SET.models).glob("*/temo/*.keras"))) == 6 * 2
    assert set(json.loads((smoke_repo / artifacts.TIMELINE_SET.metrics).read_text())) == set(EMOTIONS)
    # Keep-and-retrain per ranking (retrain_k.rankings: ig, effect_size): T-EMO on each one's top K.
    runs = pd.read_csv(smoke_repo / artifacts.RETRAIN.runs)
    rival = runs[runs.selection == "effect_size"]
    assert len(rival) == 6 * 2 and set(rival.variant) == {"temo"} and set(rival.K) == {32}
    rankings = json.loads((smoke_repo / artifacts.RIVAL_RANKINGS).read_text())
    assert set(rankings) == {"ig_neutral", "gradient_input", "occlusion", "permutation", "effect_size", "svm_weights"}
    checks = json.loads((smoke_repo / artifacts.CHECK_METRICS).read_text())
    assert checks["truth"] and set(checks["localisation"]) == {*checks["methods"], "random"}
    assert set(checks["sanity"]["ig"]) == {"randomised", "shuffled"}
    assert len(list((smoke_repo / artifacts.CHECK_MODELS).glob("*/*.keras"))) == 2 * 6
    report = (smoke_repo / artifacts.REPORT_MD).read_text()
    assert "Tables 6 and 7" in report and "(paper .924 ± .016)" in report
    assert "## Is the ranking right?" in report and "localises the planted action units best" in report
    comparisons = json.loads((smoke_repo / artifacts.REPORT_METRICS).read_text())["comparisons"]
    assert {"ig_vs_effect_size", "effect_size_vs_random"} <= set(comparisons)
    assert json.loads((smoke_repo / artifacts.REPORT_METRICS).read_text())["six_class_accuracy"]


# sha256 of the smoke pipeline's metrics files as the code before the stage layer (emo/pipeline,
# commit ebd1c36) wrote them on this machine kind: the move changed no number, byte for byte.
BEFORE_THE_MOVE = {
    "models/full/metrics.json": "aea5124310f21b414ff3a370e1bfa1f1c5cb816f9e548f774462c5e8b5924e0a",
    "models/retrain_k/metrics.json": "e6ab80034e970638771652c85093d7f0dba3be3c61f510c4af6a856f4ae37559",
    "data/attribution_summary.json": "73b67305b93cd4ea6fbcecac711cad77bbfd29ad52d0063f2c776bcf76e97903",
    "models/baselines/metrics.json": "6a95f2304a95c7e20b51b301d4b71335926eeb50a93f628966e21eca142f718b",
    "models/evaluate/demo_heldout/metrics.json": "3fd8cd7a1d4bc1e4e6b2a406049247cec5a0bdb6cd4e67485aea8de590cf4aff",
    "reports/metrics.json": "420ed0d8e6bf7d672d125ccc5a04b7b0588d00f05029d237ad376dfa1b983b6d",
}
BEFORE_ON = ("AMD EPYC", "jax")  # CPU model and backend: another gives numbers equal within noise, not bytes


def test_the_stage_layer_gives_the_metrics_of_the_code_before_it(smoke_repo):
    import hashlib

    from emo.tracking.provenance import environment

    env = environment()
    if (env["cpu"], env["keras_backend"]) != BEFORE_ON:
        pytest.skip(f"the digests were recorded on {BEFORE_ON}, this is {env['cpu']} with {env['keras_backend']}")
    for path, digest in BEFORE_THE_MOVE.items():
        content = (smoke_repo / path).read_bytes()
        if path == "reports/metrics.json":  # as it was before the timeline's and the rankings' keys were added
            summary = json.loads(content)
            for key in ("timeline", "timeline_models_accuracy", "rankings"):
                summary.pop(key)
            for comparison in [c for c in summary["comparisons"] if c.startswith("ig_vs_") or c.endswith("_vs_random")
                               and c != "top_vs_random"]:
                summary["comparisons"].pop(comparison)
            content = (json.dumps(summary, indent=2) + "\n").encode()
        if path == "models/retrain_k/metrics.json":  # as it was before keep-and-retrain per rival ranking
            summary = json.loads(content)
            for variants in summary.values():
                for cells in variants.values():
                    for key in [k for k in cells if k.split("-", 1)[-1] in RIVALS]:
                        cells.pop(key)
            content = (json.dumps(summary, indent=2) + "\n").encode()
        assert hashlib.sha256(content).hexdigest() == digest, path


def test_dvc_metrics_show_gives_the_headline_and_any_detailed_file_by_name(smoke_repo):
    out = run([DVC, "metrics", "show"], smoke_repo).stdout
    assert "reports/headline.json" in out and "six_class" in out and "models/full/metrics.json" not in out
    assert max(map(len, out.splitlines())) < 400  # tens of numbers, not thousands
    detail = run([DVC, "metrics", "show", "models/full/metrics.json"], smoke_repo).stdout
    assert "anger.temo.accuracy_mean" in detail


def test_second_repro_does_nothing(smoke_repo):
    out = run([DVC, "repro"], smoke_repo).stdout
    assert "Running stage" not in out, out


STAGES_TRACKED = {"face_model", "demo_data", "extract", "split", "tune", "train_full", "train_timeline", "attribute", "rivals",
                  "check_rankings", "baselines", "retrain_k", "register", "evaluate_landmarks@demo_heldout",
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

    from mlflow.tracking import MlflowClient

    with mlflow_serving("ui", smoke_repo) as url:
        experiment = _rest(url, "experiments/get-by-name?" + urllib.parse.urlencode({"experiment_name": "emo"}))
        tags = {t["key"]: t["value"] for t in experiment["experiment"].get("tags", [])}
        assert tags["mlflow.experimentKind"] == "custom_model_development"
        # emo ui's address opens the shared view the report stage saved: report runs, headline columns
        view = json.loads(tags[VIEW_TAG])
        headline = json.loads((smoke_repo / artifacts.HEADLINE).read_text())
        assert view["selectedColumns"][:len(headline)] == [f"metrics.`{name}`" for name in headline]
        assert view["searchFilter"] == "attributes.run_name = 'report'"
        # The UI's first page: 100 runs, newest first, children included.
        page = _rest(url, "runs/search", {"experiment_ids": [experiment["experiment"]["experiment_id"]],
                                          "max_results": 100, "order_by": ["attributes.start_time DESC"]})["runs"]
    parents = {}
    for record in page:
        run_tags = {t["key"]: t["value"] for t in record["data"].get("tags", [])}
        if "mlflow.parentRunId" not in run_tags:
            parents.setdefault(run_tags["stage"], (run_tags, {m["key"] for m in record["data"].get("metrics", [])}))
    assert STAGES_TRACKED <= set(parents), set(parents)
    assert len({parents[s][0]["pipeline"] for s in STAGES_TRACKED}) == 1  # one `dvc repro`, one tag
    for stage in STAGES_TRACKED - {"face_model", "demo_data"}:  # these two have nothing to measure
        run_tags, metrics = parents[stage]
        assert metrics, stage
    for stage in STAGES_TRACKED:
        run_tags = parents[stage][0]
        assert run_tags["env.keras_backend"] == "jax" and run_tags["env.cpu"] and run_tags["env.keras"], stage
    assert "anger.temo.K32.random.accuracy_mean" in parents["retrain_k"][1]
    assert "anger.K468.best_val_loss" in parents["tune"][1]
    assert "anger.svm_linear.K468.all.roc_auc_std" in parents["baselines"][1]
    assert any(m.startswith("six_class.") for m in parents["report"][1])
    assert set(headline) <= parents["report"][1]
    report_run = next(r for r in page if r["info"]["run_name"] == "report")
    client = MlflowClient(f"sqlite:///{smoke_repo / 'mlflow.db'}")
    logged = {a.path for a in client.list_artifacts(report_run["info"]["run_id"])}
    assert {"report.md", "report.html", "figures"} <= logged, logged
    assert client.list_artifacts(report_run["info"]["run_id"], "figures")
    assert "T-EMO each emotions best K.six_class_accuracy" in parents["evaluate@demo_heldout"][1]


def test_dvc_plots_show_renders_every_plot_offline(smoke_repo, tmp_path):
    from html.parser import HTMLParser

    done = run([DVC, "plots", "show", "-o", str(tmp_path / "plots")], smoke_repo)
    assert "failed to load" not in done.stdout + done.stderr, done.stderr
    page = (tmp_path / "plots" / "index.html").read_text()
    fetched = []

    class Fetches(HTMLParser):
        def handle_starttag(self, tag, attrs):
            fetched.extend(v for k, v in attrs if k in ("src", "href") and v)

    Fetches().feed(page)
    remote = [url for url in fetched if url.startswith(("http:", "https:", "//"))]
    assert not remote, remote  # nothing loaded from the network: the Vega libraries are inlined
    assert "window.vegaEmbed=" in page
    # accuracy against K, two six-class confusion matrices, the held-apart set's (evaluate@NAME's own plot)
    targets = re.findall(r"vegaEmbed\('(#.*?)', spec\)", page)
    assert len(targets) >= 4 and "demo_heldout" in page
    assert not [t for t in targets if "'" in t], targets  # a quote in a plot's id ends DVC's JS string early


def test_a_forced_retune_with_the_same_results_leaves_the_rest_up_to_date(smoke_repo, tmp_path):
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(smoke_repo, copy, symlinks=True)
    done = run([DVC, "repro", "-f", "-s", "tune"], copy)
    assert "tune grid search" in done.stdout + done.stderr  # the progress bar shows ...
    assert not [line for line in (done.stdout + done.stderr).splitlines()
                if any(mark in line for mark in NATIVE_LOG_MARKS)]  # ... TensorFlow's and JAX's own lines do not
    assert "up to date" in run([DVC, "status"], copy).stdout


def test_dvc_exp_run_changes_one_line_and_dvc_exp_show_fits_the_headline_in_200_columns(smoke_repo, tmp_path):
    import shutil

    from emo.tracking.provenance import DVC_EXP_TAG

    copy = tmp_path / "repo"
    shutil.copytree(smoke_repo, copy, symlinks=True)
    run(["git", "add", "-A"], copy)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "smoke results"], copy)
    # A key only the timeline reads (two quick stages rerun, not the rankings), which moves a headline number
    run([DVC, "exp", "run", "-n", "t6", "-S", "timeline.threshold=0.6"], copy)
    diff = run(["git", "diff", "-U0", "params.yaml"], copy).stdout.splitlines()
    changed = [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert len(changed) == 2 and "threshold: 0.6" in changed[1], changed  # one line out, one in

    shown = json.loads(run([DVC, "exp", "show", "--json"], copy).stdout)
    experiments = [e for commit in shown for e in (commit.get("experiments") or [])]
    (t6,) = [e for e in experiments if e.get("name") == "t6"]
    data = t6["revs"][0]["data"]
    assert data["params"]["params.yaml"]["data"]["timeline"]["threshold"] == 0.6
    assert list(data["metrics"]) == ["reports/headline.json"]  # the detailed JSONs are outputs, not metrics
    headline = data["metrics"]["reports/headline.json"]["data"]
    assert 10 <= len(headline) <= 20 and 0 <= headline["six_class"] <= 1 and "vs_svm_p" in headline

    table = run([DVC, "exp", "show", "--no-pager", "--only-changed", "--drop", ".*/"], copy,
                env={**os.environ, "COLUMNS": "200"}).stdout
    lines = table.splitlines()
    assert max(map(len, lines)) <= 200 and "…" not in table, table  # nothing squeezed out
    header = next(line for line in lines if "Experiment" in line).split()
    assert "timeline.threshold" in header, header  # the changed param, and the headline numbers that changed
    assert set(header) - {"Experiment", "Created", "timeline.threshold"} <= set(headline), header
    assert any("[t6]" in line for line in lines)

    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{copy / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("emo").experiment_id
    tagged = client.search_runs([experiment], f"tags.{DVC_EXP_TAG} = 't6'")
    assert {r.data.tags["stage"] for r in tagged} >= {"timeline@demo", "report"}


def test_emo_ui_serves_the_store_and_prints_the_runs_view_address(smoke_repo):
    import subprocess
    import urllib.request

    from tests.support import EMO, free_port

    port = free_port()
    ui = subprocess.Popen([EMO, "ui", "--port", str(port)], cwd=smoke_repo, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True)
    try:
        url = ui.stdout.readline().strip()
        assert url == (f"http://127.0.0.1:{port}/#/experiments/1/runs?viewStateShareKey=headline"
                       "&workflowType=machine_learning")
        with urllib.request.urlopen(url.split("#")[0], timeout=30) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
    finally:
        ui.terminate()
        ui.wait(timeout=30)


def test_the_registered_model_answers_as_emo_predict_does_loaded_and_served(smoke_repo, tmp_path, monkeypatch):
    import urllib.request

    import mlflow

    from emo.predict import COLUMNS, Predictor
    from emo.tracking.processes import mlflow_process
    from tests.support import free_port

    registered = json.loads((smoke_repo / artifacts.REGISTERED).read_text())
    assert registered["name"] == "emo-six-emotions"
    store = f"sqlite:///{smoke_repo / 'mlflow.db'}"
    video = str(next((smoke_repo / "data/raw/demo/cohn-kanade-images").glob("*/*")))
    X = np.load(smoke_repo / artifacts.LANDMARKS)["X"][:3]
    with Predictor.from_folders(smoke_repo / "models/full", smoke_repo / "models/retrain_k",
                                smoke_repo / "params.yaml", landmarks=smoke_repo / artifacts.LANDMARKS,
                                face_model=smoke_repo / artifacts.FACE_MODEL) as predictor:
        expected_video, expected_landmarks = predictor.predict([video]), predictor.predict_landmarks(X)

    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)  # for `mlflow models serve` too
    mlflow.set_tracking_uri(store)
    model = mlflow.pyfunc.load_model(registered["uri"])
    loaded = model.predict(pd.DataFrame({"path": [video]}))
    assert tuple(loaded.columns) == COLUMNS
    assert loaded[list(EMOTIONS)].to_numpy() == pytest.approx(expected_video[list(EMOTIONS)].to_numpy(), abs=1e-6)
    assert list(model.predict(X).emotion) == list(expected_landmarks.emotion)

    def post(url: str, body: dict) -> pd.DataFrame:
        request = urllib.request.Request(f"{url}/invocations", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=300) as response:
            return pd.DataFrame(json.loads(response.read())["predictions"])

    with mlflow_process(["models", "serve", "-m", registered["uri"], "--env-manager", "local"], free_port(),
                        tmp_path, health="/ping", timeout_s=300) as url:
        served = post(url, {"dataframe_split": {"columns": ["path"], "data": [[video]]}})
        served_landmarks = post(url, {"inputs": X.tolist()})
    assert list(served.columns) == list(COLUMNS) and served.emotion[0] == expected_video.emotion[0]
    assert served[list(EMOTIONS)].to_numpy(float) == pytest.approx(expected_video[list(EMOTIONS)].to_numpy(float),
                                                                  abs=1e-6)
    assert served_landmarks[list(EMOTIONS)].to_numpy(float) == pytest.approx(
        expected_landmarks[list(EMOTIONS)].to_numpy(float), abs=1e-6)
