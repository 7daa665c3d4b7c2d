"""What the stages after extract check of their data: landmarks.npz and splits.json readable,
well-formed and finite, every emotion in every part of every partition, degenerate faces left
out of the SVM baselines; each problem one sentence, nothing written."""

import dataclasses
import json

import numpy as np
import pytest

from emo import artifacts
from emo.config import BaselineParams, SplitParams
from emo.data.dataset import LandmarkData, Partition, load_landmarks, load_partitions, save_landmarks
from emo.data.splits import make_partitions, partitions_document
from emo.errors import EmoError
from emo.evaluation.baselines import displacement_features, svm_runs
from emo.files import write_json
from emo.pipeline import baselines, split
from tests.synthetic import planted_landmarks

SUBJECT_WISE = SplitParams(seeds=[0, 1, 2], mode="subject", test_fraction=0.15, val_fraction=0.1)
SVM = BaselineParams(C=1.0, gamma="scale")
FEAR = 2


def _data(subjects=12, fear_subjects=None) -> LandmarkData:
    """Planted landmarks, one video per emotion and subject; fear only in the first `fear_subjects`."""
    X, y, subject = planted_landmarks(subjects=subjects, frames=3)
    keep = (y != FEAR) | np.isin(subject, [f"S{s:03d}" for s in range(fear_subjects or subjects)])
    return LandmarkData(X[keep], y[keep], subject[keep],
                        np.array([f"{s}/{i:03d}" for i, s in enumerate(subject[keep])]))


def _complete(part: Partition, y: np.ndarray) -> bool:
    return all(set(y[getattr(part, k)]) == set(range(6)) for k in ("train", "val", "test"))


@pytest.fixture
def stage_dir(tmp_path, monkeypatch):
    """An empty stage folder as the working directory, with its own MLflow store."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "mlflow" not in p.name)


# ------------------------------------------------------------------------------ partitions


def test_a_partition_without_an_emotion_is_redrawn_deterministically():
    data = _data(fear_subjects=3)  # fear in 3 of 12 subjects: the seeds' first folds miss it in val or test
    first = make_partitions(data.y, data.subject, SUBJECT_WISE)
    assert all(_complete(p, data.y) for p in first)
    again = make_partitions(data.y, data.subject, SUBJECT_WISE)
    assert all(np.array_equal(getattr(a, k), getattr(b, k)) for a, b in zip(first, again) for k in ("train", "val", "test"))
    for p in first:  # still subject-wise
        assert not set(data.subject[p.test]) & (set(data.subject[p.train]) | set(data.subject[p.val]))


def test_no_partition_with_every_emotion_stops_the_split_stage_and_writes_nothing(stage_dir):
    data = _data(fear_subjects=2)  # fear in 2 subjects cannot reach train, val and test
    save_landmarks(artifacts.LANDMARKS, data)
    before = _files(stage_dir)
    with pytest.raises(EmoError) as e:
        split.run(SUBJECT_WISE)
    assert str(e.value) == ("split seed 0: no draw puts a fear video in the validation part (2 fear videos from 2 "
                            "subjects); add fear videos, or change split.test_fraction, split.val_fraction or "
                            "split.seeds.")
    assert _files(stage_dir) == before


def test_random_mode_names_the_part_its_stratified_draws_leave_empty():
    data = _data(fear_subjects=3)  # 3 of 63 videos: 15% of them rounds to none in every stratified draw
    random = SplitParams(seeds=[0, 1], mode="random", test_fraction=0.15, val_fraction=0.1)
    with pytest.raises(EmoError) as e:
        make_partitions(data.y, data.subject, random)
    assert str(e.value) == ("split seed 0: no draw puts a fear video in the test part (3 fear videos); add fear "
                            "videos, or change split.test_fraction, split.val_fraction or split.seeds.")
    assert all(_complete(p, data.y) for p in make_partitions(data.y, data.subject, dataclasses.replace(
        random, test_fraction=0.34, val_fraction=0.5)))


@pytest.fixture
def written(stage_dir):
    """Landmarks and their partitions as the extract and split stages leave them."""
    data = _data()
    save_landmarks(artifacts.LANDMARKS, data)
    write_json(artifacts.SPLITS, partitions_document(make_partitions(data.y, data.subject, SUBJECT_WISE),
                                                     SUBJECT_WISE, len(data.y)))
    return data


def _edit_splits(change):
    doc = json.loads(artifacts.SPLITS.read_text())
    change(doc)
    artifacts.SPLITS.write_text(json.dumps(doc))


def _without_fear_in_training(data, seed_index=1):
    def change(doc):
        p = doc["partitions"][seed_index]
        fear = [i for i in p["train"] if data.y[i] == FEAR]
        p["train"] = [i for i in p["train"] if i not in fear]
        p["test"] = sorted(p["test"] + fear)
    _edit_splits(change)


def test_a_hand_edited_splits_file_without_an_emotion_is_refused_by_its_readers(written):
    _without_fear_in_training(written)
    load_partitions(artifacts.SPLITS, len(written.y))  # without the labels: the structure only
    with pytest.raises(EmoError) as e:
        load_partitions(artifacts.SPLITS, labels=written.y)
    assert str(e.value) == ("partition seed 1 in data/splits.json has no fear video in its training part; rerun "
                            "`dvc repro split`, which draws only partitions with every emotion in every part.")


@pytest.mark.parametrize("damage", ["truncated", "not_partitions", "overlap", "out_of_range"])
def test_a_damaged_splits_file_is_one_sentence(written, damage):
    if damage == "truncated":
        artifacts.SPLITS.write_text(artifacts.SPLITS.read_text()[:200])
    elif damage == "not_partitions":
        artifacts.SPLITS.write_text('{"n_samples": 72, "partitions": [{"seed": 0}]}')
    elif damage == "overlap":
        _edit_splits(lambda doc: doc["partitions"][0]["test"].append(doc["partitions"][0]["train"][0]))
    else:
        _edit_splits(lambda doc: doc["partitions"][2]["val"].append(999))
    expected = {
        "truncated": "data/splits.json is truncated or not a partition file of the split stage; rerun `dvc repro "
                     "split` (or delete the file and rerun it).",
        "not_partitions": "data/splits.json is truncated or not a partition file of the split stage; rerun `dvc "
                          "repro split` (or delete the file and rerun it).",
        "overlap": "partition seed 0 in data/splits.json has indices out of range or in two parts; rerun `dvc repro "
                   "split` (or delete the file and rerun it).",
        "out_of_range": "partition seed 2 in data/splits.json has indices out of range or in two parts; rerun `dvc "
                        "repro split` (or delete the file and rerun it).",
    }[damage]
    with pytest.raises(EmoError) as e:
        load_partitions(artifacts.SPLITS, labels=written.y)
    assert str(e.value) == expected


# ------------------------------------------------------------------------------ landmarks


def _resave(data: LandmarkData, **arrays):
    with open(artifacts.LANDMARKS, "wb") as f:
        np.savez(f, **{"X": data.X, "y": data.y, "subject": data.subject, "sequence": data.sequence, **arrays})


def test_a_truncated_landmark_file_is_one_sentence(written):
    content = artifacts.LANDMARKS.read_bytes()
    for cut in (0, 100, len(content) // 2, len(content) - 30):
        artifacts.LANDMARKS.write_bytes(content[:cut])
        with pytest.raises(EmoError) as e:
            load_landmarks(artifacts.LANDMARKS)
        assert str(e.value) == ("data/landmarks/landmarks.npz is truncated or damaged and cannot be read; rerun "
                                "`dvc repro extract` (or delete the file and rerun it).")


def test_non_finite_landmarks_name_their_sequences(written):
    X = written.X.copy()
    X[[3, 40], 1, 0, 7] = np.nan
    X[41, 2, 1, 400] = np.inf
    _resave(written, X=X)
    with pytest.raises(EmoError) as e:
        load_landmarks(artifacts.LANDMARKS)
    assert str(e.value) == ("data/landmarks/landmarks.npz has NaN or infinite landmarks in 3 sequences (S000/003, "
                            "S006/040, S006/041); rerun `dvc repro extract` (or delete the file and rerun it).")


@pytest.mark.parametrize("arrays, expected", [
    ({"X": np.zeros((72, 3, 468, 2), np.float32)},
     "holds X of shape (72, 3, 468, 2) for 72 labels, not [N, P, 2, 468]"),
    ({"X": np.zeros((72, 3, 2, 468), np.int64)}, "holds X of type int64, not floating-point coordinates"),
    ({"y": np.full(72, 6)}, "holds labels y that are not emotion indices 0-5"),
    ({"y": np.zeros(72, np.float32)}, "holds labels y that are not emotion indices 0-5"),
    ({"subject": np.arange(72)}, "holds subject of shape (72,) and type int64, not 72 strings"),
    ({"sequence": np.array(["a"] * 71)}, "holds sequence of shape (71,) and type <U1, not 72 strings"),
])
def test_landmark_arrays_of_the_wrong_shape_or_type_are_one_sentence(written, arrays, expected):
    _resave(written, **arrays)
    with pytest.raises(EmoError) as e:
        load_landmarks(artifacts.LANDMARKS)
    assert str(e.value) == (f"data/landmarks/landmarks.npz {expected}; rerun `dvc repro extract` (or delete the file "
                            "and rerun it).")


def test_a_landmark_file_without_an_array_names_it(written):
    with open(artifacts.LANDMARKS, "wb") as f:
        np.savez(f, X=written.X, y=written.y)
    with pytest.raises(EmoError) as e:
        load_landmarks(artifacts.LANDMARKS)
    assert str(e.value) == ("data/landmarks/landmarks.npz lacks the array(s) subject, sequence of the extract stage; "
                            "rerun `dvc repro extract` (or delete the file and rerun it).")


# ------------------------------------------------------------------------------ SVM baselines


def test_degenerate_faces_are_left_out_of_the_baselines_and_said(written, capsys):
    X = written.X.copy()
    X[5, 0, :, 263] = X[5, 0, :, 33]  # both outer eye corners on one point: zero eye distance
    X[9, 0, 0, 33] = 1e38  # a finite coordinate whose distance overflows float32
    _resave(written, X=X)
    with pytest.raises(EmoError, match="2 of 72 videos have a zero or non-finite distance"):
        displacement_features(X)
    runs = baselines.run(SVM)
    assert np.isfinite(runs.accuracy).all() and len(runs) == 2 * 6 * 3
    err = capsys.readouterr().err
    assert ("baselines: left out 2 sequences (S000/005, S001/009): a zero or non-finite distance between the outer "
            "eye corners in the first frame (a degenerate face).") in err.splitlines()
    left_out = json.loads(artifacts.BASELINE_METRICS.read_text())["left_out"]
    assert left_out["videos"] == 2 and left_out["sequences"] == ["S000/005", "S001/009"]


def test_the_baselines_stage_refuses_a_partition_without_an_emotion_and_writes_nothing(written):
    _without_fear_in_training(written)
    before = _files(written_root := artifacts.SPLITS.resolve().parents[1])
    with pytest.raises(EmoError, match="partition seed 1 in data/splits.json has no fear video in its training part"):
        baselines.run(SVM)
    assert _files(written_root) == before


def test_an_svm_given_a_partition_without_an_emotion_says_which():
    data = _data(subjects=6)
    order = np.arange(len(data.y))
    train = order[(data.subject != "S005") & (data.y != FEAR)]
    part = Partition(seed=7, train=train, val=order[:0], test=order[data.subject == "S005"])
    with pytest.raises(EmoError) as e:
        svm_runs(data.X, data.y, [part], SVM)
    assert str(e.value) == ("partition seed 7 has no fear video in its training part, so the fear SVM cannot be "
                            "trained; rerun `dvc repro split`, which draws only partitions with every emotion in "
                            "every part.")
