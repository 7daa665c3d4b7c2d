import dataclasses
import shutil

import cv2
import numpy as np
import pytest

from emo.config import DataParams
from emo.data.emotions import EMOTIONS
from emo.data.extraction import MANIFEST_COLUMNS, SequenceSettings, extract_dataset, extract_sequence
from emo.data.face_boxes import FaceBoxes, FacesRead
from emo.data.frames import Frame
from emo.data.mesh import N_LANDMARKS, face_mesh
from emo.errors import EmoError

pytestmark = pytest.mark.slow


def _data(root, layout="ckplus"):
    return DataParams(root=root, layout=layout, subject_pattern=r"^([^_]+)")


def _params(smoke_params, **changes):
    return dataclasses.replace(smoke_params.extract, workers=2, **changes)


def test_tiny_demo_extracts_to_the_design_shapes(tiny_demo, smoke_params, face_model):
    data, manifest = extract_dataset(_data(tiny_demo), _params(smoke_params), face_model, progress=False)
    P = smoke_params.extract.frames
    assert data.X.shape == (12, P, 2, N_LANDMARKS) and data.X.dtype == np.float32
    assert sorted(data.y) == sorted(list(range(6)) * 2)
    assert set(data.subject) == {"S001", "S002"} and len(set(data.sequence)) == 12
    assert np.isfinite(data.X).all() and 0.0 < data.X.min() and data.X.max() < 1.0
    assert list(manifest.columns) == MANIFEST_COLUMNS
    assert (manifest.status == "ok").sum() == 12
    assert set(manifest[manifest.status == "skipped"].reason.str.split(":").str[0]) == {"contempt", "unlabeled"}
    assert len(manifest) == 14 and (manifest.frames_with_face[manifest.status == "ok"] == 10).all()
    # Each video's first and last face's blendshape scores, from the same landmarker calls.
    assert data.end_blendshapes.shape == (12, 2, 52) and ((data.end_blendshapes >= 0) & (data.end_blendshapes <= 1)).all()
    happy = data.y == EMOTIONS.index("happiness")
    smile = data.end_blendshapes[happy][:, :, [44, 45]].mean(axis=(0, 2))  # mouthSmileLeft/Right
    assert smile[1] > smile[0] + 0.1

    # Landmark motion from the first to the last frame follows each emotion's action units
    # (image y grows downwards): surprise opens the jaw, happiness lifts and widens the mouth corners.
    X, y = data.X, data.y
    motion = X[:, -1] - X[:, 0]  # [N, 2, 468]
    chin_drop = {e: motion[y == i, 1, 152].mean() for i, e in enumerate(EMOTIONS)}
    corners_up = {e: -motion[y == i, 1][:, [61, 291]].mean() for i, e in enumerate(EMOTIONS)}
    assert chin_drop["surprise"] > 0.01 and chin_drop["surprise"] > 3 * abs(chin_drop["happiness"])
    assert corners_up["happiness"] > 0.005 and corners_up["happiness"] > corners_up["sadness"] + 0.005
    # The emotions' mean motions differ from each other far more than zero.
    means = np.stack([motion[y == i].mean(0).ravel() for i in range(6)])
    distances = np.linalg.norm(means[:, None] - means[None], axis=-1)[np.triu_indices(6, 1)]
    assert distances.min() > 0.005


def test_damaged_frames_are_filled_and_counted(tmp_path, ckplus_copy, smoke_params, face_model):
    seq = sorted((ckplus_copy / "cohn-kanade-images" / "S001").iterdir())[0]
    frames = sorted(seq.glob("*.png"))
    frames[3].write_bytes(frames[3].read_bytes()[:200])  # truncated PNG
    blank = np.full((490, 640), 90, np.uint8)
    cv2.imwrite(str(frames[5]), blank)  # no face
    colour = cv2.cvtColor(cv2.imread(str(frames[7]), cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2BGR)
    cv2.imwrite(str(frames[7]), cv2.resize(colour, (640, 490)))  # colour and 640x490 among the rest
    _, manifest = extract_dataset(_data(ckplus_copy), _params(smoke_params), face_model, progress=False)
    row = manifest.set_index("sequence").loc[f"S001/{seq.name}"]
    assert row.status == "ok"
    assert (row.frames_total, row.frames_read, row.frames_with_face, row.frames_filled) == (10, 9, 8, 2)


def test_sequence_without_faces_is_skipped_with_reason(tmp_path, ckplus_copy, smoke_params, face_model):
    seq = sorted((ckplus_copy / "cohn-kanade-images" / "S002").iterdir())[0]
    for f in seq.glob("*.png"):
        cv2.imwrite(str(f), np.full((490, 640), 200, np.uint8))
    data, manifest = extract_dataset(_data(ckplus_copy), _params(smoke_params), face_model, progress=False)
    row = manifest.set_index("sequence").loc[f"S002/{seq.name}"]
    assert row.status == "skipped" and row.reason.startswith("no face: found in 0 of 10 frames")
    assert len(data.y) == 11


def test_too_many_skipped_stops(ckplus_copy, smoke_params, face_model):
    for f in (ckplus_copy / "cohn-kanade-images").rglob("*.png"):
        if f.parent.parent.name == "S001":
            f.write_bytes(b"")
    with pytest.raises(EmoError, match=r"6 of 12 labelled sequences were skipped \(6 unreadable\).*max_skipped_fraction"):
        extract_dataset(_data(ckplus_copy), _params(smoke_params, max_skipped_fraction=0.25), face_model, progress=False)


def test_no_labelled_sequence_is_one_clear_error(ckplus_copy, smoke_params, face_model):
    shutil.rmtree(ckplus_copy / "Emotion")
    with pytest.raises(EmoError, match=r"no usable sequence under .* unlabeled"):
        extract_dataset(_data(ckplus_copy), _params(smoke_params), face_model, progress=False)


def test_missing_root_is_one_clear_error(tmp_path, smoke_params, face_model):
    with pytest.raises(EmoError, match="does not exist; put the dataset there or change data.root"):
        extract_dataset(_data(tmp_path / "nope"), _params(smoke_params), face_model, progress=False)


def test_video_and_frame_folder_give_the_same_landmarks(tmp_path, tiny_demo, smoke_params, face_model):
    """The folder layout reads a video file and a folder of frames the same way (lossless AVI)."""
    seq = sorted((tiny_demo / "cohn-kanade-images" / "S001").iterdir())[0]
    frames = [cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in sorted(seq.glob("*.png"))]
    root = tmp_path / "videos"
    (root / "happy" / "P01_frames").mkdir(parents=True)
    for i, f in enumerate(frames):
        cv2.imwrite(str(root / "happy" / "P01_frames" / f"{i:03d}.png"), f)
    h, w = frames[0].shape
    writer = cv2.VideoWriter(str(root / "happy" / "P01_video.avi"), cv2.VideoWriter_fourcc(*"FFV1"), 10, (w, h))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
    writer.release()
    data, manifest = extract_dataset(_data(root, "folder"), _params(smoke_params, max_skipped_fraction=0.0), face_model,
                                     progress=False)
    assert (manifest.status == "ok").all() and set(manifest.subject) == {"P01"}
    X = data.X
    np.testing.assert_allclose(X[0], X[1], atol=1e-6)


def test_per_frame_box_mode_agrees_with_per_sequence_box(tiny_demo, smoke_params, face_model):
    a = extract_dataset(_data(tiny_demo), _params(smoke_params), face_model, progress=False)[0].X
    b = extract_dataset(_data(tiny_demo), _params(smoke_params, box="frame"), face_model, progress=False)[0].X
    assert np.isfinite(b).all()
    # Same faces, boxes a few pixels apart: the same shape, shifted and scaled a little.
    assert np.abs(a - b).mean() < 0.03
    centred = lambda x: x - x.mean(axis=-1, keepdims=True)  # noqa: E731
    assert np.abs(centred(a) - centred(b)).mean() < 0.01


class _Points:
    """Face boxes that return given landmarks [n, 468, 2], whatever the frames."""

    def __init__(self, points):
        self.points = points

    def sequence(self, frames, warm_up=(), restart_every=None):
        assert len(list(frames)) == len(self.points)
        n = len(self.points)
        return FacesRead(list(self.points), [None] * n, [np.zeros(52, np.float32)] * n)


def _face(n: int) -> np.ndarray:
    """n frames of the mesh's own face, in a box's [0, 1] coordinates."""
    xy = face_mesh().vertices[:, :2]
    xy = (xy - xy.min(0)) / np.ptp(xy, axis=0).max()
    return np.repeat(xy[None].astype(np.float32), n, axis=0)


def _outcome(points):
    frames = [Frame(i, i / 30, np.zeros((4, 4), np.uint8)) for i in range(len(points))]
    return extract_sequence(_Points(points), frames, SequenceSettings(frames=4, min_frames=2, min_face_fraction=0.5))


def test_landmarks_that_are_no_face_are_skipped_with_a_reason():
    assert _outcome(_face(5)).points is not None
    infinite = _face(5)
    infinite[2, 10] = np.inf
    outcome = _outcome(infinite)
    assert outcome.points is None
    assert outcome.reason == "not finite: landmarks hold NaN or infinite values in 1 of 5 frames"
    collapsed = _face(5)
    collapsed[3:] = 0.5  # every point of the last two frames in one place
    outcome = _outcome(collapsed)
    assert outcome.points is None
    assert outcome.reason == ("degenerate face: the eyes' landmarks coincide (inter-ocular distance 0) in 2 of 5 "
                              "frames")


def _clip(tiny_demo) -> list[np.ndarray]:
    seq = sorted((tiny_demo / "cohn-kanade-images" / "S001").iterdir())[0]
    return [cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in sorted(seq.glob("*.png"))]


def _frames(grays) -> list[Frame]:
    return [Frame(i, i / 30, g) for i, g in enumerate(grays)]


def test_frames_that_change_size_find_the_face_box_again(tiny_demo, smoke_params, face_model):
    frames = _clip(tiny_demo)
    half = len(frames) // 2
    resized = frames[:half] + [cv2.resize(f, None, fx=1.1, fy=1.1) for f in frames[half:]]
    e = smoke_params.extract
    settings = SequenceSettings(e.frames, e.min_frames, e.min_face_fraction)
    with FaceBoxes.of(face_model, e) as faces:
        same, scaled = (extract_sequence(faces, _frames(f), settings, keep_frames=True) for f in (frames, resized))
    assert (same.size_changes, scaled.size_changes) == (0, 1)
    assert scaled.frame_boxes[half] != scaled.frame_boxes[0] and scaled.frame_boxes[half].side > same.frame_boxes[0].side
    # In the first frame's box, the bigger frames' points would lie ~0.035 (mean over the clip) and
    # ~0.07 (the last frame) of the box away.
    assert np.abs(same.points - scaled.points).mean() < 0.01


def test_a_face_that_slides_out_of_its_box_is_followed_and_measured_in_its_first_box(tiny_demo, smoke_params,
                                                                                      face_model):
    # The frames widened to twice their width, so that the face never reaches an edge.
    frames = [cv2.copyMakeBorder(f, 0, 0, 0, f.shape[1], cv2.BORDER_REPLICATE) for f in _clip(tiny_demo)]
    shifts = np.linspace(0.0, 0.45 * frames[0].shape[1] / 2, len(frames))  # about the box's width, over the clip
    slid = [cv2.warpAffine(f, np.float32([[1, 0, dx], [0, 1, 0]]), f.shape[::-1], borderMode=cv2.BORDER_REPLICATE)
            for f, dx in zip(frames, shifts)]
    with FaceBoxes.of(face_model, smoke_params.extract) as faces:
        still = faces.sequence(_frames(frames)).point_array()
        before = faces.refound
        read = faces.sequence(_frames(slid))
        followed, boxes = read.point_array(), read.boxes
        refound = faces.refound - before
    assert refound >= 1 and all(b == boxes[0] for b in boxes)
    # Measured in the first box, the points move as the face moves, and only so: within 0.0015 of
    # the box on every frame, where a box kept still reads some frames 0.005-0.008 off.
    expected = still + np.stack([shifts / boxes[0].side, np.zeros_like(shifts)], axis=1)[:, None, :]
    assert np.abs(followed - expected).mean(axis=(1, 2)).max() < 0.003


def test_an_unreadable_data_root_is_one_sentence(tmp_path, smoke_params, face_model, monkeypatch):
    # Root reads any folder whatever its mode: answer access() as for another user.
    monkeypatch.setattr("emo.data.extraction.os.access", lambda path, mode: False)
    with pytest.raises(EmoError) as err:
        extract_dataset(_data(tmp_path), _params(smoke_params), face_model, progress=False)
    assert str(err.value) == (f"data.root: {tmp_path} cannot be read (permission denied); give it read permission "
                              "(chmod u+rx for a folder).")


def test_a_video_that_cannot_be_opened_is_skipped_with_the_readers_sentence(tmp_path, tiny_demo, smoke_params,
                                                                            face_model):
    seq = sorted((tiny_demo / "cohn-kanade-images" / "S001").iterdir())[0]
    root = tmp_path / "videos"
    shutil.copytree(seq, root / "happy" / "P01_frames")
    broken = root / "happy" / "P02_broken.mp4"
    broken.write_bytes(b"not a video at all")
    _, manifest = extract_dataset(_data(root, "folder"), _params(smoke_params), face_model, progress=False)
    row = manifest.set_index("sequence").loc["happy/P02_broken.mp4"]
    assert row.status == "skipped"
    assert row.reason == (f"unreadable: {broken} cannot be opened as a video; check the path or URL and that "
                          "OpenCV's FFmpeg reads its format.")
