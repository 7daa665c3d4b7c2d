import copy
import sys
from pathlib import Path

import pytest
import yaml

from emo.config import load_params, parse_params
from emo.config.parsing import RENAMED
from emo.errors import ConfigError
from tests.support import EMO, REPO, run


@pytest.fixture
def raw():
    return yaml.safe_load((REPO / "params.yaml").read_text())


@pytest.mark.parametrize("profile", ["params.yaml"] + sorted(str(p.relative_to(REPO))
                                                             for p in (REPO / "profiles").glob("*.yaml")))
def test_every_profile_loads(profile, monkeypatch):
    monkeypatch.chdir(REPO)  # the folders emo replaces are checked against the project, the current directory
    params = load_params(REPO / profile)
    assert params.extract.frames >= 2


def test_values_are_typed(raw):
    params = parse_params(raw)
    assert params.demo.frames == (10, 20)
    assert isinstance(params.demo.intensity[0], float)
    assert params.data.root.name == "demo"


def _error(raw) -> str:
    with pytest.raises(ConfigError) as e:
        parse_params(raw)
    return str(e.value)


def test_unknown_key_is_named(raw):
    raw["extract"]["frame"] = 16
    msg = _error(raw)
    assert "unknown key 'extract.frame'" in msg and "frames" in msg


def test_unknown_section_is_named(raw):
    raw["extrct"] = {}
    assert "unknown key 'extrct'" in _error(raw)


@pytest.mark.parametrize("old,new", sorted(RENAMED.items()))
def test_renamed_key_names_the_new_one(raw, old, new):
    *sections, name = old.split(".")
    part = raw
    for section in sections:
        part = part[section]
    part[name] = part.pop(new.rsplit(".", 1)[1])
    assert _error(raw) == f"params.yaml: {old} was renamed {new}; rename the key."


def test_check_params_stage_names_a_renamed_key(tmp_path, raw):
    """The check_params stage, which dvc repro runs first, stops on an old key with that one sentence."""
    raw["tune"]["units"] = raw["tune"].pop("lstm_units")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    done = run([sys.executable, REPO / "stages" / "check_params.py"], cwd=tmp_path, check=False)
    out = (done.stdout + done.stderr).strip()
    assert done.returncode != 0 and "Traceback" not in out
    assert out == "error: params.yaml: tune.units was renamed tune.lstm_units; rename the key."
    assert not (tmp_path / "data").exists()


def test_missing_key_is_named(raw):
    del raw["extract"]["box"]
    assert "key 'extract.box' is missing" in _error(raw)


@pytest.mark.parametrize(
    "section,key,value,expected",
    [
        ("extract", "frames", "sixteen", "'extract.frames' must be an integer"),
        ("extract", "frames", True, "'extract.frames' must be an integer"),
        ("extract", "box", "face", "'extract.box' must be one of 'sequence', 'frame'"),
        ("data", "layout", "ck", "'data.layout' must be one of 'ckplus', 'folder'"),
        ("demo", "frames", [10], "'demo.frames' must be a list of 2 values"),
        ("demo", "intensity", ["a", 1], "'demo.intensity[0]' must be a number"),
        ("data", "root", "", "'data.root' must be a path"),
    ],
)
def test_wrong_type_is_named(raw, section, key, value, expected):
    raw[section][key] = value
    assert expected in _error(raw)


@pytest.mark.parametrize(
    "section,key,value,expected",
    [
        ("extract", "frames", 1, "extract.frames is 1; it must lie between 2 and 128"),
        ("extract", "min_face_fraction", 1.5, "extract.min_face_fraction is 1.5; it must lie between 0 and 1"),
        ("demo", "frames", [20, 10], "demo.frames is [20, 10]"),
        ("demo", "subjects", 0, "demo.subjects is 0"),
        ("data", "subject_pattern", "[", "data.subject_pattern is not a valid regular expression"),
        ("data", "subject_pattern", "^S", "data.subject_pattern needs one capturing group"),
    ],
)
def test_out_of_range_is_named(raw, section, key, value, expected):
    raw[section][key] = value
    assert expected in _error(raw)


def test_section_must_be_mapping(raw):
    raw["extract"] = [1, 2]
    assert "'extract' must be a mapping" in _error(raw)


def test_bad_yaml_names_the_line(tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text("data:\n  root: [unclosed\n")
    with pytest.raises(ConfigError, match=r"not valid YAML at line"):
        load_params(p)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "nope.yaml")


def test_check_params_command_exits_with_one_line(tmp_path, raw, capsys):
    from emo.cli import main

    bad = copy.deepcopy(raw)
    bad["extract"]["workers"] = -1
    p = tmp_path / "p.yaml"
    p.write_text(yaml.safe_dump(bad))
    with pytest.raises(SystemExit) as e:
        main(["check-params", str(p)])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "extract.workers is -1" in err


@pytest.mark.parametrize(
    "section,key,value,expected",
    [
        ("tune", "filters", [0, 4], "tune.filters holds 0; each value must lie between 1 and 1024"),
        ("tune", "lstm_units", [], "tune.lstm_units is empty; the grid needs at least one value"),
        ("tune", "dense_units", [8, 8], "tune.dense_units repeats a value"),
        ("tune", "objective", "accuracy", "'tune.objective' must be one of"),
        ("train", "flip", "diagonal", "'train.flip' must be one of 'horizontal', 'vertical', 'none'"),
        ("train", "learning_rate", 0, "train.learning_rate is 0"),
        ("split", "seeds", [], "split.seeds is empty"),
        ("split", "seeds", [1, 1], "split.seeds repeats a seed"),
        ("split", "mode", "people", "'split.mode' must be one of 'subject', 'random'"),
        ("model", "kernel", [3, 1], "model.kernel is [3, 1]"),
    ],
)
def test_training_params_are_checked(raw, section, key, value, expected):
    raw[section][key] = value
    assert expected in _error(raw)


def test_variants_must_include_temo(raw):
    raw["model"]["variants"] = ["remo"]
    assert "model.variants is ['remo']; list temo" in _error(raw)
    raw["model"]["variants"] = ["temo"]
    assert parse_params(raw).model.variants == ("temo",)
    hash(parse_params(raw).model)  # model params key the per-process model cache


def _set(raw, dotted: str, value) -> None:
    *sections, name = dotted.split(".")
    for section in sections:
        raw = raw[section]
    raw[name] = value


@pytest.mark.parametrize(
    "key,value,expected",
    [
        ("baselines.C", float("nan"), "'baselines.C' must be a finite number, not nan"),
        ("baselines.C", float("inf"), "'baselines.C' must be a finite number, not inf"),
        ("train.learning_rate", float("nan"), "'train.learning_rate' must be a finite number"),
        ("demo.intensity", [0.3, float("inf")], "'demo.intensity[1]' must be a finite number"),
        ("timeline.window_s", float("-inf"), "'timeline.window_s' must be a finite number"),
    ],
)
def test_non_finite_number_is_named(raw, key, value, expected):
    _set(raw, key, value)
    assert expected in _error(raw)


def test_yaml_nan_is_rejected(tmp_path):
    text = (REPO / "params.yaml").read_text().replace("  C: 1.0 ", "  C: .nan ")
    assert "C: .nan" in text
    (tmp_path / "p.yaml").write_text(text)
    with pytest.raises(ConfigError, match="'baselines.C' must be a finite number, not nan"):
        load_params(tmp_path / "p.yaml")


@pytest.mark.parametrize(
    "key,value,expected",
    [
        ("split.seeds", [0, -1], "split.seeds: seed -1 is out of range"),
        ("split.seeds", [2**31], "split.seeds: seed 2147483648 is out of range"),
        ("demo.seed", -1, "demo.seed: seed -1 is out of range"),
        ("demo.heldout.seed", 2**32, "demo.heldout.seed: seed 4294967296 is out of range"),
    ],
)
def test_seed_out_of_range_is_named(raw, key, value, expected):
    _set(raw, key, value)
    msg = _error(raw)
    assert expected in msg and "between 0 and 2147483647" in msg


def test_largest_seed_loads(raw):
    raw["split"]["seeds"] = [0, 1, 2**31 - 1]
    assert parse_params(raw).split.seeds[2] == 2**31 - 1


@pytest.mark.parametrize(
    "key,value,expected",
    [
        ("extract.crop_size", 100000, "extract.crop_size is 100000; it must lie between 32 and 2048"),
        ("extract.frames", 129, "extract.frames is 129; it must lie between 2 and 128"),
        ("extract.min_frames", 10001, "extract.min_frames is 10001; it must lie between 2 and 10000"),
        ("extract.workers", 257, "extract.workers is 257; it must lie between 0 and 256"),
        ("demo.workers", 10**5, "demo.workers is 100000; it must lie between 0 and 256"),
        ("train.workers", 257, "train.workers is 257"),
        ("timeline.workers", 257, "timeline.workers is 257"),
        ("demo.subjects", 501, "demo.subjects is 501; it must lie between 1 and 500"),
        ("demo.heldout.subjects", 501, "demo.heldout.subjects is 501"),
        ("demo.contempt", 501, "demo.contempt is 501"),
        ("demo.unlabeled", 501, "demo.unlabeled is 501"),
        ("demo.frames", [10, 1000], "demo.frames is [10, 1000]; give [lowest, highest] with 2 <= lowest <= highest <= 128"),
        ("demo.intensity", [0.3, 4.0], "demo.intensity is [0.3, 4.0]"),
        ("demo.distractor", 3.5, "demo.distractor is 3.5; it must lie between 0 and 3.0"),
        ("demo.heldout.intensity", [0.3, 4.0], "demo.heldout.intensity is [0.3, 4.0]"),
        ("demo.recordings.episodes", 101, "demo.recordings.episodes is 101; it must lie between 1 and 100"),
        ("demo.recordings.neutral_range_s", [1.0, 61.0], "demo.recordings.neutral_range_s is [1.0, 61.0]"),
        ("demo.recordings.apex_range_s", [1.0, 600.0], "demo.recordings.apex_range_s is [1.0, 600.0]"),
        ("split.seeds", list(range(101)), "split.seeds lists 101 values; give at most 100"),
        ("train.batch_size", 10**9, "train.batch_size is 1000000000; it must lie between 1 and 512"),
        ("train.epochs", 1001, "train.epochs is 1001; it must lie between 1 and 1000"),
        ("train.patience", 1001, "train.patience is 1001"),
        ("tune.filters", [4, 10**6], "tune.filters holds 1000000; each value must lie between 1 and 1024"),
        ("tune.lstm_units", list(range(1, 34)), "tune.lstm_units lists 33 values; give at most 32"),
        ("tune.dense_units", [1025], "tune.dense_units holds 1025"),
        ("attribute.steps", 10**6, "attribute.steps is 1000000; it must lie between 1 and 1000"),
        ("attribute.budget_mb", 10**6, "attribute.budget_mb is 1000000; it must lie between 1 and 16384"),
        ("retrain_k.random_draws", 101, "retrain_k.random_draws is 101; it must lie between 1 and 100"),
        ("retrain_k.ks", [32, 469], "retrain_k.ks holds 469; each value must lie between 1 and 468"),
        ("rivals.repeats", 101, "rivals.repeats is 101; it must lie between 1 and 100"),
        ("baselines.C", 1e7, "baselines.C is 10000000.0; it must be above 0 and at most 1e+06"),
        ("timeline.stride", 2**31, "timeline.stride is 2147483648; it must lie between 1 and 1000"),
    ],
)
def test_too_large_is_named(raw, key, value, expected):
    _set(raw, key, value)
    assert expected in _error(raw)


@pytest.mark.parametrize(
    "changes,expected",
    [
        ({"model.kernel": [2, 64], "retrain_k.ks": [32]},
         "model.kernel is [2, 64], wider than the smallest of retrain_k.ks (32 landmarks)"),
        ({"model.kernel": [2, 469], "retrain_k.ks": [468]}, "model.kernel is [2, 469]; the first size must be 1 or 2"),
        ({"attribute.models": 11}, "attribute.models is 11, but split.seeds gives only 10 partitions"),
        ({"extract.min_frames": 12}, "extract.min_frames is 12, above the shortest demo sequence (demo.frames: [10, 20])"),
        ({"extract.min_frames": 12, "data.root": "data/raw/demo_heldout"},  # the held-out set, read as the dataset
         "extract.min_frames is 12"),
    ],
)
def test_keys_that_clash_are_named(raw, changes, expected):
    for key, value in changes.items():
        _set(raw, key, value)
    assert expected in _error(raw)


def test_keys_that_fit_together_load(raw):
    for key, value in {"model.kernel": [2, 8], "retrain_k.ks": [32, 8], "attribute.models": 10,
                       "extract.min_frames": 10}.items():
        _set(raw, key, value)
    params = parse_params(raw)
    assert params.model.kernel == (2, 8) and params.attribute.models == 10
    _set(raw, "data.root", "data/raw/ckplus")  # no demo set is read: the demo's frames do not matter
    _set(raw, "evaluate.datasets", {})
    _set(raw, "extract.min_frames", 30)
    assert parse_params(raw).extract.min_frames == 30


@pytest.mark.parametrize(
    "key,value,expected",
    [
        ("demo.out", "/elsewhere/demo", "demo.out is /elsewhere/demo; emo deletes and rewrites this folder"),
        ("demo.out", "../demo", "demo.out is ../demo"),
        ("demo.out", "data/../../demo", "demo.out is data/../../demo"),
        ("demo.heldout.out", ".", "demo.heldout.out is ."),
        ("demo.recordings.out", "data", "demo.recordings.out is data"),
        ("demo.recordings.out", "models/", "demo.recordings.out is models"),
        ("tune.directory", "reports", "tune.directory is reports"),
        ("tune.directory", "emo", "tune.directory is emo"),
        ("tune.directory", "emo/tuner", "tune.directory is emo/tuner"),
        ("tune.directory", ".git", "tune.directory is .git"),
        ("tune.directory", ".dvc/tmp", "tune.directory is .dvc/tmp"),
        ("demo.out", "stages", "demo.out is stages"),
        ("demo.out", "tests/demo", "demo.out is tests/demo"),
        ("demo.out", "profiles", "demo.out is profiles"),
    ],
)
def test_replaced_folder_outside_its_place_is_named(raw, tmp_path, monkeypatch, key, value, expected):
    monkeypatch.chdir(tmp_path)
    _set(raw, key, value)
    msg = _error(raw)
    assert expected in msg and "choose one of its own inside the project, such as " in msg


@pytest.mark.parametrize(
    "key,value,expected",
    [
        ("tune.directory", "data/raw/demo", "tune.directory is data/raw/demo, which overlaps data.root (data/raw/demo)"),
        ("demo.heldout.out", "data/raw/demo/heldout", "demo.heldout.out is data/raw/demo/heldout, which overlaps data.root"),
        ("demo.recordings.out", "data/raw", "demo.recordings.out is data/raw, which overlaps data.root"),
        ("demo.out", "data/raw", "demo.out is data/raw, which overlaps data.root"),
        ("tune.directory", "data/raw/demo_heldout/tuner",
         "tune.directory is data/raw/demo_heldout/tuner, which overlaps demo.heldout.out (data/raw/demo_heldout)"),
        ("demo.recordings.out", "data/raw/demo_heldout",
         "demo.recordings.out is data/raw/demo_heldout, which overlaps demo.heldout.out"),
    ],
)
def test_replaced_folder_overlapping_another_is_named(raw, tmp_path, monkeypatch, key, value, expected):
    monkeypatch.chdir(tmp_path)
    _set(raw, key, value)
    msg = _error(raw)
    assert expected in msg and "choose a folder of its own inside the project, such as " in msg


def test_replaced_folders_inside_the_project_load(raw, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _set(raw, "demo.heldout.out", str(tmp_path / "data" / "raw" / "held"))  # absolute, inside the project
    _set(raw, "tune.directory", "models/tuner")
    _set(raw, "data.root", "/datasets/ckplus")  # a dataset may live anywhere; emo only reads it
    params = parse_params(raw)
    assert params.demo.out == Path("data/raw/demo")  # the demo apart from the dataset
    assert params.tune.directory.parts == ("models", "tuner")


def test_check_params_command_on_a_bad_file(tmp_path, raw):
    raw["split"]["seeds"] = [-1]
    p = tmp_path / "p.yaml"
    p.write_text(yaml.safe_dump(raw))
    done = run([EMO, "check-params", p], check=False)
    out = (done.stdout + done.stderr).strip()
    assert done.returncode != 0 and "Traceback" not in out
    assert out.count("\n") == 0 and "split.seeds: seed -1 is out of range" in out
