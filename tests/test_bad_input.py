"""The catalogue of bad input (docs/troubleshooting.md): each gives one clear sentence naming
the file or key and what to do, a non-zero exit, no traceback, and no half-written output.

Each case runs a stage script the way `dvc repro` does, in a scratch working folder."""

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml

from emo import artifacts
from tests.support import REPO, SMOKE, run

pytestmark = pytest.mark.slow


def _stage(stage: str, cwd: Path) -> subprocess.CompletedProcess:
    return run([sys.executable, REPO / "stages" / f"{stage}.py"], cwd, check=False)


def _workdir(tmp_path: Path, face_model: Path, root: Path, layout: str = "ckplus") -> Path:
    params = yaml.safe_load(SMOKE.read_text())
    params["data"].update(root=str(root), layout=layout)
    params["extract"]["face_model"] = str(face_model)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return work


def _assert_one_clear_error(done: subprocess.CompletedProcess, *phrases: str) -> str:
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    message = [line for line in done.stderr.strip().splitlines() if line.startswith("error:")]
    assert len(message) == 1, done.stderr[-3000:]
    for phrase in phrases:
        assert phrase in message[0], message[0]
    return message[0]


def _nothing_written(work: Path) -> None:
    landmarks = work / artifacts.LANDMARKS_DIR
    assert not landmarks.exists() or not [p for p in landmarks.iterdir() if p.name != ".gitignore"], \
        list(landmarks.iterdir())


@pytest.mark.parametrize(
    "edit,phrases",
    [
        (lambda p: p["extract"].update(frame=8), ["unknown key 'extract.frame'", "remove it"]),
        (lambda p: p["extract"].pop("box"), ["key 'extract.box' is missing", "add it"]),
        (lambda p: p["train"].update(epochs="ten"), ["'train.epochs' must be an integer"]),
        (lambda p: p["split"].update(test_fraction=0.9), ["split.test_fraction is 0.9"]),
        (lambda p: p["retrain_k"].update(ks=[500]), ["retrain_k.ks holds 500", "between 1 and 468"]),
        (lambda p: p["tune"].update(filters=[]), ["tune.filters is empty"]),
        (lambda p: p["model"].update(variants=["remo"]), ["model.variants"]),
        (lambda p: p["attribute"].update(method="simpson"), ["'attribute.method' must be one of"]),
        (lambda p: p["split"].update(seeds=5), ["'split.seeds' must be a list of integers"]),
        (lambda p: p["evaluate"].update(datasets={"a b": {"root": "x", "layout": "folder"}}),
         ["evaluate.datasets names a dataset 'a b'"]),
    ],
)
def test_wrong_params(tmp_path, edit, phrases):
    params = yaml.safe_load(SMOKE.read_text())
    edit(params)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    done = _stage("extract", tmp_path)
    _assert_one_clear_error(done, "params.yaml", *phrases)
    assert done.stderr.strip().count("\n") == 0, done.stderr  # the sentence and nothing else


def test_params_that_are_not_yaml(tmp_path):
    (tmp_path / "params.yaml").write_text("data:\n  root: [\n")
    _assert_one_clear_error(_stage("split", tmp_path), "not valid YAML at line")


def test_missing_data_folder(tmp_path, face_model):
    work = _workdir(tmp_path, face_model, tmp_path / "nowhere")
    _assert_one_clear_error(_stage("extract", work), "data.root", "does not exist", "change data.root")
    _nothing_written(work)


def test_empty_dataset(tmp_path, face_model):
    (tmp_path / "empty").mkdir()
    work = _workdir(tmp_path, face_model, tmp_path / "empty")
    _assert_one_clear_error(_stage("extract", work), "has no cohn-kanade-images/ folder")
    work = _workdir(tmp_path, face_model, tmp_path / "empty", layout="folder")
    _assert_one_clear_error(_stage("extract", work), "no sequence found under", "data.layout")
    _nothing_written(work)


def test_every_label_file_garbage(tmp_path, face_model, ckplus_copy):
    for f in (ckplus_copy / "Emotion").rglob("*_emotion.txt"):
        f.write_text("happy!")
    work = _workdir(tmp_path, face_model, ckplus_copy)
    _assert_one_clear_error(_stage("extract", work), "no usable sequence", "bad label")
    _nothing_written(work)


def test_every_image_corrupt(tmp_path, face_model, ckplus_copy):
    for f in (ckplus_copy / "cohn-kanade-images").rglob("*.png"):
        f.write_bytes(f.read_bytes()[:100])
    work = _workdir(tmp_path, face_model, ckplus_copy)
    _assert_one_clear_error(_stage("extract", work), "gave landmarks", "unreadable")
    _nothing_written(work)


def test_no_faces_anywhere(tmp_path, face_model, ckplus_copy):
    for f in (ckplus_copy / "cohn-kanade-images").rglob("*.png"):
        cv2.imwrite(str(f), np.full((490, 640), 60, np.uint8))
    work = _workdir(tmp_path, face_model, ckplus_copy)
    _assert_one_clear_error(_stage("extract", work), "no face")
    _nothing_written(work)


def test_corrupt_and_faceless_videos_among_good_ones_are_skipped_with_reasons(tmp_path, face_model, tiny_demo):
    root = tmp_path / "videos"
    for seq in sorted((tiny_demo / "cohn-kanade-images").glob("*/*")):
        label = (tiny_demo / "Emotion" / seq.parent.name / seq.name)
        if not label.is_dir():
            continue
        code = int(float(next(label.glob("*.txt")).read_text()))
        emotion = {1: "anger", 3: "disgust", 4: "fear", 5: "happy", 6: "sad", 7: "surprise"}.get(code)
        if emotion:
            shutil.copytree(seq, root / emotion / f"{seq.parent.name}_{seq.name}")
    (root / "happy" / "S009_broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really")
    blank = root / "sad" / "S009_blank"
    blank.mkdir()
    for i in range(10):
        cv2.imwrite(str(blank / f"{i:03d}.png"), np.full((120, 160), 90, np.uint8))
    work = _workdir(tmp_path, face_model, root, layout="folder")
    done = _stage("extract", work)
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = pd.read_csv(work / artifacts.MANIFEST).set_index("sequence")
    assert manifest.loc["happy/S009_broken.mp4", "reason"].startswith("unreadable")
    assert manifest.loc["sad/S009_blank", "reason"].startswith("no face")
    assert (manifest.status == "ok").sum() == 12


def test_a_dataset_with_one_emotion_missing(tmp_path, face_model, ckplus_copy):
    for f in (ckplus_copy / "Emotion").rglob("*_emotion.txt"):
        if float(f.read_text()) == 4.0:  # fear
            f.unlink()
    work = _workdir(tmp_path, face_model, ckplus_copy)
    assert _stage("extract", work).returncode == 0
    _assert_one_clear_error(_stage("split", work), "has no fear sequence", "every one of the six emotions")
    assert not (work / artifacts.SPLITS).exists()


def test_stages_run_out_of_order(tmp_path, face_model, tiny_demo):
    work = _workdir(tmp_path, face_model, tiny_demo)
    _assert_one_clear_error(_stage("split", work), "landmarks.npz is missing", "dvc repro extract")
    _assert_one_clear_error(_stage("report", work), "is missing", "dvc repro")


def test_emo_ui_before_any_stage_ran(tmp_path):
    from tests.support import EMO

    done = run([EMO, "ui", "--port", "5999"], tmp_path, check=False)
    _assert_one_clear_error(done, "sqlite:///mlflow.db", "no experiment 'emo' yet", "dvc repro")
    assert not list(tmp_path.iterdir())  # no empty store left behind


def test_dvc_plots_show_before_the_report_ran(tmp_path):
    from tests.support import DVC

    for rel in run(["git", "ls-files", ".dvc", "dvc.yaml"], REPO).stdout.split():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, tmp_path / rel)
    run(["git", "init", "-q"], tmp_path)
    done = run([DVC, "plots", "show", "-o", tmp_path / "plots"], tmp_path, check=False)
    assert "failed to load some plots" in done.stderr and not (tmp_path / "plots").exists()
