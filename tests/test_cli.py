"""`emo predict` and `emo explain` on the smoke pipeline's trained models, as a user runs them."""

import json
import shutil

import cv2
import numpy as np
import pytest

from emo.data.emotions import EMOTIONS
from tests.support import EMO, REPO, run

pytestmark = pytest.mark.slow


def emo(args, cwd):
    return run([EMO, *args], cwd, check=False)


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
    return {"folder": folder, "mp4": out / "clip.mp4", "avi": out / "clip.avi", "broken": out / "broken.mp4",
            "frames": len(frames)}


def _predict_json(paths, cwd, *extra):
    done = emo(["predict", *map(str, paths), "--json", *extra], cwd)
    return done, json.loads(done.stdout) if done.stdout.strip().startswith("{") else None


def test_video_file_and_frame_folder_give_the_same_probabilities(smoke_repo, videos):
    done, out = _predict_json([videos["folder"], videos["avi"], videos["mp4"]], smoke_repo)
    assert done.returncode == 0, done.stderr[-2000:]
    folder, avi, mp4 = (v["probabilities"] for v in out["videos"])
    assert folder == pytest.approx(avi, abs=1e-6)
    assert folder == pytest.approx(mp4, abs=1e-6)
    assert len({v["emotion"] for v in out["videos"]}) == 1


def test_json_schema(smoke_repo, videos):
    done, out = _predict_json([videos["folder"]], smoke_repo, "--k", "32")
    assert done.returncode == 0
    assert set(out) == {"models", "videos"}
    assert set(out["models"]) == set(EMOTIONS) and all(m["K"] == 32 for m in out["models"].values())
    (video,) = out["videos"]
    assert set(video) == {"path", "emotion", "probabilities", "error", "timing_s"}
    assert set(video["probabilities"]) == set(EMOTIONS) and video["error"] is None
    assert video["emotion"] == max(video["probabilities"], key=video["probabilities"].get)
    assert {"decode", "landmarks", "model"} <= set(video["timing_s"])


def test_a_corrupt_file_among_good_ones(smoke_repo, videos):
    done, out = _predict_json([videos["folder"], videos["broken"], videos["avi"]], smoke_repo)
    assert done.returncode == 1
    good, bad, also_good = out["videos"]
    assert good["probabilities"] and also_good["probabilities"] and bad["probabilities"] is None
    assert "broken.mp4" in bad["error"] and "unreadable" in bad["error"]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken.mp4" in errors[0]


def test_table_output(smoke_repo, videos):
    done = emo(["predict", str(videos["folder"]), "--timing"], smoke_repo)
    assert done.returncode == 0
    assert "emotion" in done.stdout and "milliseconds per video" in done.stdout
    assert all(e in done.stdout for e in EMOTIONS)
    # TensorFlow's and MediaPipe's C++ log lines are hidden unless asked for
    assert "XNNPACK" not in done.stderr and "I0000" not in done.stderr
    verbose = emo(["predict", str(videos["folder"]), "--verbose"], smoke_repo)
    assert verbose.returncode == 0 and "XNNPACK" in verbose.stderr


def test_missing_models_is_one_clear_sentence(tmp_path, videos):
    shutil.copy2(REPO / "params.yaml", tmp_path / "params.yaml")
    done = emo(["predict", str(videos["folder"])], tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error:") and "dvc repro" in done.stderr


def test_an_empty_folder_has_no_frames(smoke_repo, tmp_path):
    (tmp_path / "empty").mkdir()
    done = emo(["predict", str(tmp_path / "empty")], smoke_repo)
    assert done.returncode == 1 and f"no frames in {tmp_path / 'empty'}" in done.stderr, done.stderr


def test_unknown_k_is_refused(smoke_repo, videos):
    done = emo(["predict", str(videos["folder"]), "--k", "100"], smoke_repo)
    assert done.returncode == 2 and "no models were trained at K = 100" in done.stderr


def test_explain_writes_picture_video_and_numbers(smoke_repo, videos, tmp_path):
    done = emo(["explain", str(videos["mp4"]), "--out", str(tmp_path), "--emotion", "surprise", "--steps", "8",
                "--timing"], smoke_repo)
    assert done.returncode == 0, done.stderr[-2000:]
    png, mp4, meta = (tmp_path / f"clip_surprise.{ext}" for ext in ("png", "mp4", "json"))
    image = cv2.imread(str(png))
    assert image is not None and image.shape[0] > 300 and image.shape[1] > 300
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


def test_explain_of_a_video_without_a_face(smoke_repo, tmp_path):
    blank = tmp_path / "blank"
    blank.mkdir()
    for i in range(6):
        cv2.imwrite(str(blank / f"{i:03d}.png"), np.full((120, 160), 128, np.uint8))
    done = emo(["explain", str(blank), "--out", str(tmp_path / "out")], smoke_repo)
    assert done.returncode == 2 and "no face" in done.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
