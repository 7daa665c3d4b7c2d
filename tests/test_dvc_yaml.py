"""dvc.yaml cannot drift from the code: each stage's deps are its script's import closure (emo's
own modules, function-local imports included, and the data files they load) and the
artifacts its runner declares; its params are the keys its runner reads; its outs are the
artifacts the runner declares it writes. Also: no import cycle, and imports run one way."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from emo.artifacts import PARAMS_CHECK, ParamPath
from emo.config import UNTRACKED

REPO = Path(__file__).resolve().parents[1]
# Domain packages: they know no stage, path or MLflow, and import neither the stage layer nor
# what sits beside it (cli, predict, timeline).
DOMAIN = ("emo.data", "emo.models", "emo.explanation", "emo.evaluation", "emo.report", "emo.video")
PLUMBING = ("emo.config", "emo.environment", "emo.artifacts", "emo.files", "emo.tracking", "emo.parallel", "emo.errors", "emo.console")
TOP = ("emo.pipeline", "emo.cli", "emo.predict", "emo.timeline_api", "emo.served_model")
# A stage whose code runs a Keras model depends on the backend (run_stage sets it for every stage).
KERAS_MODULE = "emo/models/model.py"
CHECK = "check_params"  # the stage that validates the whole params file first


def module_file(name: str) -> Path | None:
    path = REPO / Path(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path, packages: bool = True) -> set[str]:
    """emo's modules that `path` imports anywhere (module top or inside functions), with (if
    `packages`) the packages whose __init__ runs on the way."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from emo.pipeline import tune` imports the submodule when there is one
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names
                                     if module_file(f"{node.module}.{a.name}")]
        else:
            continue
        for name in names:
            if name == "emo" or name.startswith("emo."):
                parts = name.split(".")
                found.update(".".join(parts[:i]) for i in range(1 if packages else len(parts), len(parts) + 1))
    return {m for m in found if module_file(m)}


def package_data(path: Path) -> set[Path]:
    """Files beside a module that it names in a string (e.g. canonical_mesh.npz)."""
    strings = {n.value for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Constant)
               and isinstance(n.value, str) and len(n.value) < 100 and "/" not in n.value and "\n" not in n.value
               and not n.value.endswith(".py")}
    return {path.parent / s for s in strings if s and (path.parent / s).is_file()}


def import_closure(script: Path) -> set[Path]:
    """Every file the script runs or loads, as repository paths."""
    seen: set[str] = set()
    todo = list(imported_modules(script))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += imported_modules(module_file(name))
    files = {module_file(m) for m in seen} | {script}
    for f in list(files):
        files |= package_data(f)
    return {f.relative_to(REPO) for f in files}


def stages() -> dict[str, dict]:
    doc = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    return {name: (stage.get("do", stage)) for name, stage in doc.items()}


def entries(stage: dict, key: str) -> list[str]:
    return [next(iter(e)) if isinstance(e, dict) else e for e in stage.get(key, [])]


def runner(name: str):
    return importlib.import_module(f"emo.pipeline.{name}")


def as_dvc(path) -> str:
    return path.dvc if isinstance(path, ParamPath) else str(path)


def stage_inputs(name: str) -> tuple:
    """The artifacts a stage reads: its runner's INPUTS and, for every stage but check_params,
    check_params' output (so that DVC runs the check first and deletes nothing before it)."""
    return runner(name).INPUTS + (() if name == CHECK else (PARAMS_CHECK,))


@pytest.mark.parametrize("name", list(stages()))
def test_deps_are_the_import_closure_and_the_declared_inputs(name):
    stage = stages()[name]
    listed = entries(stage, "deps")
    code = {str(p) for p in import_closure(REPO / "stages" / f"{name}.py")}
    data = {as_dvc(p) for p in stage_inputs(name)}
    missing = sorted((code | data) - set(listed))
    unused = sorted(set(listed) - code - data)
    assert not missing, f"stage {name}: dvc.yaml deps lack {missing}"
    assert not unused, f"stage {name}: dvc.yaml deps list {unused}, which the stage neither imports nor declares"
    assert len(listed) == len(set(listed)), f"stage {name}: a dep is listed twice"


@pytest.mark.parametrize("name", list(stages()))
def test_outs_are_the_declared_outputs(name):
    stage = stages()[name]
    listed = entries(stage, "outs") + entries(stage, "metrics") + entries(stage, "plots")
    declared = [as_dvc(p) for p in runner(name).OUTPUTS]
    assert sorted(listed) == sorted(declared), f"stage {name}: dvc.yaml outs {sorted(listed)} != declared {sorted(declared)}"


def expected_params(name: str, reads: set[str]) -> set[str]:
    keys = reads - UNTRACKED
    if KERAS_MODULE in {str(p) for p in import_closure(REPO / "stages" / f"{name}.py")}:
        keys.add("train.backend")
    return keys


@pytest.mark.slow
def test_params_are_the_keys_each_stage_reads(smoke_repo):
    """The smoke pipeline ran with EMO_PARAMS_READS: every stage logged the params keys it read."""
    reads_folder = smoke_repo / ".params_reads"
    for name, stage in stages().items():
        if name == CHECK:
            assert entries(stage, "params") == ["params.yaml"], f"stage {CHECK} must track the whole params file"
            continue
        log = reads_folder / f"{name}.txt"
        assert log.is_file(), f"stage {name} did not run in the smoke pipeline"
        reads = expected_params(name, set(log.read_text().split()))
        listed = set(entries(stage, "params"))
        # a listed key covers the keys under it (evaluate.datasets covers evaluate.datasets.NAME.root)
        covered = {k for k in reads if any(k == p or k.startswith(p + ".") for p in listed)}
        missing = sorted(reads - covered)
        unused = sorted(p for p in listed if not any(k == p or k.startswith(p + ".") for k in reads))
        assert not missing, f"stage {name}: dvc.yaml params lack {missing}, which the stage reads"
        assert not unused, f"stage {name}: dvc.yaml params list {unused}, which the stage does not read"


def all_modules() -> list[str]:
    return sorted(".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
                  for p in (REPO / "emo").rglob("*.py"))


def test_no_import_cycle():
    # The modules each one names (a package's __init__ runs first for every module in it; that
    # is no edge of ours unless the module imports a name from it).
    graph = {m: imported_modules(module_file(m), packages=False) - {m} for m in all_modules()}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in graph.get(m, ()):
            if state.get(d) == 1:
                cycle = path[path.index(d):] + [d] if d in path else [m, d]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if d not in state:
                visit(d, path + [d])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])


def layer(module: str) -> int:
    if module.startswith(TOP):
        return 2
    if module.startswith(DOMAIN):
        return 1
    return 0


@pytest.mark.parametrize("module", all_modules())
def test_imports_run_one_way(module):
    """pipeline, cli, predict -> domain -> plumbing; a domain module imports no stage, no
    artifact path and no MLflow; the report is imported by no other domain package."""
    deps = imported_modules(module_file(module)) - {module}
    upward = sorted(d for d in deps if layer(d) > layer(module) and d != "emo")
    assert not upward, f"{module} imports {upward}, from a layer above it"
    if module.startswith(DOMAIN):
        assert not {"emo.tracking"} & deps, f"{module} (domain) imports emo.tracking"
        if not module.startswith("emo.report"):
            assert not any(d.startswith("emo.report") for d in deps), f"{module} imports the report"


def test_predict_loads_no_plotting_library():
    done = subprocess.run([sys.executable, "-c", "import sys, emo.cli, emo.predict; "
                           "print(' '.join(m for m in ('matplotlib', 'seaborn') if m in sys.modules))"],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"`emo predict` imports {done.stdout.strip()}"
