"""The timeline's training windows, made from onset clips (emo.models.windows)."""

import numpy as np

from emo.models.windows import KINDS, timeline_windows
from tests.synthetic import expression_clips


def test_each_kind_keeps_the_neutral_reference_and_is_labelled_as_the_timeline_names_its_last_frame():
    X, y = expression_clips(np.random.default_rng(0), 3)
    positive = y == 3
    n, P = X.shape[:2]
    windows, labels = timeline_windows(X, positive, list(KINDS), jitter=0.0012, seed=5)
    assert windows.shape == (4 * n, *X.shape[1:]) and windows.dtype == X.dtype and labels.dtype == bool
    held, rest, offset, middle = np.split(windows, 4)
    held_y, rest_y, offset_y, middle_y = np.split(labels, 4)
    for w in (held, rest, offset, middle):
        assert np.array_equal(w[:, 0], X[:, 0])  # frame 0: the neutral face, the timeline's reference
    assert np.abs(held[:, 1:] - X[:, -1:]).max() < 0.01 and np.array_equal(held_y, positive)
    assert np.abs(rest[:, 1:] - X[:, :1]).max() < 0.01 and not rest_y.any()
    assert np.abs(offset[:, 1] - X[:, -1]).max() < 0.01  # an offset starts at the peak
    assert np.abs(middle[:, -1] - X[:, -1]).max() < 0.01 and np.array_equal(middle_y, positive)
    # an offset is named while over half of the expression is left: near the peak, yes; back at rest, no
    left = np.linalg.norm(offset[:, -1] - X[:, :1, :, :].squeeze(1), axis=1).mean(axis=1) / np.linalg.norm(
        X[:, -1] - X[:, 0], axis=1).mean(axis=1)
    assert (offset_y <= positive).all() and offset_y[positive & (left > 0.6)].all() and not offset_y[left < 0.4].any()
    jitter = (rest[:, 1:] - X[:, :1]).std()
    assert 0.0009 < jitter < 0.0015


def test_the_same_seed_gives_the_same_windows_and_fewer_kinds_the_same_ones():
    X, y = expression_clips(np.random.default_rng(1), 2)
    every, labels = timeline_windows(X, y == 0, list(KINDS), 0.0012, seed=3)
    again, _ = timeline_windows(X, y == 0, list(KINDS), 0.0012, seed=3)
    assert np.array_equal(every, again)
    some, some_labels = timeline_windows(X, y == 0, ["rest", "middle"], 0.0012, seed=3)
    n = len(X)
    assert np.array_equal(some, np.concatenate([every[n:2 * n], every[3 * n:]]))
    assert np.array_equal(some_labels, np.concatenate([labels[n:2 * n], labels[3 * n:]]))
    assert len(timeline_windows(X, y == 0, [], 0.0012, seed=3)[0]) == 0


def test_a_model_trained_on_them_calls_a_face_at_rest_no_emotion_and_still_reads_clips(smoke_params):
    import dataclasses

    from emo.data.emotions import EMOTIONS
    from emo.models.model import Architecture
    from emo.models.training import fit_binary, model_input

    X, y = expression_clips(np.random.default_rng(4), 16)
    subject = np.repeat(np.arange(16), len(EMOTIONS))
    train, val, test = subject < 11, (subject >= 11) & (subject < 13), subject >= 13
    positive = y == EMOTIONS.index("sadness")
    windows, labels = timeline_windows(X[train], positive[train], list(KINDS), 0.0012, seed=0)
    val_windows, val_labels = timeline_windows(X[val], positive[val], list(KINDS), 0.0012, seed=1)
    settings = dataclasses.replace(smoke_params.train, epochs=25, patience=25, learning_rate=0.01)
    fitted = fit_binary(model_input(np.concatenate([X[train], windows])), np.concatenate([positive[train], labels]),
                        model_input(np.concatenate([X[val], val_windows])),
                        np.concatenate([positive[val], val_labels]), Architecture(4, 8, 8), "temo", 0,
                        smoke_params.model, settings)
    rest, _ = timeline_windows(X[test], positive[test], ["rest"], 0.0012, seed=2)
    held, _ = timeline_windows(X[test], positive[test], ["held"], 0.0012, seed=2)
    assert (fitted.positive_probability(model_input(rest)) < 0.5).mean() >= 0.95  # a face at rest: no emotion
    clips = fitted.positive_probability(model_input(X[test])) >= 0.5
    assert (clips == positive[test]).mean() >= 0.9  # the onset clips still read
    assert (fitted.positive_probability(model_input(held[positive[test]])) >= 0.5).mean() >= 0.9  # an apex held
