"""`emo predict` and `emo explain` without trained models: the table's fixed columns, the
explanation files' names, the H.264 writer, the check that a clip starts at a neutral face,
and the quiet Python API's stderr. (tests/test_cli.py runs both commands on the smoke
pipeline's models.)"""

import io
import json
import subprocess
import sys
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pandas as pd
import pytest

from emo.data.emotions import EMOTIONS
from emo.data.mesh import face_mesh
from emo.errors import EmoError
from emo.artifacts import RunSet
from emo.models.ensemble import EmotionModels
from emo.predict import COLUMNS, Predictor
from emo.predict.explain import explanation_files, explanation_names, refuse_to_overwrite
from emo.predict.predictor import LONG_CLIP_FRAMES, StartsAtPeakWarning, checked_model_choice, long_recording
from emo.predict.tables import VideoResult, results_table, table_text
from emo.report.callouts import gatherings, ranked_figure, spread
from emo.video.clips import Moment
from emo.video.mp4 import H264Writer
from emo.video.onset import BACKWARDS_EVIDENCE, NeutralFace
from tests.support import REPO
from tests.synthetic import expression_clips


def video_codec(path: Path) -> str:
    """The first video stream's line as ffmpeg describes it, e.g. 'Video: h264 (High) ... yuv420p'."""
    done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True,
                          text=True)
    return next(line for line in done.stderr.splitlines() if "Video:" in line)


def _results():
    return [VideoResult("a/clip.mp4", probabilities=np.linspace(0.1, 0.6, 6)),
            VideoResult("missing.mp4", error="missing.mp4 does not exist."),
            VideoResult("b", probabilities=np.full(6, 0.2), notes=[(StartsAtPeakWarning, "starts at its peak?")])]


def test_the_columns_stay_in_order_when_a_path_fails():
    table = results_table(_results())
    assert list(table.columns) == list(COLUMNS) == ["path", "emotion", *EMOTIONS, "warning", "error"]
    assert list(table.emotion) == ["surprise", "", "anger"]
    assert table.loc[1, list(EMOTIONS)].isna().all() and table.error[1] == "missing.mp4 does not exist."
    assert table.warning[2] and table.error[2] == ""
    csv = pd.read_csv(io.StringIO(table_text(table, [], "csv")), keep_default_na=False)
    assert list(csv.columns) == list(COLUMNS) and csv.emotion.tolist() == ["surprise", "", "anger"]
    records = json.loads(table_text(table, [], "json"))["videos"]
    assert all(list(r) == list(COLUMNS) for r in records)
    assert records[1]["anger"] is None and records[0]["surprise"] == 0.6


def test_explanation_names_follow_the_videos_paths(tmp_path):
    for sequence in ("S001/001", "S002/001"):
        (tmp_path / sequence).mkdir(parents=True)
    (tmp_path / "clip.mp4").write_bytes(b"")
    assert explanation_names([tmp_path / "S001/001"]) == [Path("001")]
    assert explanation_names([tmp_path / "S001/001", tmp_path / "S002/001"]) == [Path("S001/001"), Path("S002/001")]
    assert explanation_names([tmp_path / "clip.mp4", tmp_path / "S001/001"]) == [Path("clip"), Path("S001/001")]
    assert explanation_names([tmp_path / "clip.mp4"], Moment(12.5, 14, "s")) == [Path("clip_12.5-14s")]
    files = explanation_files(tmp_path / "out", Path("S001/001"), "anger")
    assert files == {kind: tmp_path / "out" / "S001" / f"001_anger.{kind}" for kind in ("png", "mp4", "json")}


@pytest.mark.parametrize("second", ["clip.avi", "clip.mp4"])
def test_two_videos_that_would_share_files_are_refused(tmp_path, second):
    with pytest.raises(EmoError, match="would write the same files"):
        explanation_names([tmp_path / "clip.mp4", tmp_path / second])


def test_existing_files_are_never_replaced_silently(tmp_path):
    files = explanation_files(tmp_path, Path("001"), "anger")
    refuse_to_overwrite(files.values())
    files["mp4"].write_bytes(b"earlier")
    with pytest.raises(EmoError, match=r"001_anger.mp4 already exists; .*--overwrite"):
        refuse_to_overwrite(files.values())


def test_h264_writer_writes_what_browsers_play(tmp_path):
    path = tmp_path / "odd.mp4"
    frames = np.zeros((12, 101, 201, 3), np.uint8)  # odd sides: yuv420p needs even ones
    band = np.arange(201)[None, :] // 10 == np.arange(12)[:, None]  # frame i: columns 10 i to 10 i + 9 red
    frames[..., 2] = np.where(band[:, None, :], 255, 0)
    with H264Writer(path, 10, (201, 101)) as video:
        for frame in frames:
            video.write(frame)
    stream = video_codec(path)
    assert "h264" in stream and "yuv420p" in stream, stream
    capture = cv2.VideoCapture(str(path))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    ok, first = capture.read()
    assert ok and first.shape[:2] == (102, 202) and first[50, 5, 2] > 200  # red, padded by one
    with pytest.raises(ValueError, match="frame of shape"):
        H264Writer(tmp_path / "small.mp4", 10, (64, 48)).write(frames[0])


def test_a_clip_played_backwards_is_told_from_one_played_forwards():
    rng = np.random.default_rng(0)
    model = NeutralFace.fit(*expression_clips(rng, 20))
    X, _ = expression_clips(rng, 5)  # other people
    forward, backward = model.backwards_evidence(X), model.backwards_evidence(X[:, ::-1])
    assert (forward < 0).all() and (backward > BACKWARDS_EVIDENCE).all(), (forward.max(), backward.min())
    assert np.allclose(forward, -backward)


def test_the_threshold_rises_where_the_clips_are_too_few_to_judge_new_people():
    X, y = expression_clips(np.random.default_rng(2), 20)
    subject = np.repeat(np.arange(20), len(EMOTIONS))
    assert NeutralFace.fit(X, y).threshold == BACKWARDS_EVIDENCE
    assert NeutralFace.fit(X, y, subject).threshold == BACKWARDS_EVIDENCE  # enough people: no clip comes near
    assert NeutralFace.fit(X, y, np.zeros(len(y))).threshold == np.inf  # one person: nothing to judge by


def test_neutral_faces_need_two_emotions(tmp_path):
    X, y = expression_clips(np.random.default_rng(1), 2)
    np.savez(tmp_path / "landmarks.npz", X=X[y == 0], y=y[y == 0], subject=np.array(["S1", "S2"]),
             sequence=np.array(["S1/1", "S2/1"]))
    with pytest.raises(EmoError, match="fewer than two emotions"):
        NeutralFace.of_landmarks(tmp_path / "landmarks.npz")


def test_ranks_are_spread_a_line_apart():
    heights = spread(np.array([10.0, 10.0, 11.0, 95.0, 96.0]), gap=5, low=2, high=98)
    assert np.all(np.diff(heights) >= 5 - 1e-9) and heights[0] == 10 and heights[-1] <= 98
    assert heights.tolist() == [10, 15, 20, 93, 98]  # the last two pushed back below `high`


def test_landmarks_gather_by_chains_of_near_steps():
    points = np.array([[0, 0], [4, 0], [8, 0], [100, 0], [103, 2], [50, 50]], float)
    assert [g.tolist() for g in gatherings(points, reach=5)] == [[0, 1, 2], [3, 4], [5]]
    assert [g.tolist() for g in gatherings(points, reach=200)] == [[0, 1, 2, 3, 4, 5]]


def test_sixteen_crowded_landmarks_each_get_their_own_rank_label():
    canonical = face_mesh().vertices[:, :2] * np.array([1, -1])
    points = (canonical - canonical.min(axis=0)) / np.ptp(canonical, axis=0).max() * 240 + 30  # in a 300 px crop
    corner = points[61]  # a mouth corner, where the lips' contours meet
    ranked = np.argsort(np.hypot(*(points - corner).T))[:16]
    fig = ranked_figure(np.full((300, 300), 128, np.uint8), points, np.linspace(0, 1, 468), ranked, "crowded")
    views = fig.axes[1:-1]  # after the whole face; the last is the colour bar
    labels = [t for ax in views for t in ax.texts]
    assert sorted(int(t.get_text()) for t in labels) == list(range(1, 17))
    for ax in views:  # a line of text apart in each column
        for x in {t.get_position()[0] for t in ax.texts}:
            heights = sorted(t.get_position()[1] for t in ax.texts if t.get_position()[0] == x)
            assert np.all(np.diff(heights) >= 0.03 * np.ptp(ax.get_ylim()) - 1e-9)


def test_the_python_api_hides_native_log_lines_but_not_its_failures(tmp_path):
    script = """
import os, sys
from emo.console import native_logs_hidden
with native_logs_hidden(python_stderr_shown=False):
    os.write(2, b"I0000 native noise\\n")
    print("python noise", file=sys.stderr)
print("after", file=sys.stderr)
with native_logs_hidden(python_stderr_shown=False):
    os.write(2, b"the native cause\\n")
    raise RuntimeError("boom")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
    lines = done.stderr.splitlines()
    assert lines[0] == "after" and "noise" not in done.stderr
    assert "the native cause" in done.stderr and "RuntimeError: boom" in done.stderr


def test_import_emo_stays_cheap():
    done = subprocess.run([sys.executable, "-c", "import sys, emo; print('pandas' in sys.modules, emo.COLUMNS[1], "
                           "callable(emo.predict_videos), emo.predict.__name__)"],
                          capture_output=True, text=True, cwd=REPO)
    assert done.stdout.split() == ["False", "emotion", "True", "emo.predict"], done.stderr


@pytest.mark.parametrize("options, message", [
    (["--csv", "--out", "t.json"], "--csv and --out t.json disagree"),
    (["--out", "t.txt"], "name a .csv or .json file"),
])
def test_a_table_file_that_cannot_be_is_refused_before_any_work(tmp_path, options, message, emo_in_process):
    done = emo_in_process(["predict", "clip.mp4", *options], tmp_path)
    assert done.returncode == 2 and done.stderr.strip() == f"error: {done.stderr.strip()[7:]}"
    assert message in done.stderr and not (tmp_path / "t.json").exists()


def _run_sets(tmp_path: Path, retrain_ks: dict[str, list[int]] | None) -> tuple[RunSet, RunSet]:
    """models/full with every emotion's T-EMO runs at 468 and a model file each, and
    models/retrain_k with the runs of `retrain_ks` (emotion -> K; None: no retrain_k table)."""
    full, retrain = RunSet(tmp_path / "full", per_k=False), RunSet(tmp_path / "retrain", per_k=True)
    rows = [{"emotion": e, "variant": "temo", "K": 468, "seed": 0, "val_loss": 0.5} for e in EMOTIONS]
    for e in EMOTIONS:
        full.model_file(e, "temo", 468, 0).parent.mkdir(parents=True)
        full.model_file(e, "temo", 468, 0).touch()
    pd.DataFrame(rows).to_csv(full.runs, index=False)
    if retrain_ks is not None:
        retrain.root.mkdir()
        pd.DataFrame([{"emotion": e, "variant": "temo", "K": k, "selection": "top", "seed": 0, "val_loss": 0.1}
                      for e, ks in retrain_ks.items() for k in ks]).to_csv(retrain.runs, index=False)
    return full, retrain


def test_best_k_is_never_chosen_among_fewer_k_than_the_pipeline_trains(tmp_path, smoke_params):
    ks = smoke_params.retrain_k.ks
    full, retrain = _run_sets(tmp_path, None)
    with pytest.raises(EmoError) as err:
        checked_model_choice(smoke_params, full, retrain)
    assert str(err.value) == (f"{retrain.runs} is missing, so each emotion's best K (of 468 and retrain_k.ks = {ks}) "
                              "cannot be chosen; run `dvc repro retrain_k`, or pass --k 468 to use the train_full "
                              "models.")
    # Asked for K = 468, the train_full models alone are needed.
    assert [m.k for m in checked_model_choice(smoke_params, full, retrain, k=468)] == [468] * len(EMOTIONS)

    full, retrain = _run_sets(tmp_path / "partial", {e: ks if e != "fear" else ks[1:] for e in EMOTIONS})
    with pytest.raises(EmoError) as err:
        checked_model_choice(smoke_params, full, retrain)
    assert str(err.value) == (f"{retrain.runs} has no T-EMO runs of fear at K = {ks[0]}, so its best K (of 468 and "
                              f"retrain_k.ks = {ks}) cannot be chosen; run `dvc repro` to train them, or pass --k to "
                              "use one K for every emotion.")


def test_paths_that_are_no_videos_are_answered_before_any_model_loads(tmp_path, smoke_params):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not a video")
    # Model files that do not exist: loading them would fail.
    models = [EmotionModels(e, 468, None, [tmp_path / "none.keras"]) for e in EMOTIONS]
    with Predictor(smoke_params, models) as predictor:
        table = predictor.predict([tmp_path / "missing.mp4", tmp_path / "empty", tmp_path / "notes.txt"])
        assert "keras_models" not in vars(predictor) and "faces" not in vars(predictor)
    assert table.error.tolist() == [
        f"{tmp_path / 'missing.mp4'} does not exist.",
        f"no frames in {tmp_path / 'empty'}: the folder holds no image files (.bmp, .jpeg, .jpg, .png, .tif, .tiff).",
        f"{tmp_path / 'notes.txt'} is not a video (.avi, .mkv, .mov, .mp4, .webm) or a folder of frames.",
    ]


@pytest.mark.parametrize("command", [["explain", "clip.mp4", "--out", "x", "--steps", "0"],
                                     ["explain", "clip.mp4", "--out", "x", "--top", "0"],
                                     ["timeline", "clip.mp4", "--stride", "0"]])
def test_steps_top_and_stride_below_one_are_refused_in_one_line(tmp_path, command, emo_in_process):
    done = emo_in_process(command, tmp_path)
    option = command[-2]
    expected = {"--steps": "must be at least 1 (not 0)", "--top": "N must lie between 1 and 468",
                "--stride": "must be at least 1 (not 0)"}[option]
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == f"emo {command[0]}: error: argument {option}: {expected}"
    assert "Traceback" not in done.stderr and not (tmp_path / "x").exists()


def test_a_long_recording_is_pointed_to_the_timeline_and_told_when_no_emotion_reaches_its_threshold():
    p = np.array([0.12, 0.15, 0.19, 0.1, 0.11, 0.13])
    text = long_recording(464, p, 0.7)
    assert "464 frames" in text and "emo timeline" in text
    assert "no emotion reaches timeline.threshold = 0.7 (the most probable, fear, at 0.19)" in text
    assert "threshold" not in long_recording(464, np.where(np.arange(6) == 2, 0.9, 0.1), 0.7)
    assert 71 < LONG_CLIP_FRAMES < 464  # CK+'s longest sequence is a clip; the real 15 s recording is not
