"""The truth the demo plants, the localisation scores, the action-unit vocabulary and the params
of the ranking checks (fast: no model is trained here; tests/test_global_attribution.py
runs the rivals and the sanity checks on a trained model)."""

import copy

import numpy as np
import pytest

import emo.data.demo as demo
from emo.config import load_params, parse_params
from emo.data.action_units import ACTION_UNITS, EMOTION_ACTION_UNITS, action_unit_field
from emo.data.emotions import EMOTIONS
from emo.data.mesh import face_mesh
from emo.data.truth import PlantedTruth, read_truth, write_truth
from emo.errors import ConfigError, EmoError
from emo.explanation.action_units import (OTHER, UNITS, action_unit_shares, footprints, found_units, landmarks_moved,
                                          recovery_table, shares_dict)
from emo.explanation.localisation import agreement_table, localisation, localisation_table, random_floor
from emo.explanation.rivals import RIVALS, effect_size
from tests.support import REPO

PARAMS = load_params(REPO / "params.yaml")


@pytest.fixture(scope="module")
def base_face():
    """A face that is the canonical mesh itself (10 px per cm, y down), so no detector is needed."""
    v = face_mesh().vertices
    points = np.column_stack([v[:, 0] * 10 + 100, 100 - v[:, 1] * 10])
    return demo.BaseFace(np.zeros((200, 200, 3), np.uint8), points, np.array([[10.0, 0.0], [0.0, -10.0]]))


def _truth(base_face, subjects=3):
    import dataclasses

    params = dataclasses.replace(PARAMS.demo, subjects=subjects, contempt=0, unlabeled=0)
    return demo.planted_truth(params, [base_face])


def test_truth_comes_from_the_generators_fields(base_face, monkeypatch):
    truth = _truth(base_face)
    assert truth.relevance.shape == (6, 468) and (truth.relevance >= 0).all()
    happiness = EMOTIONS.index("happiness")
    # The most-moved landmarks of happiness are those AU12 (lip corner puller) moves most.
    assert np.argmax(truth.relevance[happiness]) in landmarks_moved()[12]
    # Doubling AU12's field doubles happiness' truth and leaves emotions without AU12 alone.
    field = demo.action_unit_field
    monkeypatch.setattr(demo, "action_unit_field", lambda au, side=0: field(au, side) * (2.0 if au == 12 else 1.0))
    changed = _truth(base_face)
    assert not np.allclose(changed.relevance[happiness], truth.relevance[happiness])
    surprise = EMOTIONS.index("surprise")  # AU1, 2, 5, 26: no AU12
    assert np.allclose(changed.relevance[surprise], truth.relevance[surprise])


def test_truth_leaves_out_the_unrelated_action_unit(base_face):
    """The distractor moves the face but is not the emotion's truth: the brows of happiness stay still."""
    truth = _truth(base_face)
    brows = landmarks_moved()[2]  # outer brow raiser: no happiness unit moves the outer brows
    assert truth.relevance[EMOTIONS.index("happiness"), brows].max() < 0.01 * truth.relevance.max()


def test_truth_file_round_trip(tmp_path, base_face):
    truth = _truth(base_face, subjects=1)
    write_truth(tmp_path, truth)
    back = read_truth(tmp_path)
    assert np.allclose(back.relevance, truth.relevance, atol=1e-5)
    assert back.action_units == {e: EMOTION_ACTION_UNITS[e] for e in EMOTIONS}
    assert (back.true_sets == truth.true_sets).all()
    assert read_truth(tmp_path / "nowhere") is None  # real data: no truth, no error
    (tmp_path / "truth.json").write_text("{")
    with pytest.raises(EmoError, match="truth.json is not a truth file emo wrote"):
        read_truth(tmp_path)


def _planted():
    relevance = np.zeros((6, 468))
    relevance[:, 10:20] = np.linspace(2, 1, 10)
    return PlantedTruth(relevance, {e: (12,) for e in EMOTIONS})


def test_a_perfect_ranking_localises_perfectly():
    truth = _planted()
    scores = localisation(truth.relevance[0], truth.relevance[0], truth.true_sets[0], [10, 16, 8])
    assert scores["precision@10"] == 1.0 and scores["recall@10"] == 1.0
    assert scores["precision@16"] == 10 / 16 and scores["recall@8"] == 0.8
    assert scores["mass"] == 1.0 and scores["spearman"] == pytest.approx(1.0)


def test_a_random_ranking_scores_at_the_floor():
    truth = _planted()
    rng = np.random.default_rng(0)
    draws = [localisation(rng.random(468), truth.relevance[0], truth.true_sets[0], [32]) for _ in range(400)]
    floor = random_floor(truth.true_sets[0], [32])
    for key in ("mass", "precision@32", "recall@32", "spearman"):
        assert np.mean([d[key] for d in draws]) == pytest.approx(floor[key], abs=0.01), key
    assert floor["recall@32"] == 32 / 468 and floor["precision@32"] == 10 / 468


def test_tables_cover_every_method_and_the_floor():
    truth = _planted()
    attributions = {"ig": truth.relevance, "noise": np.random.default_rng(1).random((6, 468))}
    table = localisation_table(attributions, truth.relevance, truth.true_sets, [16, 8])
    assert set(table.method) == {"ig", "noise", "random"} and len(table) == 18
    assert (table[table.method == "ig"]["precision@8"] == 1.0).all()
    agree = agreement_table(attributions, [8])
    assert len(agree) == 6 and set(agree.columns) >= {"spearman", "top8_overlap"}


def test_action_unit_shares_sum_to_one_and_name_the_units():
    F = footprints()
    assert F.shape == (len(UNITS), 468)
    shares = action_unit_shares(np.random.default_rng(0).random((3, 468)))
    assert shares.shape == (3, len(UNITS) + 1) and np.allclose(shares.sum(axis=1), 1.0)
    # One unit's own footprint is that unit alone.
    for u, au in enumerate(UNITS):
        own = action_unit_shares(F[u])
        assert found_units(own, 1) == [au] and own[u] > 0.95, au
    happy = action_unit_shares(F[UNITS.index(6)] + 2 * F[UNITS.index(12)])
    assert set(found_units(happy, 2)) == {6, 12}
    named = shares_dict(happy, 2)
    assert list(named) == ["AU12 lip corner puller", "AU6 cheek raiser"]
    assert action_unit_shares(np.zeros(468))[-1] == 1.0  # nothing attributed: all 'other'
    assert shares_dict(action_unit_shares(np.zeros(468)))[OTHER] == 1.0


def test_recovery_of_the_generating_units():
    relevance = np.stack([footprints()[[UNITS.index(a) for a in EMOTION_ACTION_UNITS[e]]].sum(axis=0)
                          for e in EMOTIONS])
    table = recovery_table({"truth": relevance}, {e: EMOTION_ACTION_UNITS[e] for e in EMOTIONS})
    assert list(table.emotion) == list(EMOTIONS) and (table["of"] == [len(EMOTION_ACTION_UNITS[e]) for e in EMOTIONS]).all()
    assert table.hits.sum() >= table["of"].sum() - 3  # overlapping units (AU1/AU2) may swap


def test_effect_size_finds_the_moving_landmarks():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 0.01, (60, 4, 2, 468)).astype(np.float32)
    positive = np.arange(60) % 3 == 0
    X[positive, -1, :, 100:105] += 0.05
    assert set(np.argsort(-effect_size(X, positive))[:5]) == set(range(100, 105))


@pytest.fixture
def raw():
    import yaml

    return yaml.safe_load((REPO / "params.yaml").read_text())


def test_ranking_params_are_checked(raw):
    bad = copy.deepcopy(raw)
    bad["retrain_k"]["rankings"] = ["ig", "saliency"]
    with pytest.raises(ConfigError, match=r"'retrain_k.rankings\[1\]' must be one of 'ig'"):
        parse_params(bad)
    bad = copy.deepcopy(raw)
    bad["retrain_k"]["rankings"] = ["effect_size", "ig"]
    with pytest.raises(ConfigError, match="retrain_k.rankings is .*start it with ig"):
        parse_params(bad)
    bad = copy.deepcopy(raw)
    bad["rivals"]["methods"] = ["effect_size"]
    bad["retrain_k"]["rankings"] = ["ig", "occlusion"]
    with pytest.raises(ConfigError, match="params.yaml: retrain_k.rankings holds occlusion, which rivals.methods"):
        parse_params(bad)
    bad = copy.deepcopy(raw)
    bad["rivals"]["repeats"] = 0
    with pytest.raises(ConfigError, match="rivals.repeats is 0"):
        parse_params(bad)


def test_params_name_every_rival():
    """config's lists of method names are the explanation package's."""
    import typing

    from emo.config import RivalParams

    (hint,) = typing.get_args(typing.get_type_hints(RivalParams)["methods"])
    assert typing.get_args(hint) == RIVALS
    assert set(ACTION_UNITS) <= set(UNITS)
    assert np.abs(action_unit_field(12)).max() > 0
