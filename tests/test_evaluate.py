"""The evaluate stage: the smoke pipeline's models on its held-apart demo set, and bad datasets."""

import json

import numpy as np
import pandas as pd
import pytest

from emo import artifacts
from emo.artifacts import Evaluation
from emo.config import EvaluateParams, EvaluationDataset
from emo.data.emotions import EMOTIONS
from emo.errors import EmoError
from emo.evaluation.cross_dataset import dataset_sources
from emo.evaluation.runs import TEMO_BEST_K as BEST
from emo.pipeline import evaluate_landmarks

EVALUATED = Evaluation("demo_heldout")


@pytest.mark.slow
def test_evaluate_writes_its_metrics_plot_and_report_section(smoke_repo):
    metrics = json.loads((smoke_repo / EVALUATED.metrics).read_text())
    assert metrics["videos"] == 12  # 2 subjects x 6 emotions
    assert set(metrics) == {"videos", "T-EMO L=468", BEST, "R-EMO L=468", "R-EMO each emotion's best K",
                            "linear SVM", "rbf SVM"}
    for config in set(metrics) - {"videos"}:
        m = metrics[config]
        assert 0 <= m["six_class_accuracy"] <= 1 and 0 <= m["balanced_accuracy"] <= 1
        assert set(m["roc_auc"]) == set(EMOTIONS) and np.sum(m["confusion"]) == 12
    predictions = pd.read_csv(smoke_repo / EVALUATED.predictions)
    best = predictions[predictions.config == BEST]
    assert len(best) == 12 and (best.predicted == best.actual).mean() == pytest.approx(metrics[BEST]["six_class_accuracy"], abs=1e-4)
    plot = pd.read_csv(smoke_repo / EVALUATED.confusion)  # evaluate@NAME's own dvc plot
    assert list(plot.columns) == ["actual", "predicted"] and len(plot) == 12
    assert (plot.predicted == plot.actual).mean() == pytest.approx(metrics[BEST]["six_class_accuracy"], abs=1e-4)
    report = (smoke_repo / artifacts.REPORT_MD).read_text()
    assert "Other datasets: do the models generalise?" in report and "demo_heldout" in report
    assert (smoke_repo / "reports/figures/evaluate_demo_heldout_confusion.png").is_file()
    summary = json.loads((smoke_repo / artifacts.REPORT_METRICS).read_text())["evaluation"]["demo_heldout"]
    assert summary[BEST]["six_class_accuracy"] == metrics[BEST]["six_class_accuracy"]


@pytest.mark.slow
def test_evaluate_gives_what_emo_predict_gives(smoke_repo, emo_in_process):
    predictions = pd.read_csv(smoke_repo / EVALUATED.predictions)
    manifest = pd.read_csv(smoke_repo / EVALUATED.manifest).set_index("sequence")
    chosen = predictions[predictions.config == BEST].head(3)
    paths = [str(smoke_repo / "data/raw/demo_heldout" / manifest.loc[s, "path"]) for s in chosen.sequence]
    done = emo_in_process(["predict", *paths, "--json"], smoke_repo)
    assert done.returncode == 0, done.stderr
    for video, (_, row) in zip(json.loads(done.stdout)["videos"], chosen.iterrows()):
        expected = [row[f"p_{e}"] for e in EMOTIONS]
        assert [video[e] for e in EMOTIONS] == pytest.approx(expected, abs=1e-5)
        assert video["emotion"] == row.predicted


def _datasets(root, layout="folder"):
    return {"other": EvaluationDataset(root, layout)}


def test_a_missing_folder_is_named(smoke_params, tmp_path):
    with pytest.raises(EmoError, match=r"evaluate.datasets.other.root '.*nowhere' is not a folder"):
        dataset_sources(_datasets(tmp_path / "nowhere"), "other", smoke_params.data.subject_pattern)
    with pytest.raises(EmoError, match="evaluate.datasets has no dataset 'elsewhere'"):
        dataset_sources(smoke_params.evaluate.datasets, "elsewhere", smoke_params.data.subject_pattern)


def test_an_emotion_the_models_do_not_know_is_refused(smoke_params, tmp_path):
    for name in ("happy", "boredom"):
        (tmp_path / name / "clip1").mkdir(parents=True)
        (tmp_path / name / "clip1" / "f1.png").write_bytes(b"")
    with pytest.raises(EmoError, match="holds videos of 'boredom', which the models do not know"):
        dataset_sources(_datasets(tmp_path), "other", smoke_params.data.subject_pattern)


def test_a_dataset_without_a_usable_sequence_is_refused(smoke_params, tmp_path, monkeypatch, face_model):
    (tmp_path / "data" / "happy" / "clip1").mkdir(parents=True)  # a sequence folder without frames
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EMO_FACE_MODEL", str(face_model))
    with pytest.raises(EmoError, match=r"no usable sequence under .*check evaluate.datasets.other.root"):
        evaluate_landmarks.run("other", EvaluateParams(_datasets(tmp_path / "data")), smoke_params.data,
                               smoke_params.extract, progress=False)
    assert not Evaluation("other").landmarks_dir.exists()
