"""The demo's long recordings: a video and a per-frame truth that agree, a stretch without a face,
the same files from the same params; and the timeline and blink they are made of."""

import dataclasses

import cv2
import numpy as np
import pandas as pd
import pytest

from emo.data.action_units import ACTION_UNITS, blink_field
from emo.data.demo_recordings import (
    PHASES, TRUTH_COLUMNS, TRUTH_SUFFIX, generate_recordings, plan_recordings, plan_timeline,
)
from emo.data.emotions import EMOTIONS
from emo.data.landmarks import LandmarkDetector
from emo.data.mesh import face_mesh
from emo.errors import ConfigError

NAME = "demo_S001"


@pytest.fixture(scope="module")
def tiny_params(smoke_params):
    """One recording of the main demo's first subject: 2 short episodes at 5 frames a second."""
    demo = smoke_params.demo
    recordings = dataclasses.replace(demo.recordings, subjects=1, heldout_subjects=0, opens_on_expression=0, fps=5.0,
                                     episodes=2, neutral_range_s=(1.0, 1.4), apex_range_s=(1.0, 1.2))
    return dataclasses.replace(demo, frames=(4, 6), workers=1, recordings=recordings)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, tiny_params, face_model):
    out = tmp_path_factory.mktemp("recordings") / "a"
    out.mkdir()
    (out.parent / "held").mkdir()
    summary = generate_recordings(tiny_params, face_model, out, out.parent / "held", progress=False)
    assert summary.startswith("1 recordings (1 of demo subjects, 0 held apart; 0 open on an expression)")
    assert not any((out.parent / "held").iterdir())
    return out


def _frames(video) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


@pytest.mark.slow
def test_truth_schema_matches_the_video(recorded, tiny_params):
    assert sorted(p.name for p in recorded.iterdir()) == [f"{NAME}.mp4", NAME + TRUTH_SUFFIX]
    raw = pd.read_csv(recorded / (NAME + TRUTH_SUFFIX), dtype=str, keep_default_na=False)
    assert tuple(raw.columns) == TRUTH_COLUMNS
    assert set(raw.face) == {"true", "false"} and set(raw.blink) <= {"true", "false"}
    assert all(len(v.split(".")[1]) == 3 for v in pd.concat([raw.time_s, raw.intensity]))
    truth = pd.read_csv(recorded / (NAME + TRUTH_SUFFIX))
    n = len(truth)
    assert truth.frame.tolist() == list(range(n))
    assert np.allclose(truth.time_s, np.round(np.arange(n) / tiny_params.recordings.fps, 3))
    assert set(truth.phase) == set(PHASES)
    assert set(truth.emotion) <= set(EMOTIONS) | {"none"}
    assert truth.intensity.between(0, 1).all()
    assert set(truth.distractor) <= {0, *ACTION_UNITS}
    frames = _frames(recorded / f"{NAME}.mp4")
    assert len(frames) == n and frames[0].shape == (480, 640, 3)


@pytest.mark.slow
def test_emotions_peak_at_apex_and_none_elsewhere(recorded, tiny_params):
    truth = pd.read_csv(recorded / (NAME + TRUTH_SUFFIX))
    apex = truth[truth.phase == "apex"]
    assert (apex.intensity == 1).all() and (apex.emotion != "none").all()
    assert apex.emotion.nunique() == tiny_params.recordings.episodes  # a different emotion each episode
    still = truth[truth.phase.isin(["neutral", "away"])]
    assert (still.emotion == "none").all() and (still.intensity == 0).all()
    moving = truth[truth.phase.isin(["onset", "offset"])]
    assert ((moving.emotion != "none") == (moving.intensity >= 0.5)).all()
    assert truth.phase.iloc[0] == "neutral" and truth.phase.iloc[-1] == "neutral"


@pytest.mark.slow
def test_the_face_leaves_once_and_no_detector_finds_it_then(recorded, face_model):
    truth = pd.read_csv(recorded / (NAME + TRUTH_SUFFIX))
    away = np.flatnonzero(truth.phase == "away")
    assert len(away) and np.all(np.diff(away) == 1)  # one stretch
    assert (~truth.face[away]).all() and truth.face.drop(away).all()
    assert not truth.blink[away].any() and (truth.distractor[away] == 0).all()
    frames = _frames(recorded / f"{NAME}.mp4")
    neutral = int(np.flatnonzero((truth.phase == "neutral") & ~truth.blink & (truth.distractor == 0))[0])
    with LandmarkDetector(face_model) as detector:
        gray = lambda i: cv2.cvtColor(frames[i], cv2.COLOR_BGR2GRAY)  # noqa: E731
        assert detector.detect_in_frame(gray(neutral)) is not None
        for i in away:
            assert detector.detect_in_frame(gray(i)) is None
            assert detector.find_face(gray(i)) is None


@pytest.mark.slow
def test_same_params_same_files(recorded, tiny_params, face_model, tmp_path):
    generate_recordings(tiny_params, face_model, tmp_path, tmp_path, progress=False)
    truth = NAME + TRUTH_SUFFIX
    assert (tmp_path / truth).read_bytes() == (recorded / truth).read_bytes()
    video = f"{NAME}.mp4"
    if (tmp_path / video).read_bytes() != (recorded / video).read_bytes():  # the container may stamp a time
        assert all(np.array_equal(a, b) for a, b in zip(_frames(tmp_path / video), _frames(recorded / video),
                                                        strict=True))


def test_timeline_cycles_the_emotions_and_places_every_nuisance(smoke_params):
    demo = smoke_params.demo
    params = dataclasses.replace(demo, recordings=dataclasses.replace(demo.recordings, episodes=8, fps=15.0))
    line = plan_timeline(params, 0)
    assert sorted(line.emotions[:6]) == sorted(EMOTIONS) and line.emotions[6:] == line.emotions[:2]
    fps = params.recordings.fps
    blinks = np.flatnonzero(np.diff((line.blink > 0).astype(int)) == 1)
    assert np.all(np.diff(blinks) >= 2 * fps - 1) and len(blinks) >= len(line.phase) / fps / 6 - 1
    assert np.all(line.phase[line.distractor > 0] == PHASES.index("neutral"))
    away = np.flatnonzero(line.phase == PHASES.index("away"))
    assert 1.5 * fps - 1 <= len(away) <= 2.5 * fps + 1
    assert line.episode[: away[0]].max() >= 0  # the recording opens on a face, an expression before the face leaves
    other = plan_timeline(dataclasses.replace(params, seed=params.seed + 1), 0)
    assert other.emotions != line.emotions or not np.array_equal(other.blink, line.blink)


def test_recordings_are_named_after_their_set_and_subject(smoke_params):
    demo = smoke_params.demo
    params = dataclasses.replace(demo, recordings=dataclasses.replace(demo.recordings, subjects=2, heldout_subjects=1))
    plans = plan_recordings(params)
    assert [r.name for r in plans] == ["demo_S001", "demo_S002", "heldout_S001"]
    assert plans[2].params.seed == demo.heldout.seed and plans[0].params.seed == demo.seed
    assert [r.heldout for r in plans] == [False, False, True]
    assert [r.opens_on_expression for r in plans] == [False, True, True]  # each set's last (smoke: 1 per set)
    too_many = dataclasses.replace(demo.recordings, heldout_subjects=demo.heldout.subjects + 1)
    with pytest.raises(ConfigError, match="heldout_subjects"):
        plan_recordings(dataclasses.replace(demo, recordings=too_many))


def test_blink_brings_the_upper_lids_down_to_the_lower_lids():
    mesh = face_mesh()
    v, d = mesh.vertices, blink_field()
    for eye in ("left_eye", "right_eye"):
        ring = mesh.regions[eye]
        middle = ring[np.abs(v[ring, 0] - v[ring, 0].mean()) < 0.3]  # the upper and lower lid mid-eye
        upper, lower = middle[np.argmax(v[middle, 1])], middle[np.argmin(v[middle, 1])]
        gap = v[upper, 1] - v[lower, 1]
        assert gap > 0.4 and v[upper, 1] + d[upper, 1] - v[lower, 1] < 0.15 * gap
        assert d[lower, 1] == 0
    brows = np.concatenate([mesh.regions["left_eyebrow"], mesh.regions["right_eyebrow"]])
    assert np.abs(d[brows]).max() < 0.05 and np.abs(d[:, 0]).max() == 0


def test_a_recording_opens_on_an_apex_talks_at_its_end_and_its_expressions_fade_slowly(smoke_params):
    demo = smoke_params.demo
    params = dataclasses.replace(demo, recordings=dataclasses.replace(demo.recordings, episodes=4, fps=15.0))
    fps = params.recordings.fps
    opening, plain = plan_timeline(params, 0, opens_on_expression=True), plan_timeline(params, 0)
    truth = opening.truth(fps)
    assert truth.phase[0] == "apex" and truth.emotion[0] == opening.emotions[0] and truth.intensity[0] == 1
    assert plain.truth(fps).phase[0] == "neutral" and plain.emotions == opening.emotions
    for line in (opening, plain):
        talking = np.flatnonzero(line.talking)
        assert talking[-1] == len(line.phase) - 1 and np.all(np.diff(talking) == 1)  # one stretch, at the end
        shortest, longest = params.recordings.talking_range_s
        assert shortest * fps - 1 <= len(talking) <= longest * fps + 1
        assert np.all(line.phase[talking] == PHASES.index("neutral")) and line.alpha[talking].max() == 0
        assert line.mouth[talking, 0].max() > 0.2 and not line.mouth[~line.talking].any()  # the jaw moves
        assert not line.distractor[talking].any()
        for k in range(len(line.emotions)):
            mine = line.episode == k
            onset, offset = ((line.phase == PHASES.index(p)) & mine for p in ("onset", "offset"))
            assert offset.sum() >= 1.5 * max(onset.sum(), params.frames[0]) - 1  # an expression fades slowly
            assert np.all(np.diff(line.alpha[offset]) < 0)
    assert set(opening.truth(fps).talking) == {"true", "false"}
