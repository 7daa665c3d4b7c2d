"""The params files are written in the style DVC itself writes, so that `dvc exp run -S key=value`
changes one line of them, not a hundred (issue 19).

`-S` goes through `dvc.utils.hydra.apply_overrides`: ruamel.yaml's round-trip loader, Hydra's
override parser, then DVC's dumper, which replaces every list (and every scalar) with a fresh one.
What that does to a file: lists come out as block sequences (`- item` lines at the key's indent),
quotes that YAML does not need go, end-of-line comments after a key stay (at their column), and
anything after a list's last item (a blank line, a comment line) is dropped. Hence the files'
style: block lists, no needless quotes, each section ending with a scalar key (so the blank line
before the next section survives), and the comment of a dict-valued key on its own line above it
(an end-of-line comment there makes ruamel write invalid YAML once the dict is emptied).

These tests run DVC's own code on copies of the files: no override must change no byte, and one
override must change one line.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml
from dvc.utils.hydra import apply_overrides

from tests.support import REPO

PROFILES = ["params.yaml"] + sorted(str(p.relative_to(REPO)) for p in (REPO / "profiles").glob("*.yaml"))

STYLE = ("write it as DVC writes it: lists as `- item` lines under the key, no quotes YAML does not "
         "need, a scalar as each section's last key, the comment of a dict-valued key on its own "
         "line above it (see this file's docstring)")


def _apply(tmp_path: Path, profile: str, overrides: list[str]) -> str:
    """The profile after DVC's `-S` code path (`dvc exp run -S` calls this very function)."""
    path = tmp_path / "params.yaml"
    path.write_text((REPO / profile).read_text())
    apply_overrides(path, overrides)
    return path.read_text()


def _changed_lines(old: str, new: str) -> list[str]:
    return [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def _get(data: dict, key: str):
    for part in key.split("."):
        data = data[part]
    return data


def _set(data: dict, key: str, value) -> None:
    *parents, last = key.split(".")
    for part in parents:
        data = data[part]
    data[last] = value


def _hydra(value) -> str:
    """A value as a Hydra override writes it (strings quoted, so regex characters pass)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        assert not value.endswith("\\"), value
        return "'" + value.replace("'", "\\'") + "'"  # Hydra: a backslash escapes only a quote
    if isinstance(value, list):
        return "[" + ",".join(_hydra(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_hydra(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


@pytest.mark.parametrize("profile", PROFILES)
def test_dvc_round_trip_leaves_the_file_unchanged(tmp_path, profile):
    old = (REPO / profile).read_text()
    new = _apply(tmp_path, profile, [])
    assert new == old, (f"{profile}: DVC's round trip rewrites these lines; {STYLE}:\n"
                        + "\n".join(_changed_lines(old, new)))


# key -> the new value, from the old one: each changes one line (a list: the line of one item)
CHANGES = {
    "train.epochs": lambda v: v + 1,                                     # a section's scalar
    "baselines.C": lambda v: v * 2,                                      # a float
    "retrain_k.search": lambda v: not v,                                 # a bool
    "demo.heldout.seed": lambda v: v + 1,                                # nested
    "data.subject_pattern": lambda v: r"^(\w+)-[^_]+$",                  # regex characters
    "attribute.models": lambda v: "all" if v != "all" else 3,            # another type
    "retrain_k.ks": lambda v: v[:-1] + [v[-1] * 2],                      # a list of ints
    "retrain_k.rankings": lambda v: v[:-1] + [v[-1] + "_x"],             # a list of strings
    "rivals.sanity": lambda v: v[:-1] + ["shuffled_x"],                  # a section's last list
    "demo.recordings.apex_range_s": lambda v: v[:-1] + [v[-1] + 0.5],    # a nested list
    "timeline.workers": lambda v: v + 1,                                 # the file's last key
}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("key", CHANGES)
def test_one_override_changes_one_line(tmp_path, profile, key):
    data = yaml.safe_load((REPO / profile).read_text())
    value = CHANGES[key](_get(data, key))
    old = (REPO / profile).read_text()
    new = _apply(tmp_path, profile, [f"{key}={_hydra(value)}"])
    _set(data, key, value)
    assert yaml.safe_load(new) == data
    changed = _changed_lines(old, new)
    assert len(changed) == 2 and changed[0][0] == "-" and changed[1][0] == "+", (
        f"{profile}: `-S {key}=...` changes {len(changed)} lines; {STYLE}:\n" + "\n".join(changed))


def test_a_dict_valued_key_changes_by_its_own_lines(tmp_path):
    """evaluate.datasets: one entry's value is its one line; removing the last entry leaves valid
    YAML (`datasets: {}`) and the key's comment; an added entry is written below the key."""
    profile = "params.yaml"
    old = (REPO / profile).read_text()
    data = yaml.safe_load(old)
    (name, entry), = data["evaluate"]["datasets"].items()

    moved = {**entry, "root": entry["root"] + "_moved"}
    new = _apply(tmp_path, profile, [f"evaluate.datasets.{name}={_hydra(moved)}"])
    assert yaml.safe_load(new)["evaluate"]["datasets"] == {name: moved}
    assert len(_changed_lines(old, new)) == 2

    new = _apply(tmp_path, profile, [f"~evaluate.datasets.{name}"])
    assert yaml.safe_load(new)["evaluate"] == {**data["evaluate"], "datasets": {}}
    assert "  datasets: {}" in new.splitlines()
    assert [c for c in old.splitlines() if c.strip().startswith("#")] == \
        [c for c in new.splitlines() if c.strip().startswith("#")]

    added = {"root": "data/raw/other", "layout": "folder"}
    new = _apply(tmp_path, profile, [f"+evaluate.datasets.other={_hydra(added)}"])
    assert yaml.safe_load(new)["evaluate"]["datasets"] == {name: entry, "other": added}
    assert all(line.startswith("+") for line in _changed_lines(old, new))
