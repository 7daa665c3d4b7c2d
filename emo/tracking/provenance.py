"""What a run is traced back with: its pipeline run (`pipeline`: git commit and params digest,
shared by every stage of one `dvc repro`), the machine and library versions (`env.*`), and
under `dvc exp run` the DVC experiment's name (`dvc_exp`). One filter then shows one `dvc repro`,
and a difference between two can be traced.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from emo.environment import DEFAULT_BACKEND, KERAS_BACKEND

DVC_EXP_TAG = "dvc_exp"  # the DVC experiment's name, when a stage runs under `dvc exp run`
SOURCES = ("emo", "stages", "dvc.yaml", "pyproject.toml")  # what "-dirty" in a commit tag refers to
VERSIONED = ("keras", "jax", "jaxlib", "tensorflow", "keras-tuner", "numpy", "scipy", "scikit-learn", "pandas",
             "mediapipe", "opencv-contrib-python", "mlflow", "dvc")


def git_commit() -> str:
    """HEAD, with '-dirty' when the code (not the pipeline's outputs, which every stage
    changes) differs from it."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *SOURCES],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if done.returncode != 0:
        return "unknown"
    return done.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def pipeline_tags(params_file: Path = Path("params.yaml")) -> dict[str, str]:
    """Tags shared by every stage of one `dvc repro`: the commit and a digest of params.yaml."""
    import hashlib

    commit = git_commit()
    digest = hashlib.sha256(params_file.read_bytes()).hexdigest()[:12] if params_file.is_file() else "unknown"
    short = commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")
    return {"git_commit": commit, "params_digest": digest, "pipeline": f"{short}/{digest}"}


def environment() -> dict[str, str]:
    """The machine and library versions that the numbers depend on (another CPU or version
    gives numbers equal within floating-point noise, not bitwise)."""
    import platform
    from importlib import metadata

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    env = {"cpu": cpu, "cores": str(os.cpu_count()), "python": platform.python_version(),
           "keras_backend": os.environ.get(KERAS_BACKEND, DEFAULT_BACKEND)}
    for name in VERSIONED:
        try:
            env[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return env
