"""train_full's tracking against a shared `mlflow server` (sqlite backend) on loopback."""

import dataclasses
import json

import pytest

from emo import artifacts
from emo.data.emotions import EMOTIONS
from emo.errors import EmoError
from emo.pipeline import train_full
from tests.support import mlflow_serving
from tests.synthetic import write_dataset

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path):
    with mlflow_serving("server", tmp_path, "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}") as url:
        yield url


def test_train_full_logs_to_a_tracking_server(server, tmp_path, monkeypatch, smoke_params):
    from mlflow.tracking import MlflowClient

    write_dataset(tmp_path, subjects=8, seeds=(0,))
    hparams = tmp_path / artifacts.TUNED_HPARAMS
    hparams.parent.mkdir(parents=True)
    hparams.write_text(json.dumps({"best": {e: {"filters": 2, "units": 3, "neurons": 3} for e in EMOTIONS}}))
    params = dataclasses.replace(smoke_params,
                                 train=dataclasses.replace(smoke_params.train, epochs=1, patience=1, workers=2),
                                 model=dataclasses.replace(smoke_params.model, variants=("temo",)))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    monkeypatch.chdir(tmp_path)
    train_full.run(params.model, params.train, params.tune, progress=False)

    client = MlflowClient(server)
    experiment = client.get_experiment_by_name("emo")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    (parent,) = [r for r in runs if r.data.tags.get("stage") == "train_full" and "kind" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 6 and parent.info.status == "FINISHED"
    assert {c.data.params["emotion"] for c in children} == set(EMOTIONS)
    assert "anger.temo.K468.all.accuracy_mean" in parent.data.metrics
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert parent.data.tags["pipeline"] and parent.data.tags["env.keras_backend"] and parent.data.tags["env.cpu"]
    assert {a.path for a in client.list_artifacts(parent.info.run_id)} == {"summary.csv", "summary.md"}


def test_the_readme_team_server_refuses_anonymous_clients_and_takes_stage_runs_with_a_password(tmp_path, monkeypatch):
    """docs/scaling.md's shared-server recipe: MLflow's own basic-auth app, on loopback here. A stage
    without credentials, or with a user who may only read, stops with one sentence."""
    import urllib.error
    import urllib.request

    from mlflow.server.auth.client import AuthServiceClient
    from mlflow.tracking import MlflowClient

    from emo.tracking.runs import stage_run

    config = tmp_path / "auth.ini"
    config.write_text(f"[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///{tmp_path / 'users.db'}\n"
                      "admin_username = admin\nadmin_password = a-long-secret-1234\n"
                      "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n")
    monkeypatch.setenv("MLFLOW_AUTH_CONFIG_PATH", str(config))
    monkeypatch.setenv("MLFLOW_FLASK_SERVER_SECRET_KEY", "another-long-secret")  # the app refuses to start without
    with mlflow_serving("server", tmp_path, "--app-name", "basic-auth",
                        "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}") as url:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{url}/api/2.0/mlflow/experiments/search?max_results=1", timeout=30)
        assert refused.value.code == 401
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        monkeypatch.chdir(tmp_path)
        with pytest.raises(EmoError) as anonymous, stage_run("check"):
            pass
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "a-long-secret-1234")
        with stage_run("check", demo={"seed": 1}) as run:
            run.log_metrics({"accuracy": 0.5})
        logged = MlflowClient(url).get_run(run.run_id)
        AuthServiceClient(url).create_user("reader", "a-reader-secret-5678")  # the default permission: READ
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "reader")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "a-reader-secret-5678")
        with pytest.raises(EmoError) as read_only, stage_run("check"):
            pass
    assert logged.data.metrics == {"accuracy": 0.5} and logged.info.status == "FINISHED"
    local = "or unset MLFLOW_TRACKING_URI to log to the local store sqlite:///mlflow.db."
    assert str(anonymous.value) == (f"the MLflow tracking server {url} refused emo's requests without valid "
                                    f"credentials: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, {local}")
    assert str(read_only.value) == (f"the MLflow tracking server {url} does not let these credentials log runs to "
                                    f"experiment 'emo': ask its administrator for EDIT permission on it, {local}")
    with pytest.raises(OSError):  # the server's whole process group is gone, uvicorn with it
        urllib.request.urlopen(f"{url}/health", timeout=5)
