"""tune and train_full on a small planted dataset: artifacts, MLflow rows, parallel workers."""

import dataclasses
import json

import pandas as pd
import pytest

from emo import artifacts
from emo.data.emotions import EMOTIONS
from emo.pipeline import train_full, tune
from tests.synthetic import write_dataset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory, smoke_params):
    root = tmp_path_factory.mktemp("training")
    write_dataset(root, subjects=8, seeds=(0, 1))
    params = dataclasses.replace(
        smoke_params,
        train=dataclasses.replace(smoke_params.train, epochs=2, patience=1, workers=2),
        tune=dataclasses.replace(smoke_params.tune, filters=[2, 3], lstm_units=[3], dense_units=[3], strategy="grid",
                                 directory=root / "tuner"),
    )
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.chdir(root)
        table = tune.run(params.model, params.train, params.tune, progress=False)
        summary = train_full.run(params.model, params.train, params.tune, progress=False)
    return root, uri, table, summary


def test_tune_writes_the_best_and_every_trial(trained):
    root, _, table, _ = trained
    doc = json.loads((root / artifacts.TUNED_HPARAMS).read_text())
    assert set(doc["best"]) == set(EMOTIONS) and doc["K"] == 468 and doc["objective"] == "val_loss"
    assert len(doc["trials"]) == 12 and len(table) == 12
    assert table.groupby("emotion").chosen.sum().eq(1).all()
    assert pd.read_csv(root / artifacts.TUNE_TRIALS).shape[0] == 12
    assert all("seconds" not in t for t in doc["trials"])  # the clock stays out of what later stages read
    assert not (root / "tuner").exists() or not any((root / "tuner").iterdir())  # resume state cleaned up


def test_train_full_writes_models_runs_and_summary(trained):
    root, _, _, summary = trained
    full = root / artifacts.FULL.root
    models = sorted(full.glob("models/*/*/*.keras"))
    assert len(models) == 6 * 2 * 2
    runs = pd.read_csv(full / "runs.csv")
    assert len(runs) == 24 and set(runs.variant) == {"temo", "remo"} and set(runs.seed) == {0, 1}
    for column in ("accuracy", "balanced_accuracy", "f1", "roc_auc", "majority_accuracy", "epochs"):
        assert runs[column].notna().all(), column
    timings = pd.read_csv(full / "timings.csv")  # the clock, apart from what later stages read
    assert "seconds_per_epoch" not in runs and len(timings) == 24 and (timings.seconds_per_epoch > 0).all()
    assert (runs.majority_accuracy >= 0.5).all()
    metrics = json.loads((full / "metrics.json").read_text())
    assert set(metrics) == set(EMOTIONS)
    assert {"accuracy_mean", "accuracy_std", "roc_auc_mean"} <= set(metrics["anger"]["temo"])
    assert len(summary) == 12 and (summary.runs == 2).all()
    probabilities = pd.read_csv(full / "test_probabilities.csv")
    assert len(probabilities) == runs.n_test.sum()


def test_saved_model_reloads_and_predicts_like_the_run(trained):
    import numpy as np

    from emo.data.dataset import load_landmarks, load_partitions
    from emo.models.model import load_model
    from emo.models.training import model_input

    root, _, _, _ = trained
    model = load_model(root / artifacts.FULL.model_file("fear", "remo", 468, 1))
    data = load_landmarks(root / artifacts.LANDMARKS)
    part = load_partitions(root / artifacts.SPLITS)[1]
    p = model.predict(model_input(data.X[part.test]), verbose=0)[:, 1]
    table = pd.read_csv(root / artifacts.FULL.predictions)
    logged = table[(table.emotion == "fear") & (table.variant == "remo") & (table.seed == 1)]
    np.testing.assert_allclose(p, logged.probability.to_numpy(), atol=1e-5)


def test_mlflow_holds_parents_and_children(trained):
    from mlflow.tracking import MlflowClient

    _, uri, _, _ = trained
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("emo")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = {r.data.tags["stage"]: r for r in runs if "kind" not in r.data.tags}
    assert set(parents) == {"tune", "train_full"}
    assert parents["train_full"].data.tags["git_commit"]
    children = [r for r in runs if r.data.tags.get("kind") == "models"]
    assert len(children) == 6  # one per emotion (and K), its 2 variants x 2 seeds inside
    child = children[0]
    assert child.data.tags["mlflow.parentRunId"] == parents["train_full"].info.run_id
    assert {"emotion", "L", "P", "seeds", "filters", "units", "neurons"} <= set(child.data.params)
    assert {"temo.all.accuracy_mean", "remo.all.roc_auc_std", "temo.all.balanced_accuracy_mean"} <= set(child.data.metrics)
    per_seed = client.get_metric_history(child.info.run_id, "temo.all.accuracy")
    assert sorted(m.step for m in per_seed) == [0, 1]  # step = seed
    assert {a.path for a in client.list_artifacts(child.info.run_id)} == {"runs.csv", "histories.csv"}
    assert "anger.temo.K468.all.accuracy_mean" in parents["train_full"].data.metrics
    assert "anger.K468.best_val_loss" in parents["tune"].data.metrics
    assert {a.path for a in client.list_artifacts(parents["train_full"].info.run_id)} == {"summary.csv", "summary.md"}
    searches = [r for r in runs if r.data.tags.get("kind") == "search"]
    assert len(searches) == 6
    trials = client.get_metric_history(searches[0].info.run_id, "trial.val_loss")
    assert len(trials) == int(searches[0].data.params["trials"]) == 2
