import numpy as np
import pytest

from emo.data.sequences import fill_gaps, resample


def _track(n, landmarks=3):
    t = np.arange(n, dtype=np.float32)
    return np.stack([np.stack([t * (i + 1), -t], axis=-1) for i in range(landmarks)], axis=1)  # [n, L, 2]


def test_fill_interior_gap_is_linear():
    x = _track(6)
    gappy = x.copy()
    gappy[2:4] = np.nan
    filled, n = fill_gaps(gappy)
    assert n == 2
    np.testing.assert_allclose(filled, x, atol=1e-5)


def test_fill_edges_copy_nearest():
    x = _track(5)
    gappy = x.copy()
    gappy[0] = np.nan
    gappy[-2:] = np.nan
    filled, n = fill_gaps(gappy)
    assert n == 3
    np.testing.assert_array_equal(filled[0], x[1])
    np.testing.assert_array_equal(filled[-1], x[2])
    np.testing.assert_array_equal(filled[-2], x[2])


def test_fill_nothing_missing_is_identity():
    x = _track(4)
    filled, n = fill_gaps(x)
    assert n == 0 and np.array_equal(filled, x)


def test_fill_all_missing_raises():
    with pytest.raises(ValueError):
        fill_gaps(np.full((3, 2, 2), np.nan))


def test_resample_keeps_ends_and_is_linear():
    x = _track(11)
    r = resample(x, 6)
    assert r.shape == (6, 3, 2)
    np.testing.assert_allclose(r[:, 0, 0], [0, 2, 4, 6, 8, 10], atol=1e-5)
    np.testing.assert_array_equal(r[0], x[0])
    np.testing.assert_array_equal(r[-1], x[-1])


def test_resample_upsamples_short_sequences():
    x = _track(3)
    r = resample(x, 5)
    np.testing.assert_allclose(r[:, 0, 0], [0, 0.5, 1, 1.5, 2], atol=1e-6)


def test_resample_single_frame_repeats():
    x = _track(1)
    assert np.array_equal(resample(x, 4), np.repeat(x, 4, axis=0))
