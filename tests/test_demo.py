import dataclasses
import hashlib

import numpy as np
import pytest

from emo.data.action_units import ACTION_UNITS, EMOTION_ACTION_UNITS, action_unit_field
from emo.data.demo import generate_demo, plan_sequences
from emo.data.emotions import EMOTIONS
from emo.data.layouts import find_sequences
from emo.data.mesh import face_mesh
from emo.data.truth import read_truth


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.mark.slow
def test_same_seed_same_files_other_seed_other_files(tmp_path, smoke_params, face_model, tiny_demo):
    params = dataclasses.replace(smoke_params.demo, subjects=2, frames=(10, 10), workers=1)
    (tmp_path / "a").mkdir()
    generate_demo(params, face_model, tmp_path / "a", progress=False)
    # The session's tiny demo was made with 2 workers from the same params: same bytes.
    assert _digest(tmp_path / "a") == _digest(tiny_demo)
    other = dataclasses.replace(params, seed=params.seed + 1, subjects=1)
    (tmp_path / "b").mkdir()
    generate_demo(other, face_model, tmp_path / "b", progress=False)
    first = sorted((tmp_path / "a").rglob("S001_001_00000001.png"))[0].read_bytes()
    assert first != sorted((tmp_path / "b").rglob("S001_001_00000001.png"))[0].read_bytes()


def test_tiny_demo_is_ckplus_layout(tiny_demo):
    sources = find_sequences(tiny_demo, "ckplus")
    usable = [s for s in sources if s.usable]
    assert sorted(s.label for s in usable) == sorted(EMOTIONS * 2)
    assert {s.problem.split(":")[0] for s in sources if not s.usable} == {"contempt", "unlabeled"}
    label = next(tiny_demo.glob("Emotion/S001/*/*_emotion.txt"))
    assert float(label.read_text()) in range(1, 8)
    frames = [f.gray for f in usable[0].frames()]
    assert len(frames) == 10 and frames[0].shape in {(490, 640), (480, 640)}
    truth = read_truth(tiny_demo)  # what the generator planted, beside what it rendered
    assert truth.relevance.shape == (6, 468) and truth.action_units["happiness"] == (6, 12)
    assert truth.true_sets.sum(axis=1).min() > 8


def test_plan_has_one_sequence_per_emotion_per_subject(smoke_params):
    plans = plan_sequences(dataclasses.replace(smoke_params.demo, subjects=5, contempt=2, unlabeled=3))
    for s in range(5):
        labeled = [p.emotion for p in plans if p.subject == s and p.labeled and p.emotion != "contempt"]
        assert sorted(labeled) == sorted(EMOTIONS)
    assert sum(p.emotion == "contempt" for p in plans) == 2
    assert sum(not p.labeled for p in plans) == 3


def test_action_units_move_the_regions_facs_names():
    mesh = face_mesh()
    up = lambda au, idx: action_unit_field(au)[idx, 1].mean()  # noqa: E731  (y is up, cm)
    brows = np.concatenate([mesh.regions["left_eyebrow"], mesh.regions["right_eyebrow"]])
    assert up(1, brows) > 0.1 and up(2, brows) > 0.1 and up(4, brows) < -0.1
    corners = np.array([61, 291])
    assert up(12, corners) > 0.2 and up(15, corners) < -0.2
    assert up(26, np.array([152])) < -0.3 and abs(up(26, np.array([10]))) < 1e-6  # chin drops, forehead stays
    for au in ACTION_UNITS:
        assert np.abs(action_unit_field(au)).max() < 1.0
    one_sided = action_unit_field(12, side=1)
    assert one_sided[291].any() and not one_sided[61].any()
    assert set(EMOTION_ACTION_UNITS) == set(EMOTIONS) | {"contempt"}
