from pathlib import Path

import cv2
import numpy as np
import pytest

from emo.data.layouts import find_sequences
from emo.data.frames import VideoStream, check_video_path
from emo.data.sources import DatasetVideo, folder_problem
from emo.errors import EmoError


def _png(path: Path, shape=(490, 640), colour=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((*shape, 3) if colour else shape, 128, np.uint8)
    cv2.imwrite(str(path), img)


def _label(root: Path, seq: str, text: str):
    subject, number = seq.split("/")
    d = root / "Emotion" / subject / number
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{subject}_{number}_00000003_emotion.txt").write_text(text)


@pytest.fixture
def ck_tree(tmp_path):
    root = tmp_path / "ck"
    images = root / "cohn-kanade-images"
    for seq in ["S005/001", "S005/002", "S010/001", "S010/002", "S010/003", "S011/001", "S011/002"]:
        for i in range(1, 4):
            _png(images / seq / f"{seq.replace('/', '_')}_{i:08d}.png", shape=(480, 640) if "S011" in seq else (490, 640),
                 colour=seq == "S010/001")
    (images / "S012" / "001").mkdir(parents=True)  # empty sequence folder
    (images / "S005" / "001" / "S005_001_00000002.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")  # corrupt frame
    _label(root, "S005/001", "   3.0000000e+00\n")  # disgust
    _label(root, "S005/002", "   2.0000000e+00\n")  # contempt
    _label(root, "S010/001", "   5.0000000e+00")  # happiness, colour frames
    _label(root, "S010/002", "not a number")
    _label(root, "S010/003", "   9.0000000e+00")  # no such code
    _label(root, "S011/001", "7")  # surprise, 640x480
    _label(root, "S012/001", "1")  # anger but no frames
    return root  # S011/002 has no label


def test_ckplus_reader_labels_and_problems(ck_tree):
    found = {s.sequence: s for s in find_sequences(ck_tree, "ckplus")}
    assert sorted(found) == ["S005/001", "S005/002", "S010/001", "S010/002", "S010/003", "S011/001", "S011/002", "S012/001"]
    assert found["S005/001"].label == "disgust" and found["S005/001"].usable
    assert found["S005/001"].subject == "S005"
    assert found["S005/002"].problem.startswith("contempt")
    assert found["S010/001"].label == "happiness" and found["S010/001"].usable
    assert found["S010/002"].problem.startswith("bad label") and "not a number" in found["S010/002"].problem
    assert found["S010/003"].problem.startswith("bad label")
    assert found["S011/001"].label == "surprise" and found["S011/001"].usable
    assert found["S011/002"].problem.startswith("unlabeled")
    assert found["S012/001"].problem.startswith("no frames")


def test_ckplus_frames_are_grayscale_and_corrupt_ones_none(ck_tree):
    found = {s.sequence: s for s in find_sequences(ck_tree, "ckplus")}
    frames = [f.gray for f in found["S005/001"].frames()]
    assert frames[1] is None
    assert frames[0].shape == (490, 640) and frames[0].dtype == np.uint8
    colour = [f.gray for f in found["S010/001"].frames()]
    assert colour[0].ndim == 2
    assert next(found["S011/001"].frames()).gray.shape == (480, 640)


def test_ckplus_root_without_images_folder(tmp_path):
    with pytest.raises(EmoError, match="has no cohn-kanade-images/ folder"):
        find_sequences(tmp_path, "ckplus")


def _video(path: Path, frames: int, shape=(120, 160)):
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (shape[1], shape[0]))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((*shape, 3), 20 * i % 255, np.uint8))
    writer.release()


def test_folder_reader_videos_and_frame_folders(tmp_path):
    root = tmp_path / "videos"
    _video(root / "happy" / "P01_take1.mp4", 7)
    _video(root / "Sad" / "P02-x.avi", 5)
    for i in range(4):
        _png(root / "surprise" / "P03_seq" / f"{i:03d}.png", shape=(60, 80))
    _video(root / "contempt" / "P04_a.mp4", 3)
    _video(root / "bored" / "P05_a.mp4", 3)
    (root / "happy" / "notes.txt").write_text("ignored")
    (root / "fear" / "P06_empty").mkdir(parents=True)
    found = {s.sequence: s for s in find_sequences(root, "folder", r"^([^_]+)")}
    assert set(found) == {"happy/P01_take1.mp4", "Sad/P02-x.avi", "surprise/P03_seq", "contempt/P04_a.mp4",
                          "bored/P05_a.mp4", "fear/P06_empty"}
    happy = found["happy/P01_take1.mp4"]
    assert happy.label == "happiness" and happy.subject == "P01" and happy.usable
    frames = [f.gray for f in happy.frames()]
    assert len(frames) == 7 and frames[0].shape == (120, 160) and frames[0].ndim == 2
    assert found["Sad/P02-x.avi"].label == "sadness" and found["Sad/P02-x.avi"].subject == "P02-x"
    assert len(list(found["surprise/P03_seq"].frames())) == 4
    assert found["contempt/P04_a.mp4"].problem.startswith("contempt")
    assert found["bored/P05_a.mp4"].problem.startswith("bad label")
    assert found["fear/P06_empty"].problem.startswith("no frames")


def test_both_readers_give_one_sentence_for_a_video_that_cannot_be_opened(tmp_path):
    root = tmp_path / "videos"
    (root / "anger").mkdir(parents=True)
    path = root / "anger" / "P01_broken.mp4"
    path.write_bytes(b"not a video at all")
    (source,) = find_sequences(root, "folder")
    sentence = f"{path} cannot be opened as a video; check the path or URL and that OpenCV's FFmpeg reads its format."
    with pytest.raises(EmoError) as dataset:
        list(source.frames())
    with pytest.raises(EmoError) as stream:
        list(VideoStream(str(path)).frames())
    assert str(dataset.value) == str(stream.value) == sentence


def _mjpg(path: Path, frames: int, zeroed: list[int]) -> None:
    """An MJPG AVI whose frames at `zeroed` have their JPEG data wiped (they do not decode)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for i in range(frames):
        writer.write(np.full((120, 160, 3), 20 * i, np.uint8))
    writer.release()
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 2) if data[i:i + 3] == b"\xff\xd8\xff"]
    for i in zeroed:
        data[starts[i]:starts[i] + 200] = bytes(200)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("zeroed, expected", [([3], 5), ([4], 4)])
def test_a_corrupt_frame_is_a_none_frame_in_the_middle_and_the_end_at_the_end(tmp_path, zeroed, expected):
    path = tmp_path / "clip.avi"
    _mjpg(path, 5, zeroed)
    frames = list(DatasetVideo("clip", "", path, "").frames())
    assert [f.gray is None for f in frames] == [i in zeroed for i in range(expected)]
    assert [f.index for f in frames] == list(range(expected))


def test_an_unreadable_folder_is_one_sentence(tmp_path, monkeypatch):
    # Root reads any folder, whatever its mode: refuse the listing as the kernel refuses other users.
    locked = tmp_path / "locked"
    _png(locked / "a.png")
    listing = Path.iterdir

    def iterdir(self):
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return listing(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    sentence = f"{locked} cannot be read (permission denied); give it read permission (chmod u+rx for a folder)."
    with pytest.raises(EmoError) as err:
        list(DatasetVideo("x", "", locked, "").frames())
    assert str(err.value) == sentence
    assert folder_problem(locked) == f"unreadable: {sentence}"
    # A subject folder of CK+ that cannot be listed stops the listing with the same sentence.
    root = tmp_path / "ck"
    _png(root / "cohn-kanade-images" / "S001" / "001" / "S001_001_00000001.png")
    locked = root / "cohn-kanade-images" / "S001"
    with pytest.raises(EmoError) as err:
        find_sequences(root, "ckplus")
    assert str(err.value) == sentence.replace(str(tmp_path / "locked"), str(locked))


def test_a_path_without_read_permission_is_refused(tmp_path, monkeypatch):
    _png(tmp_path / "frames" / "a.png")
    monkeypatch.setattr("emo.data.frames.os.access", lambda path, mode: False)
    with pytest.raises(EmoError, match=r"frames cannot be read \(permission denied\); give it read permission"):
        check_video_path(tmp_path / "frames")


def test_folder_root_missing(tmp_path):
    with pytest.raises(EmoError, match="is not a folder"):
        find_sequences(tmp_path / "nope", "folder")
