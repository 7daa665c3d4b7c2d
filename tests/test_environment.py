"""emo/environment.py is the one list of the environment variables emo reads or writes: every
access to os.environ in emo/ names a listed variable, and emo.tracking records the project's
default backend where none was chosen."""

from __future__ import annotations

import ast
from pathlib import Path

from emo import environment
from emo.environment import VARIABLES

EMO = Path(__file__).resolve().parents[1] / "emo"
LISTED = {v.name for v in VARIABLES}


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and isinstance(node.value, ast.Name) \
        and node.value.id == "os"


def _name(node: ast.AST, constants: dict[str, str]) -> str | None:
    """The variable's name where the code spells it: a string, or a constant of emo.environment."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def accessed_variables(path: Path) -> set[str | None]:
    """The names of the variables that `path` reads or writes through os.environ or os.getenv
    (None where the name is computed)."""
    constants = {k: v for k, v in vars(environment).items() if isinstance(v, str) and k.isupper()}
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            found.add(_name(node.slice, constants))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute) and (
                (_is_environ(node.func.value) and node.func.attr in ("get", "setdefault", "pop"))
                or (node.func.attr == "getenv" and isinstance(node.func.value, ast.Name) and node.func.value.id == "os")):
            found.add(_name(node.args[0], constants))
    return found


def test_every_variable_emo_touches_is_listed():
    unlisted = {f"{path.relative_to(EMO.parent)}: {name}"
                for path in sorted(EMO.rglob("*.py")) if path.name != "environment.py"
                for name in accessed_variables(path) if name is not None and name not in LISTED}
    assert not unlisted, f"add these to emo/environment.py's VARIABLES: {sorted(unlisted)}"


def test_the_list_names_each_variable_once_with_its_default_and_purpose():
    names = [v.name for v in VARIABLES]
    assert len(names) == len(set(names))
    assert all(v.read_by and v.default and v.does for v in VARIABLES)


def test_the_finder_sees_both_spellings(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import os\nfrom emo.environment import EMO_VERBOSE\n"
                      "a = os.environ.get(EMO_VERBOSE)\nb = os.environ['UNLISTED_X']\nc = os.getenv('Y')\n")
    assert accessed_variables(source) == {"EMO_VERBOSE", "UNLISTED_X", "Y"}


def test_the_backend_recorded_without_a_choice_is_the_project_default(monkeypatch):
    from emo.tracking.provenance import environment as recorded

    monkeypatch.delenv(environment.KERAS_BACKEND, raising=False)
    assert recorded()["keras_backend"] == environment.DEFAULT_BACKEND == "jax"
