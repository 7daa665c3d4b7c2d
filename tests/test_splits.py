import dataclasses

import numpy as np
import pytest

from emo.models.augmentation import augment, flip_landmarks
from emo.config import SplitParams
from emo.errors import EmoError
from emo.data.mesh import face_mesh
from emo.data.splits import make_partitions


def _demo_like(subjects=40, seed=0):
    y = np.tile(np.arange(6), subjects)
    subject = np.repeat([f"S{i:03d}" for i in range(subjects)], 6)
    order = np.random.default_rng(seed).permutation(len(y))
    return y[order], subject[order]


PARAMS = SplitParams(seeds=[0, 1, 2], mode="subject", test_fraction=0.15, val_fraction=0.1)


def test_subject_partitions_are_disjoint_complete_and_stratified():
    y, subject = _demo_like()
    for p in make_partitions(y, subject, PARAMS):
        parts = [p.train, p.val, p.test]
        assert sum(len(x) for x in parts) == len(y)
        assert len(np.unique(np.concatenate(parts))) == len(y)
        people = [set(subject[x]) for x in parts]
        assert not (people[0] & people[1]) and not (people[0] & people[2]) and not (people[1] & people[2])
        for x in parts:
            assert set(y[x]) == set(range(6))
        assert 0.1 < len(p.test) / len(y) < 0.2


def test_same_seed_same_partition_other_seed_other():
    y, subject = _demo_like()
    a = make_partitions(y, subject, PARAMS)
    b = make_partitions(y, subject, PARAMS)
    assert all(np.array_equal(pa.test, pb.test) and np.array_equal(pa.val, pb.val) for pa, pb in zip(a, b))
    assert not np.array_equal(a[0].test, a[1].test)


def test_random_mode_mixes_subjects_but_stratifies():
    y, subject = _demo_like()
    parts = make_partitions(y, subject, dataclasses.replace(PARAMS, mode="random"))
    p = parts[0]
    assert set(subject[p.train]) & set(subject[p.test])
    assert np.bincount(y[p.test]).min() >= 5


def test_too_few_subjects_is_one_clear_error():
    y, subject = _demo_like(subjects=2)
    with pytest.raises(EmoError, match="subject-wise train/validation/test needs at least 3"):
        make_partitions(y, subject, PARAMS)


def _symmetric_face():
    v = face_mesh().vertices
    return np.stack([(v[:, 0] + 8) / 16, (9 - v[:, 1]) / 18]).astype(np.float32)  # [2, 468], centred on x = 0.5


def test_horizontal_flip_maps_a_symmetric_face_onto_itself_and_twice_is_identity():
    face = _symmetric_face()
    np.testing.assert_allclose(flip_landmarks(face, "horizontal"), face, atol=1e-6)
    moved = face.copy()
    moved[1, 61] += 0.05  # the subject's right mouth corner drops
    flipped = flip_landmarks(moved, "horizontal")
    assert flipped[1, 291] == pytest.approx(face[1, 291] + 0.05)  # ...and is the left one in the mirror image
    assert flipped[1, 61] == pytest.approx(face[1, 61])
    video = np.random.default_rng(0).random((3, 5, 2, 468)).astype(np.float32)
    np.testing.assert_allclose(flip_landmarks(flip_landmarks(video, "horizontal"), "horizontal"), video, atol=1e-6)
    np.testing.assert_allclose(flip_landmarks(flip_landmarks(video, "vertical"), "vertical"), video, atol=1e-6)


def test_vertical_flip_keeps_indices():
    face = _symmetric_face()
    flipped = flip_landmarks(face, "vertical")
    np.testing.assert_allclose(flipped[0], face[0])
    np.testing.assert_allclose(flipped[1], 1 - face[1])


def test_augment_doubles_training_data_or_not():
    X = np.random.default_rng(0).random((4, 2, 2, 468)).astype(np.float32)
    y = np.arange(4)
    Xa, ya = augment(X, y, "horizontal")
    assert len(Xa) == 8 and np.array_equal(ya, np.concatenate([y, y])) and np.array_equal(Xa[:4], X)
    Xn, yn = augment(X, y, "none")
    assert Xn is X and yn is y
