"""The timeline's parts without the models: windows and references, alignment, scoring, frame streams."""

import re

import cv2
import numpy as np
import pandas as pd
import pytest

from emo.data.action_units import EMOTION_ACTION_UNITS, action_unit_field
from emo.data.emotions import EMOTIONS
from emo.data.frames import VideoStream
from emo.data.mesh import face_mesh
from emo.errors import EmoError
from emo.video.alignment import aligned
from emo.video.blendshape_baseline import BlendshapeBaseline, BlendshapeFrames
from emo.video.onset import NeutralFace
from emo.video.reference import NeutralEstimate
from emo.video.scoring import confusion, opens_on_expression, timeline_scores
from emo.video.streams import LiveFrames, recordings_in
from emo.video.sliding_window import NONE, TIMELINE_COLUMNS, LandmarkRun, Timeline, TimelineSettings, emotion_of
from tests.synthetic import expression_clips

REST = np.asarray(face_mesh().vertices[:, :2] / 20 + 0.5, np.float32)  # a face in box coordinates


def settings(**kw) -> TimelineSettings:
    values = dict(frames=8, window_s=1.0, reference="rolling", history_s=10.0, neutral_s=2.0, align="none",
                  threshold=0.5, stride=1, min_face_fraction=0.5)
    return TimelineSettings(**{**values, **kw})


def motion(X: np.ndarray) -> np.ndarray:
    """A stand-in for the six models with a known answer: 'happiness' grows with the last
    frame's motion from the first (the reference), the others stay at 0.1."""
    move = np.abs(X[:, -1] - X[:, 0]).max(axis=(1, 2))
    out = np.full((len(X), 6), 0.1)
    out[:, EMOTIONS.index("happiness")] = np.clip(move * 20, 0, 1)
    return out


def recording(n=60, fps=10.0, smile=range(30, 45), no_face=range(50, 55), rotate=0.0):
    """A face at rest that moves its mouth-corner landmarks (61, 291) up in `smile` frames."""
    points = np.repeat(REST[None], n, axis=0).copy()
    for i in smile:
        points[i, [61, 291], 1] -= 0.05
    if rotate:
        for i in range(n):
            a = np.deg2rad(rotate * np.sin(i / 7))
            r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
            points[i] = (points[i] - 0.5) @ r.T + 0.5
    points[list(no_face)] = np.nan
    return LandmarkRun(np.arange(n), np.arange(n) / fps, points)


def table_of(engine: Timeline, run: LandmarkRun, piece: int = 7) -> pd.DataFrame:
    parts = [engine.feed(LandmarkRun(run.index[i:i + piece], run.time_s[i:i + piece], run.points[i:i + piece]))
             for i in range(0, len(run), piece)]
    return pd.concat([*parts, engine.finish()], ignore_index=True)


@pytest.mark.parametrize("reference", ["first", "rolling", "neutral"])
def test_rows_for_every_frame_in_order_with_the_schema(reference):
    table = table_of(Timeline(settings(reference=reference), motion, batch=4), recording())
    assert list(table.columns) == TIMELINE_COLUMNS
    assert table.frame.tolist() == list(range(60))
    assert np.allclose(table.time_s, np.arange(60) / 10)
    # the first window is not yet seen: no answer
    assert (table.emotion[table.time_s < 0.95] == "").all() and table[list(EMOTIONS)][table.time_s < 0.95].isna().all().all()
    # no face: face false, empty probabilities, no emotion
    gone = table.frame.isin(range(50, 55))
    assert not table.face[gone].any() and table[list(EMOTIONS)][gone].isna().all().all() and (table.emotion[gone] == "").all()


def test_a_held_expression_is_named_against_a_neutral_reference_but_fades_against_the_window_start():
    rolling = table_of(Timeline(settings(reference="rolling"), motion), recording())
    first = table_of(Timeline(settings(reference="first"), motion), recording())
    held = rolling.frame.isin(range(42, 45))  # apex held for over a second
    assert (rolling.emotion[held] == "happiness").all()
    assert (first.emotion[held] == NONE).all()  # the window's first frame is the apex itself
    calm = rolling.frame.isin(range(10, 28))
    assert (rolling.emotion[calm] == NONE).all()


def test_alignment_keeps_head_motion_from_reading_as_expression():
    rotating = recording(smile=[], no_face=[], rotate=8.0)
    plain = table_of(Timeline(settings(), motion), rotating)
    steady = table_of(Timeline(settings(align="similarity"), motion), rotating)
    assert (plain.emotion == "happiness").sum() > 10
    assert (steady.emotion == "happiness").sum() == 0


def test_stride_repeats_the_last_answer_and_runs_the_models_less():
    calls = []

    def counted(X):
        calls.append(len(X))
        return motion(X)

    table = table_of(Timeline(settings(stride=3), counted, batch=1), recording(no_face=[]))
    answered = table[list(EMOTIONS)].notna().all(axis=1)
    assert sum(calls) <= answered.sum() / 3 + 1
    assert answered[table.time_s >= 1.0].all()


def test_an_absolute_share_mixes_each_frames_blendshape_reading_into_its_answer():
    plain = recording(no_face=[])
    shapes = np.zeros((len(plain), 52), np.float32)
    shapes[40:] = np.nan  # frames whose scores are missing keep the models' answer
    run = LandmarkRun(plain.index, plain.time_s, plain.points, 0, shapes)

    def angry(scores):
        out = np.zeros((len(scores), 6))
        out[:, EMOTIONS.index("anger")] = 0.9
        return out

    def answers(weight):
        engine = Timeline(settings(absolute_weight=weight), motion, batch=4, absolute=angry)
        return pd.concat([engine.feed(run), engine.finish()], ignore_index=True)[list(EMOTIONS)].to_numpy(float)

    alone, mixed = answers(0.0), answers(0.5)
    answered = ~np.isnan(alone).any(axis=1)
    assert answered[:40].sum() > 20
    expected = 0.5 * alone[:40] + 0.5 * angry(shapes[:40])
    assert np.allclose(mixed[:40][answered[:40]], expected[answered[:40]], atol=1e-4)
    assert np.array_equal(mixed[40:], alone[40:], equal_nan=True)


def test_a_threshold_or_absolute_weight_outside_0_to_1_is_one_sentence():
    for name, option in (("threshold", "--threshold"), ("absolute_weight", "--absolute-weight")):
        with pytest.raises(EmoError) as err:
            settings(**{name: 1.5})
        assert str(err.value) == f"{name} ({option}) is 1.5; give a number from 0 to 1."


def test_spilled_runs_come_back_with_their_blendshapes():
    from emo.video.spills import RunSpill

    points = np.random.default_rng(0).random((5, 468, 2), dtype=np.float32)
    shapes = np.random.default_rng(1).random((5, 52), dtype=np.float32)
    with RunSpill() as spill:
        spill.add(LandmarkRun(np.arange(5), np.arange(5) / 10, points, 1, shapes))
        spill.add(LandmarkRun(np.arange(5, 7), np.arange(5, 7) / 10, points[:2], 0))  # no scores kept
        first, second = spill.runs()
    assert np.array_equal(first.points, points) and np.array_equal(first.blendshapes, shapes) and first.unreadable == 1
    assert np.isnan(second.blendshapes).all() and second.blendshapes.shape == (2, 52)


def test_windows_follow_timestamps_not_frame_counts():
    """Variable frame rate: a second of frames is a second, however many frames it holds."""
    run = recording(n=40, smile=[], no_face=[])
    run.time_s = np.cumsum(np.where(np.arange(40) % 2, 0.05, 0.15)) - 0.15
    table = table_of(Timeline(settings(), motion), run)
    assert (table.emotion[table.time_s < 0.99] == "").all()
    assert (table.emotion[table.time_s >= 1.0] != "").all()


def test_memory_stays_bounded_over_a_long_recording():
    engine = Timeline(settings(history_s=2.0), motion, batch=8)
    for start in range(0, 3000, 50):
        run = recording(n=50, smile=[], no_face=[])
        engine.feed(LandmarkRun(run.index + start, run.time_s + start / 10, run.points))
    assert len(engine._window) <= 12 and len(engine._history) <= 21 and len(engine._pending) <= 64


def test_emotion_needs_the_threshold():
    p = np.array([[0.1, 0.2, 0.1, 0.7, 0.1, 0.1], [0.1, 0.2, 0.1, 0.4, 0.1, 0.1], [np.nan] * 6])
    assert emotion_of(p, 0.5).tolist() == ["happiness", NONE, ""]


def test_alignment_undoes_a_similarity():
    a = np.deg2rad(9)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    moved = (1.2 * REST @ r.T + [0.1, -0.05]).astype(np.float32)
    out = aligned(np.stack([moved, np.full_like(moved, np.nan)]), REST)
    assert np.abs(out[0] - REST).max() < 1e-5 and np.isnan(out[1]).all()


def _table(emotions: list[str], fps: float = 10.0) -> pd.DataFrame:
    t = pd.DataFrame({"frame": range(len(emotions)), "time_s": np.arange(len(emotions)) / fps, "face": True})
    for e in EMOTIONS:
        t[e] = [0.9 if x == e else 0.1 for x in emotions]
    t["emotion"] = emotions
    return t


def test_scores_by_phase_while_talking_and_as_a_confusion():
    phases = ["neutral"] * 10 + ["onset"] * 4 + ["apex"] * 6 + ["offset"] * 4 + ["neutral"] * 16
    emotions = [NONE] * 10 + [NONE, NONE, "anger", "anger"] + ["anger"] * 6 + ["anger", "anger", NONE, NONE] + [NONE] * 16
    truth = pd.DataFrame({"frame": range(40), "emotion": emotions, "phase": phases,
                          "talking": [False] * 30 + [True] * 10})
    said = list(emotions)
    said[2] = "fear"  # one neutral frame at rest named
    said[30:33] = ["surprise"] * 3  # three talking frames named
    said[18:20] = [NONE, NONE]  # two apex frames missed
    scores = timeline_scores(_table(said), truth)
    assert scores["neutral_false_positive_rate"] == pytest.approx(1 / 16)  # the 16 neutral frames at rest
    assert scores["talking_false_positive_rate"] == pytest.approx(3 / 10)
    assert scores["onset_accuracy"] == 1 and scores["apex_accuracy"] == pytest.approx(4 / 6)
    assert scores["offset_accuracy"] == 1
    counts = confusion(_table(said), truth)
    assert counts["anger"]["anger"] == 8 and counts["anger"][NONE] == 2 and counts[NONE]["surprise"] == 3
    assert sum(map(sum, (row.values() for row in counts.values()))) == 40 and list(counts) == [*EMOTIONS, NONE]
    assert not opens_on_expression(truth) and opens_on_expression(truth.iloc[12:])


def _person(face: np.ndarray, emotion: str, n_open: int, n_rest: int) -> LandmarkRun:
    """A recording at 10 frames/s of one person (`face` [468, 2], cm) opening on `emotion`'s apex held
    for n_open frames, then at rest for n_rest; landmarks in a crop's [0, 1], a little noise."""
    peak = sum(action_unit_field(au) for au in EMOTION_ACTION_UNITS[emotion]) * np.array([1, -1])
    rng = np.random.default_rng(3)
    faces = np.concatenate([np.repeat((face + peak)[None], n_open, 0), np.repeat(face[None], n_rest, 0)])
    points = (faces + rng.normal(0, 0.01, faces.shape)) / 20 + 0.5
    n = n_open + n_rest
    return LandmarkRun(np.arange(n), np.arange(n) / 10, points.astype(np.float32))


def _mouth_motion(X: np.ndarray) -> np.ndarray:
    """'happiness' grows with the lip corners' (61, 291) motion from the reference (frame 0)."""
    out = np.full((len(X), 6), 0.1)
    out[:, EMOTIONS.index("happiness")] = np.clip(np.abs(X[:, -1, :, [61, 291]] - X[:, 0, :, [61, 291]]).max(
        axis=(0, 2)) * 40, 0, 1)
    return out


def test_the_estimated_reference_reads_a_recording_that_opens_on_a_smile_from_its_neutral_frames():
    rng = np.random.default_rng(0)
    X, y = expression_clips(rng, 20)
    face = NeutralFace.fit(X, y)
    person = (X[-1, 0].T - 0.5) * 20  # a person the discriminant saw at rest, in cm
    run = _person(person, "happiness", 30, 60)  # 3 s of a smile, then 6 s at rest
    estimate = NeutralEstimate(face, size=20, opening_s=2.0)
    estimate.add(run.time_s, run.points)
    assert estimate.opens_expressive() and "first 2 s look expressive" in estimate.warning()
    first_s = float(re.search(r"between ([0-9.]+) and", estimate.describe()).group(1))
    assert first_s >= 3.0  # made of the frames at rest
    reference = estimate.reference()
    assert np.abs(reference - run.points[-1]).max() < 0.01  # the face at rest
    offline = table_of(Timeline(settings(reference="estimated"), _mouth_motion, reference=reference), run)
    assert (offline.emotion[offline.time_s.between(1.0, 2.9)] == "happiness").all()
    assert (offline.emotion[offline.time_s >= 4.0] == NONE).all()  # a window after the smile: at rest
    first = table_of(Timeline(settings(reference="neutral"), _mouth_motion), run)
    assert (first.emotion[first.time_s >= 4.0] == "happiness").all()  # read against the smile
    # Live, the estimate starts on the smile and moves to the neutral frames as they come
    live_estimate = NeutralEstimate(face, size=20, opening_s=2.0)
    live = table_of(Timeline(settings(reference="estimated"), _mouth_motion, batch=1, estimate=live_estimate), run, 1)
    assert (live.emotion[live.time_s >= 6.0] == NONE).all()
    assert live_estimate.opens_expressive()
    calm = NeutralEstimate(face, size=20, opening_s=2.0)
    calm.add(*(lambda r: (r.time_s, r.points))(_person(person, "happiness", 0, 60)))
    assert not calm.opens_expressive() and calm.warning() == ""


def test_the_blendshape_baseline_names_each_frame_alone_and_leaves_faceless_frames_unanswered():
    # Each emotion raises its own blendshape score over a noisy resting face; the first frames rest.
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(6), 10)
    rest = rng.uniform(0.0, 0.2, (60, 52)).astype(np.float32)
    peak = rest.copy()
    peak[np.arange(60), y + 10] += 0.8
    baseline = BlendshapeBaseline(np.stack([rest, peak], axis=1), y)
    frames = BlendshapeFrames()
    scores = rng.uniform(0.0, 0.2, (9, 52)).astype(np.float32)
    scores[np.arange(1, 7), np.arange(10, 16)] += 0.8  # frames 1-6: each emotion in turn
    scores[8] = np.nan  # no face
    frames.add(LandmarkRun(np.arange(5), np.arange(5) / 10, np.zeros((5, 468, 2), np.float32), 0, scores[:5]))
    frames.add(LandmarkRun(np.arange(5, 9), np.arange(5, 9) / 10, np.zeros((4, 468, 2), np.float32), 0, scores[5:]))
    table = baseline.table(frames)
    assert list(table.columns) == TIMELINE_COLUMNS and list(table.frame) == list(range(9))
    assert list(table.emotion) == [NONE, *EMOTIONS, NONE, ""]
    assert list(table.face) == [True] * 8 + [False] and table.loc[8, list(EMOTIONS)].isna().all()


def test_scores_of_a_perfect_and_a_late_timeline():
    truth = pd.DataFrame({"frame": range(40), "emotion": [NONE] * 10 + ["anger"] * 10 + [NONE] * 10 + ["fear"] * 10})
    perfect = timeline_scores(_table(truth.emotion.tolist()), truth)
    assert perfect["macro_f1"] == 1 and perfect["episode_recall"] == 1 and perfect["episode_precision"] == 1
    assert perfect["onset_latency_ms"] == 0 and perfect["neutral_false_positive_rate"] == 0
    late = [NONE] * 13 + ["anger"] * 7 + [NONE] * 10 + ["sadness"] * 10
    scores = timeline_scores(_table(late), truth)
    assert scores["onset_latency_ms"] == pytest.approx(300) and scores["episode_recall"] == 0.5
    assert scores["episode_precision"] == 0.5 and scores["macro_f1"] < 1


def test_a_frame_folder_streams_with_its_frame_rate_and_a_corrupt_frame_is_a_none(tmp_path):
    folder = tmp_path / "rec"
    folder.mkdir()
    for i in range(6):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.full((40, 50), 10 * i, np.uint8))
    (folder / "003.png").write_bytes(b"not a png")
    frames = list(VideoStream(str(folder), frame_rate=5).frames())
    assert [f.index for f in frames] == list(range(6)) and [f.time_s for f in frames] == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert frames[3].gray is None and frames[4].gray is not None
    assert [f.index for f in VideoStream(str(folder)).frames(2, 4)] == [2, 3]
    assert [s.name for s in recordings_in(tmp_path, 5)] == ["rec"]


def test_a_video_streams_with_its_container_timestamps(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20, (64, 48))
    for i in range(30):
        writer.write(np.full((48, 64, 3), 8 * i, np.uint8))
    writer.release()
    frames = list(VideoStream(str(path)).frames())
    assert len(frames) == 30 and np.allclose([f.time_s for f in frames], np.arange(30) / 20, atol=1e-3)
    assert [f.index for f in VideoStream(str(path)).frames(10, 13)] == [10, 11, 12]


def test_live_reading_drops_frames_a_slow_reader_misses(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 100, (64, 48))
    for i in range(100):
        writer.write(np.full((48, 64, 3), i, np.uint8))
    writer.release()
    import time

    with LiveFrames(VideoStream(str(path)), realtime=True) as live:
        seen = [f.index for f in live if time.sleep(0.03) is None]
    assert live.delivered == len(seen) and live.dropped > 0 and live.delivered + live.dropped == 100
    assert seen == sorted(seen)


def test_sources_that_cannot_be_recordings_say_so(tmp_path):
    with pytest.raises(EmoError, match="does not exist"):
        VideoStream(str(tmp_path / "missing.mp4")).check()
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(EmoError, match="is not a video"):
        VideoStream(str(tmp_path / "notes.txt")).check()
    with pytest.raises(EmoError, match="camera 7 cannot be opened"):
        with LiveFrames(VideoStream("7")):
            pass
    with pytest.raises(EmoError, match="cannot be opened as a video"):
        with LiveFrames(VideoStream("rtsp://127.0.0.1:9/none")):
            pass

