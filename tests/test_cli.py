"""`emo predict` and `emo explain` on the smoke pipeline's trained models, as a user runs them."""

import io
import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pandas as pd
import pytest

from emo.config import load_params
from emo.data.emotions import EMOTIONS
from emo.predict import COLUMNS
from tests.support import EMO, REPO, run
from tests.test_predict_units import video_codec

pytestmark = pytest.mark.slow


@pytest.fixture
def emo(emo_in_process):
    return emo_in_process


@pytest.fixture(scope="module")
def videos(smoke_repo, tmp_path_factory):
    """A demo test video as its CK+ frame folder, as an MP4 and as an AVI, both lossless (PNG and
    FFV1 codecs): the same pixels, so any difference would be the reading's fault."""
    out = tmp_path_factory.mktemp("videos")
    folder = sorted((smoke_repo / "data/raw/demo/cohn-kanade-images/S001").iterdir())[0]
    frames = [cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in sorted(folder.glob("*.png"))]
    h, w = frames[0].shape
    for name, codec in (("clip.mp4", "png "), ("clip.avi", "FFV1")):
        writer = cv2.VideoWriter(str(out / name), cv2.VideoWriter_fourcc(*codec), 10, (w, h))
        for f in frames:
            writer.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
        writer.release()
    (out / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 truncated")
    # The folder played backwards: from the peak to the neutral face, under the same names.
    reversed_folder = out / "reversed" / folder.name
    reversed_folder.mkdir(parents=True)
    names = sorted(folder.glob("*.png"))
    for name, frame in zip(names, reversed(names)):
        shutil.copy2(frame, reversed_folder / name.name)
    return {"folder": folder, "mp4": out / "clip.mp4", "avi": out / "clip.avi", "broken": out / "broken.mp4",
            "reversed": reversed_folder, "frames": len(frames)}


def _predict_json(emo, paths, cwd, *extra):
    done = emo(["predict", *map(str, paths), "--json", *extra], cwd)
    return done, json.loads(done.stdout) if done.stdout.strip().startswith("{") else None


def test_video_file_and_frame_folder_give_the_same_probabilities(smoke_repo, videos, emo):
    done, out = _predict_json(emo, [videos["folder"], videos["avi"], videos["mp4"]], smoke_repo)
    assert done.returncode == 0, done.stderr[-2000:]
    folder, avi, mp4 = ([v[e] for e in EMOTIONS] for v in out["videos"])
    assert folder == pytest.approx(avi, abs=2e-6)  # printed to 6 decimals
    assert folder == pytest.approx(mp4, abs=2e-6)
    assert len({v["emotion"] for v in out["videos"]}) == 1


def test_json_schema(smoke_repo, videos, emo):
    done, out = _predict_json(emo, [videos["folder"]], smoke_repo, "--k", "32")
    assert done.returncode == 0
    assert set(out) == {"models", "videos"}
    assert set(out["models"]) == set(EMOTIONS) and all(m["K"] == 32 for m in out["models"].values())
    (video,) = out["videos"]
    assert list(video) == list(COLUMNS) == ["path", "emotion", *EMOTIONS, "warning", "error"]
    assert video["error"] == "" and video["warning"] == ""
    assert video["emotion"] == max(EMOTIONS, key=video.get)


def test_a_corrupt_file_among_good_ones(smoke_repo, videos, emo):
    done, out = _predict_json(emo, [videos["folder"], videos["broken"], videos["avi"]], smoke_repo)
    assert done.returncode == 1
    good, bad, also_good = out["videos"]
    assert good["anger"] is not None and also_good["anger"] is not None and bad["anger"] is None
    assert bad["emotion"] == "" and list(bad) == list(COLUMNS)
    assert bad["error"] == (f"{videos['broken']} cannot be opened as a video; check the path or URL and that "
                            "OpenCV's FFmpeg reads its format.")
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken.mp4" in errors[0]


def test_table_output(smoke_repo, videos, emo):
    # A new process each, as a user meets them: TensorFlow's and MediaPipe's C++ log lines are hidden
    # unless asked for (they write only once per process)
    done = run([EMO, "predict", str(videos["folder"]), "--timing"], smoke_repo)
    assert "emotion" in done.stdout and "milliseconds per video" in done.stdout
    assert all(e in done.stdout for e in EMOTIONS)
    assert "XNNPACK" not in done.stderr and "I0000" not in done.stderr
    verbose = run([EMO, "predict", str(videos["folder"]), "--verbose"], smoke_repo)
    assert "XNNPACK" in verbose.stderr
    assert "milliseconds" in emo(["predict", "--help"], smoke_repo).stdout.split("--timing")[-1]


def test_missing_models_is_one_clear_sentence(tmp_path, videos, emo):
    shutil.copy2(REPO / "params.yaml", tmp_path / "params.yaml")
    done = emo(["predict", str(videos["folder"])], tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error:") and "dvc repro" in done.stderr


def test_an_empty_folder_has_no_frames(smoke_repo, tmp_path, emo):
    (tmp_path / "empty").mkdir()
    done = emo(["predict", str(tmp_path / "empty")], smoke_repo)
    assert done.returncode == 1 and f"no frames in {tmp_path / 'empty'}" in done.stderr, done.stderr


def test_paths_that_are_no_videos_are_answered_as_rows(smoke_repo, tmp_path, emo):
    done, out = _predict_json(emo, [tmp_path / "missing.mp4", tmp_path / "gone"], smoke_repo)
    assert done.returncode == 1
    assert [v["error"] for v in out["videos"]] == [f"{tmp_path / 'missing.mp4'} does not exist.",
                                                   f"{tmp_path / 'gone'} does not exist."]
    assert sorted(out["models"]) == sorted(EMOTIONS)
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == [
        f"error: {tmp_path / 'missing.mp4'} does not exist.", f"error: {tmp_path / 'gone'} does not exist."]


def test_best_k_without_the_retrain_k_models_is_refused(smoke_repo, videos, tmp_path, emo):
    # A retrain_k stage that failed (or never ran) leaves train_full's models alone.
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "full").symlink_to(smoke_repo / "models" / "full")
    shutil.copy2(smoke_repo / "params.yaml", tmp_path / "params.yaml")
    done = emo(["predict", str(videos["folder"])], tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    ks = load_params(tmp_path / "params.yaml").retrain_k.ks
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: models/retrain_k/runs.csv is missing, so each emotion's best K (of 468 and retrain_k.ks = {ks}) "
        "cannot be chosen; run `dvc repro retrain_k`, or pass --k 468 to use the train_full models.")
    done = emo(["predict", str(videos["folder"]), "--k", "468"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]


def test_unknown_k_is_refused(smoke_repo, videos, emo):
    done = emo(["predict", str(videos["folder"]), "--k", "100"], smoke_repo)
    assert done.returncode == 2 and "no models were trained at K = 100" in done.stderr


def test_explain_writes_picture_video_and_numbers(smoke_repo, videos, tmp_path, emo):
    done = emo(["explain", str(videos["mp4"]), "--out", str(tmp_path), "--emotion", "surprise", "--steps", "8",
                "--timing"], smoke_repo)
    assert done.returncode == 0, done.stderr[-2000:]
    png, mp4, meta = (tmp_path / f"clip_surprise.{ext}" for ext in ("png", "mp4", "json"))
    image = cv2.imread(str(png))
    assert image is not None and image.shape[0] > 300 and image.shape[1] > 600  # the face, and where its top lie
    assert "h264" in video_codec(mp4) and "yuv420p" in video_codec(mp4)  # what browsers, VS Code, Jupyter play
    cap = cv2.VideoCapture(str(mp4))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == videos["frames"]
    assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (600, 600)
    doc = json.loads(meta.read_text())
    assert doc["emotion"] == "surprise" and len(doc["attribution"]) == 468
    assert len(doc["top_landmarks"]) == 16 and doc["attribution"][doc["top_landmarks"][0]] == max(doc["attribution"])
    assert sum(doc["regions"].values()) == pytest.approx(1.0, abs=1e-3)  # the regions do not overlap
    assert "lips" in doc["regions"] and "ig" in doc["timing_s"]
    for shares in (doc["action_units"], doc["emotion_action_units"]):  # FACS units, and "other"
        assert sum(shares.values()) == pytest.approx(1.0, abs=1e-3) and "AU26 jaw drop" in shares
    assert "png:" in done.stdout and "attribution by face region: " in done.stdout and "; by action unit: " in done.stdout


def test_explain_of_a_video_whose_last_frame_does_not_decode(smoke_repo, videos, tmp_path, emo):
    frames = [cv2.imread(str(f)) for f in sorted(videos["folder"].glob("*.png"))]
    h, w = frames[0].shape[:2]
    path = tmp_path / "cut.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()
    data = bytearray(path.read_bytes())
    last = data.rfind(b"\xff\xd8\xff")  # the last frame's JPEG, wiped
    data[last:last + 4000] = bytes(4000)
    path.write_bytes(bytes(data))
    done = emo(["explain", str(path), "--out", str(tmp_path / "out"), "--emotion", "anger", "--steps", "4"],
               smoke_repo)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    cap = cv2.VideoCapture(str(tmp_path / "out" / "cut_anger.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == len(frames) - 1  # the last frame ends the video
    assert cv2.imread(str(tmp_path / "out" / "cut_anger.png")) is not None


def test_explain_of_a_video_without_a_face(smoke_repo, tmp_path, emo):
    blank = tmp_path / "blank"
    blank.mkdir()
    for i in range(6):
        cv2.imwrite(str(blank / f"{i:03d}.png"), np.full((120, 160), 128, np.uint8))
    done = emo(["explain", str(blank), "--out", str(tmp_path / "out")], smoke_repo)
    assert done.returncode == 2 and "no face" in done.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def _csv(done) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(done.stdout), keep_default_na=False)


def test_csv_keeps_its_columns_when_a_path_fails(smoke_repo, videos, tmp_path, emo):
    paths = [videos["folder"], tmp_path / "missing.mp4", videos["avi"]]
    done = emo(["predict", *map(str, paths), "--csv"], smoke_repo)
    assert done.returncode == 1
    table = _csv(done)
    assert list(table.columns) == list(COLUMNS)
    assert table.path.tolist() == [str(p) for p in paths]
    assert table.emotion[0] in EMOTIONS and table.emotion[1] == "" and table.emotion[0] == table.emotion[2]
    assert table.anger[1] == "" and "missing.mp4" in table.error[1] and table.error[0] == ""
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "missing.mp4" in errors[0]


def test_out_writes_the_table_as_csv_or_json(smoke_repo, videos, tmp_path, emo):
    done = emo(["predict", str(videos["folder"]), "--csv"], smoke_repo)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = _csv(done)
    written = emo(["predict", str(videos["folder"]), "--out", str(tmp_path / "t.csv"), "--timing"], smoke_repo)
    assert written.returncode == 0 and f"table: {tmp_path / 't.csv'}" in written.stdout
    assert "milliseconds per video" in written.stdout  # the reader's table on stdout, as without --out
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "t.csv", keep_default_na=False), printed)
    assert emo(["predict", str(videos["folder"]), "--json", "--out", str(tmp_path / "t.txt")],
               smoke_repo).returncode == 0
    (record,) = json.loads((tmp_path / "t.txt").read_text())["videos"]
    assert list(record) == list(COLUMNS) and record["emotion"] == printed.emotion[0]
    assert [record[e] for e in EMOTIONS] == pytest.approx(printed.loc[0, list(EMOTIONS)].tolist(), abs=1e-9)
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically: no temporary file left


def test_a_clip_played_backwards_is_warned_of(smoke_repo, videos, emo):
    done = emo(["predict", str(videos["folder"]), str(videos["reversed"]), "--csv"], smoke_repo)
    assert done.returncode == 0, done.stderr[-2000:]
    table = _csv(done)
    assert table.warning[0] == "" and table.warning[1].startswith("starts at its peak?")
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and str(videos["reversed"]) in warnings[0] and "neutral face" in warnings[0]


API_SCRIPT = """
import json, sys, warnings
import numpy as np
import emo
from emo.errors import EmoError

repo, folder, reversed_folder = (sys.argv[1], sys.argv[2], sys.argv[3])
with emo.Predictor.from_folders(f"{repo}/models/full", f"{repo}/models/retrain_k", f"{repo}/params.yaml",
                                landmarks=f"{repo}/data/landmarks/landmarks.npz",
                                face_model=f"{repo}/models/face_landmarker.task") as predictor:
    videos = predictor.predict([folder, "missing.mp4", reversed_folder])
    data = np.load(f"{repo}/data/landmarks/landmarks.npz")
    X = data["X"][list(data["sequence"]).index(sys.argv[4])][None]
    from_landmarks = predictor.predict_landmarks(X)
    try:
        predictor.predict_landmarks(X[:, :3])
        shape_refused = ""
    except EmoError as e:
        shape_refused = str(e)
print(json.dumps({"columns": list(videos.columns), "landmark_columns": list(from_landmarks.columns),
                  "emotion": videos.emotion.tolist(), "error": videos.error.tolist(),
                  "warning": videos.warning.tolist(), "path": from_landmarks.path.tolist(),
                  "video": videos.loc[0, list(emo.COLUMNS[2:8])].tolist(),
                  "landmarks": from_landmarks.loc[0, list(emo.COLUMNS[2:8])].tolist(),
                  "refused": shape_refused}))
"""


def test_python_api_gives_a_dataframe_and_no_native_log_lines(smoke_repo, videos, tmp_path):
    """From explicit folders, away from the repository: the video's row and its landmarks' row
    agree, and stderr holds our one warning (the reversed clip's) and nothing of TensorFlow's,
    JAX's or MediaPipe's."""
    sequence = f"{videos['folder'].parent.name}/{videos['folder'].name}"
    done = subprocess.run([sys.executable, "-c", API_SCRIPT, str(smoke_repo), str(videos["folder"]),
                           str(videos["reversed"]), sequence], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    assert out["columns"] == out["landmark_columns"] == list(COLUMNS)
    assert out["emotion"][0] in EMOTIONS and out["emotion"][1] == "" and "missing.mp4" in out["error"][1]
    assert out["warning"][0] == "" and out["warning"][2] != "" and out["path"] == [""]
    assert out["video"] == pytest.approx(out["landmarks"], abs=1e-5)  # the extract stage's landmarks, the same
    assert "give [N, 8, 2, 468]" in out["refused"]
    warned = [line for line in done.stderr.splitlines() if "StartsAtPeakWarning" in line]
    assert len(warned) == 1 and str(videos["reversed"]) in warned[0], done.stderr
    # anything else would be a native log line (a warning's source line is indented)
    assert [line for line in done.stderr.splitlines() if line.strip() and line not in warned
            and not line.startswith(" ")] == [], done.stderr


def test_explain_names_files_by_path_and_never_overwrites(smoke_repo, tmp_path, emo):
    images = smoke_repo / "data/raw/demo/cohn-kanade-images"
    first, second = images / "S001/001", images / "S002/001"  # the same name in two folders
    out = tmp_path / "out"
    args = ["explain", str(first), str(second), "--out", str(out), "--emotion", "anger", "--steps", "4"]
    done = emo(args, smoke_repo)
    assert done.returncode == 0, done.stderr[-2000:]
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == [f"{s}/001_anger.{ext}" for s in ("S001", "S002") for ext in ("json", "mp4", "png")]
    assert json.loads((out / "S002/001_anger.json").read_text())["video"] == str(second)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.*")}
    again = emo(args, smoke_repo)
    assert again.returncode == 2 and "already exists" in again.stderr and "--overwrite" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.*")} == before
    assert emo([*args[:3], "--out", str(out), "--emotion", "anger", "--steps", "4", "--overwrite"],
               smoke_repo).returncode == 0
