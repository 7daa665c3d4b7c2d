"""Constants and plain helpers the tests share (fixtures are in conftest.py, which no test imports)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

from emo.config import load_params

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "profiles" / "smoke.yaml"
BIN = Path(sys.executable).parent  # the environment's dvc, emo and mlflow
DVC = str(BIN / "dvc")
EMO = str(BIN / "emo")
# The backend of these tests: params.yaml's, or EMO_TEST_BACKEND (test_backends.py reruns the
# model, trainer and IG tests under the other one in a subprocess).
BACKEND = os.environ.get("EMO_TEST_BACKEND") or load_params(REPO / "params.yaml").train.backend


def run(args: list[str], cwd: Path = REPO, env: dict | None = None, check: bool = True
        ) -> subprocess.CompletedProcess:
    """A command to its end, its output captured; with `check`, a non-zero exit fails the test
    with the command and the last lines of what it printed."""
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited with {done.returncode}:\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def mlflow_serving(command: str, cwd: Path, *options: str):
    """`mlflow server` or `mlflow ui` on a free loopback port, until the block ends; yields its URL."""
    from emo.tracking.processes import mlflow_process

    with mlflow_process([command, "--workers", "1", *options], free_port(), cwd) as url:
        yield url


def ran_stages(output: str) -> list[str]:
    """The stages a `dvc repro` ran, in order, from its output."""
    return [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")]
