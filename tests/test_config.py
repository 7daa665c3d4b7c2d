import copy

import pytest
import yaml

from emo.config import load_params, parse_params
from emo.errors import ConfigError
from tests.support import REPO


@pytest.fixture
def raw():
    return yaml.safe_load((REPO / "params.yaml").read_text())


@pytest.mark.parametrize("profile", ["params.yaml", "profiles/paper.yaml", "profiles/smoke.yaml"])
def test_every_profile_loads(profile):
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
        ("extract", "frames", 1, "extract.frames is 1; it must be at least 2"),
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
        ("tune", "filters", [0, 4], "tune.filters holds 0; every value must be a positive integer"),
        ("tune", "units", [], "tune.units is empty; the grid needs at least one value"),
        ("tune", "neurons", [8, 8], "tune.neurons repeats a value"),
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
